// The evaluation labeling screen: the participant's next unanswered image, the class picker (hierarchy
// and search), Submit, and at once the next image. No feedback, nothing about the image but the image.
// Keyboard as in training (labeling.js). The server records when each image was put on screen and
// answered; closing the page and coming back resumes at the first unanswered image.

import { request, withRetry } from "./api.js";
import { createLabeling } from "./labeling.js";

const app = document.getElementById("evaluation-app");
const post = (url, body) => withRetry(() => request(url, { method: "POST", body }));

const labeling = createLabeling(app, {
  // POST: the server notes when the image was put on screen.
  loadNext: () => post(app.dataset.nextUrl),
  async sendAnswer(payload, synset) {
    const { data } = await post(app.dataset.answerUrl, { image: payload.image.token, wnid: synset.wnid });
    return data;
  },
  afterAnswer(data) {
    labeling.renderProgress(data.progress);
    labeling.goNext();
  },
  finish() {
    delete document.body.dataset.imageToken;
  },
  onPainted(payload) {
    document.body.dataset.imageToken = payload.image.token;
    document.body.dataset.position = String(payload.position);
  },
});

labeling.goNext();
