// The training labeling screen: the next unanswered image of the task, a class picker (hierarchy and
// search), then feedback on the answer: the result, your label, the correct labels with links to their
// labeling guide pages, suggestions to the reviewers, and Continue. Keyboard as on every labeling screen
// (labeling.js), and 1–5 pick a reason in the form that suggests the image as problematic.

import { ApiError, getJSON, request } from "./api.js";
import { guideLink, initGuidePanel } from "./guide-panel.js";
import { createLabeling } from "./labeling.js";

const app = document.getElementById("training-app");
const $ = (id) => document.getElementById(id);
const els = {
  doneText: $("done-text"),
  partChip: $("part-chip"),
  feedback: $("feedback"),
  resultBox: $("feedback-result-box"),
  result: $("feedback-result"),
  yours: $("feedback-yours"),
  correct: $("feedback-correct"),
  unclearRow: $("feedback-unclear-row"),
  unclear: $("feedback-unclear"),
  source: $("feedback-source"),
  suggestLabel: $("suggest-label"),
  suggestProblematic: $("suggest-problematic"),
  problematicForm: $("problematic-form"),
  note: $("suggest-note"),
  suggestCancel: $("suggest-cancel"),
  suggestStatus: $("suggest-status"),
  partDone: $("part-done"),
  continue: $("continue"),
};
const config = {
  nextUrl: app.dataset.nextUrl,
  answerUrl: app.dataset.answerUrl,
  taskUrl: app.dataset.taskUrl,
  suggestUrl: (id) => app.dataset.suggestUrl.replace("/0/", `/${encodeURIComponent(id)}/`),
};

let shownFeedback = null; // the answer's feedback on screen

const labeling = createLabeling(app, {
  loadNext: () => getJSON(config.nextUrl),
  async sendAnswer(payload, synset, secondsTaken) {
    const body = { image: payload.image.id, wnid: synset.wnid, seconds_taken: secondsTaken };
    const { data } = await request(config.answerUrl, { method: "POST", body });
    return data;
  },
  afterAnswer(feedback) {
    showFeedback(feedback);
    labeling.prefetchNext();
  },
  async finish() {
    const { data } = await getJSON(config.taskUrl);
    const progress = data.progress;
    delete document.body.dataset.imageId;
    labeling.renderProgress(progress);
    els.partChip.hidden = true;
    if (progress.accuracy !== null) {
      els.doneText.textContent = `You have answered all ${progress.images} images: ${progress.correct} correct (${Math.round(
        100 * progress.accuracy,
      )}%).`;
    }
  },
  pause(error) {
    // The rest of the task waits for an evaluation phase the trainee takes part in: a pause, not a failure.
    if (!(error instanceof ApiError && error.status === 403)) return false;
    els.partChip.hidden = true;
    els.doneText.textContent = error.message;
    return true;
  },
  onDisplay(payload) {
    shownFeedback = null;
    const part = payload.part;
    els.partChip.hidden = false;
    els.partChip.textContent = `Part ${part.number} of ${part.of} · image ${part.image_number} of ${part.size}`;
  },
  onPainted(payload) {
    document.body.dataset.imageId = String(payload.image.id);
    document.dispatchEvent(new CustomEvent("training:shown", { detail: { imageId: payload.image.id } }));
  },
  onKey: problematicFormKey,
  alreadyAnswered: "You had already answered this image; here is the next one.",
  feedbackPane: els.feedback,
});
initGuidePanel();

// ---------------------------------------------------------------------------------------------
// Feedback

function labelLink(label) {
  const link = guideLink(label.wnid, label.label);
  link.className = "feedback-label__link";
  link.title = `Labeling guide: ${label.words.join(", ")}`;
  return link;
}

function labelList(labels, emptyText) {
  if (!labels.length) {
    const none = document.createElement("span");
    none.className = "muted";
    none.textContent = emptyText;
    return [none];
  }
  return labels.map((label) => {
    const item = document.createElement("div");
    item.className = "feedback-label";
    item.dataset.wnid = label.wnid;
    const head = document.createElement("div");
    head.className = "feedback-label__head";
    head.append(labelLink(label));
    if (label.words.length > 1) {
      const words = document.createElement("span");
      words.className = "feedback-label__words";
      words.textContent = label.words.slice(1).join(", ");
      head.append(words);
    }
    const wnid = document.createElement("span");
    wnid.className = "feedback-label__wnid";
    wnid.textContent = label.wnid;
    head.append(wnid);
    const gloss = document.createElement("p");
    gloss.className = "feedback-label__gloss";
    gloss.textContent = label.gloss;
    item.append(head, gloss);
    return item;
  });
}

// An answer on an image without a valid label (correct: null) is neither right nor wrong: it is not scored.
const RESULTS = {
  correct: { icon: "✓", text: "Correct" },
  wrong: { icon: "✗", text: "Wrong" },
  unscored: { icon: "–", text: "Not scored: no valid label" },
};

