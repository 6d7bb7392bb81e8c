// The evaluation labeling screen: the participant's next unanswered image, the class picker (hierarchy
// and search), Submit, and at once the next image. No feedback, nothing about the image but the image.
// Keyboard as in training: / search, h hierarchy, Enter chooses and then submits. The server records when
// each image was put on screen and answered; closing the page and coming back resumes at the first
// unanswered image.

import { ApiError, request, withRetry } from "./api.js";
import { createClassPicker } from "./class-picker.js";
import { bannerFor, isTyping, renderChosenClass } from "./labeling.js";

const DECODE_WAIT_MS = 2000;

const app = document.getElementById("evaluation-app");
const $ = (id) => document.getElementById(id);
const els = {
  body: $("eval-body"),
  loading: $("loading"),
  done: $("done-state"),
  banner: $("status-banner"),
  progressText: $("progress-text"),
  progressBar: $("progress-bar"),
  missing: $("image-missing"),
  chosen: $("chosen"),
  chosenLabel: $("chosen-label"),
  chosenWnid: $("chosen-wnid"),
  chosenGloss: $("chosen-gloss"),
  submit: $("submit-answer"),
};
const banner = bannerFor(els.banner);
const config = { nextUrl: app.dataset.nextUrl, answerUrl: app.dataset.answerUrl };

const state = {
  mode: "loading", // loading | labeling | submitting | done | error
  current: null, // the payload of the next-image API on screen
  chosen: null,
};

const picker = createClassPicker($("class-picker"), {
  hierarchyUrl: app.dataset.hierarchyUrl,
  searchUrl: app.dataset.searchUrl,
  onChoose: choose,
});

function setMode(mode) {
  state.mode = mode;
  app.dataset.state = mode;
  els.loading.hidden = mode !== "loading";
  els.body.hidden = !["labeling", "submitting"].includes(mode);
  els.done.hidden = mode !== "done";
  els.submit.disabled = mode !== "labeling" || !state.chosen;
}

function renderProgress(progress) {
  els.progressText.textContent = progress.text;
  const pct = progress.images ? (100 * progress.answered) / progress.images : 0;
  els.progressBar.style.width = `${pct}%`;
  els.progressBar.parentElement.setAttribute("aria-valuenow", String(Math.round(pct)));
}

async function showImage(url) {
  const img = new Image();
  img.decoding = "async";
  img.src = url;
  await Promise.race([img.decode().catch(() => {}), new Promise((resolve) => setTimeout(resolve, DECODE_WAIT_MS))]);
  img.id = "eval-image";
  img.className = "stage__image";
  img.alt = "Image to label";
  $("eval-image").replaceWith(img);
  els.missing.hidden = !(img.complete && !img.naturalWidth);
  if (!img.complete) img.addEventListener("error", () => (els.missing.hidden = false), { once: true });
}

async function goNext() {
  setMode("loading");
  banner.hide();
  try {
    const { status, data } = await withRetry(() => request(config.nextUrl, { method: "POST" }));
    if (status === 204 || !data) {
      state.current = null;
      delete document.body.dataset.imageToken;
      setMode("done");
      return;
    }
    await showImage(data.image.display_url);
    state.current = data;
    state.chosen = null;
    picker.reset();
    renderChosenClass(els, state.chosen);
    renderProgress(data.progress);
    setMode("labeling");
    requestAnimationFrame(() => {
      document.body.dataset.imageToken = data.image.token;
      document.body.dataset.position = String(data.position);
    });
  } catch (error) {
    setMode("error");
    banner.show(`Could not load the next image: ${error.message}.`, goNext);
  }
}

function choose(synset) {
  if (state.mode !== "labeling") return;
  state.chosen = synset;
  renderChosenClass(els, state.chosen);
  setMode("labeling");
  els.submit.focus({ preventScroll: true });
}

async function submit() {
  if (state.mode !== "labeling" || !state.chosen || !state.current) return;
  setMode("submitting");
  banner.hide();
  const body = { image: state.current.image.token, wnid: state.chosen.wnid };
  try {
    const { data } = await withRetry(() => request(config.answerUrl, { method: "POST", body }));
    renderProgress(data.progress);
    goNext();
  } catch (error) {
    if (error instanceof ApiError && error.status === 400 && /already answered/.test(error.message)) {
      goNext();
      return;
    }
    setMode("labeling");
    banner.show(`Your answer was not saved: ${error.message}.`, submit);
  }
}

document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.isComposing || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (isTyping(target) || state.mode !== "labeling") return;
  const onControl = target instanceof Element && target.closest("button, a, [role='treeitem'], summary");
  if (event.key === "/") {
    event.preventDefault();
    picker.focusSearch();
  } else if (event.key === "h") {
    event.preventDefault();
    picker.focusTree();
  } else if (event.key === "Enter" && !onControl && state.chosen) {
    event.preventDefault();
    submit();
  }
});

els.submit.addEventListener("click", submit);

goNext();