function showFeedback(feedback) {
  shownFeedback = feedback;
  const result = feedback.correct === null ? "unscored" : feedback.correct ? "correct" : "wrong";
  els.feedback.dataset.result = result;
  els.resultBox.dataset.result = result;
  els.resultBox.querySelector(".feedback__icon").textContent = RESULTS[result].icon;
  els.result.textContent = RESULTS[result].text;
  els.yours.replaceChildren(...labelList([feedback.your_label], ""));
  if (feedback.your_label_unclear) {
    const note = document.createElement("span");
    note.className = "badge badge--warn";
    note.textContent = "reviewed as unclear";
    els.yours.querySelector(".feedback-label__head").append(note);
  }
  els.correct.replaceChildren(
    ...labelList(
      feedback.correct_labels,
      "No valid label: the reviewers marked every label of this image wrong or unclear, so it is left out of scoring.",
    ),
  );
  els.unclearRow.hidden = feedback.unclear_labels.length === 0;
  els.unclear.replaceChildren(...labelList(feedback.unclear_labels, ""));
  const sources = {
    reviewed: "Correct labels from the reviewers' multi-label annotation.",
    blind: "Reviewers answer this image blind, so the correct label shown is its original label.",
    original: "Not reviewed yet: the correct label is the image's original label.",
  };
  els.source.textContent = `${sources[feedback.labels_source]} Open a label for its page of the labeling guide.`;

  els.suggestLabel.hidden = feedback.correct;
  setSuggested("label_correct", feedback.suggested.includes("label_correct"));
  setSuggested("problematic", feedback.suggested.includes("problematic"));
  closeProblematic();
  els.suggestStatus.hidden = true;

  const part = feedback.part;
  els.partDone.hidden = !part.done;
  const unscored = part.answered - part.scored;
  const unscoredText = unscored ? ` (${unscored} without a valid label not scored)` : "";
  const partText = `Part ${part.number} of ${part.of} done — ${part.correct}/${part.scored} correct${unscoredText}`;
  els.partDone.textContent = part.done ? partText : "";
  els.continue.firstChild.textContent = feedback.progress.finished ? "Finish " : part.done ? "Next part " : "Continue ";
  labeling.renderProgress(feedback.progress);
  labeling.setMode("feedback");
  els.continue.focus({ preventScroll: true });
}

function setSuggested(kind, done) {
  const button = kind === "label_correct" ? els.suggestLabel : els.suggestProblematic;
  button.disabled = done;
  button.dataset.done = String(done);
  if (done) button.textContent = kind === "label_correct" ? "✓ Label suggested as correct" : "✓ Suggested as problematic";
  else button.textContent = kind === "label_correct" ? "Suggest my label as correct" : "Suggest image as problematic";
}

async function suggest(kind, extra = {}) {
  const feedback = shownFeedback;
  if (!feedback) return;
  const button = kind === "label_correct" ? els.suggestLabel : els.suggestProblematic;
  button.disabled = true;
  try {
    await request(config.suggestUrl(feedback.answer), { method: "POST", body: { kind, ...extra } });
    feedback.suggested.push(kind);
    setSuggested(kind, true);
    closeProblematic();
    els.suggestStatus.hidden = false;
    els.suggestStatus.dataset.state = "sent";
    els.suggestStatus.textContent =
      kind === "label_correct"
        ? `Sent: the reviewers will look at “${feedback.your_label.label}” for this image.`
        : "Sent: the reviewers will look at this image.";
    els.continue.focus({ preventScroll: true });
  } catch (error) {
    button.disabled = false;
    els.suggestStatus.hidden = false;
    els.suggestStatus.dataset.state = "error";
    els.suggestStatus.textContent = `Not sent: ${error.message}.`;
  }
}

function openProblematic() {
  els.problematicForm.hidden = false;
  els.suggestProblematic.setAttribute("aria-expanded", "true");
  els.problematicForm.querySelector('input[name="reason"]').focus({ preventScroll: true });
}

function closeProblematic() {
  els.problematicForm.hidden = true;
  els.problematicForm.reset();
  els.suggestProblematic.setAttribute("aria-expanded", "false");
}

function sendProblematic(event) {
  event.preventDefault();
  const checked = els.problematicForm.querySelector('input[name="reason"]:checked');
  const note = els.note.value.trim();
  if (!checked) {
    els.suggestStatus.hidden = false;
    els.suggestStatus.dataset.state = "error";
    els.suggestStatus.textContent = "Pick a reason (keys 1–5).";
    return;
  }
  if (checked.value === "other" && !note) {
    els.suggestStatus.hidden = false;
    els.suggestStatus.dataset.state = "error";
    els.suggestStatus.textContent = "Say in the note what is wrong with the image.";
    els.note.focus();
    return;
  }
  suggest("problematic", { reason: checked.value, note });
}

// ---------------------------------------------------------------------------------------------
// Keyboard and mouse

/** Escape and the reason keys in the open problematic form; every other key there is the form's own. */
function problematicFormKey(event) {
  const target = event.target;
  if (els.problematicForm.hidden || !els.problematicForm.contains(target)) return false;
  if (event.key === "Escape") {
    event.preventDefault();
    closeProblematic();
    els.suggestProblematic.focus();
  } else if (event.key >= "1" && event.key <= "9" && target.tagName !== "TEXTAREA") {
    const reasons = els.problematicForm.querySelectorAll('input[name="reason"]');
    const reason = reasons[Number(event.key) - 1];
    if (reason) {
      event.preventDefault();
      reason.checked = true;
      if (reason.value === "other") els.note.focus();
      else els.problematicForm.requestSubmit();
    }
  }
  return true;
}

els.continue.addEventListener("click", labeling.goNext);
els.suggestLabel.addEventListener("click", () => suggest("label_correct"));
els.suggestProblematic.addEventListener("click", () => (els.problematicForm.hidden ? openProblematic() : closeProblematic()));
els.suggestCancel.addEventListener("click", closeProblematic);
els.problematicForm.addEventListener("submit", sendProblematic);

labeling.goNext();
