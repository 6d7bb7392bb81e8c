// The training labeling screen: the next unanswered image of the task, a class picker (hierarchy and
// search), then feedback on the answer: the result, your label, the correct labels with links to their
// labeling guide pages, suggestions to the reviewers, and Continue. Keyboard: / search, h hierarchy,
// Enter submits the chosen class and, on the feedback, continues.

import { ApiError, getJSON, request } from "./api.js";
import { createClassPicker } from "./class-picker.js";
import { bannerFor, isTyping, renderChosenClass } from "./labeling.js";
import { initGuidePanel } from "./guide-panel.js";

const DECODE_WAIT_MS = 2000;

const app = document.getElementById("training-app");
const $ = (id) => document.getElementById(id);
const els = {
  body: $("training-body"),
  loading: $("loading"),
  done: $("done-state"),
  doneText: $("done-text"),
  banner: $("status-banner"),
  partChip: $("part-chip"),
  progressText: $("progress-text"),
  progressBar: $("progress-bar"),
  frame: $("image-frame"),
  missing: $("image-missing"),
  answerPane: $("answer-pane"),
  chosen: $("chosen"),
  chosenLabel: $("chosen-label"),
  chosenWnid: $("chosen-wnid"),
  chosenGloss: $("chosen-gloss"),
  submit: $("submit-answer"),
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
  toast: $("toast"),
};
const banner = bannerFor(els.banner);
const config = {
  nextUrl: app.dataset.nextUrl,
  answerUrl: app.dataset.answerUrl,
  taskUrl: app.dataset.taskUrl,
  suggestUrl: (id) => app.dataset.suggestUrl.replace("/0/", `/${encodeURIComponent(id)}/`),
  hierarchyUrl: app.dataset.hierarchyUrl,
  searchUrl: app.dataset.searchUrl,
};

const state = {
  mode: "loading", // loading | labeling | submitting | feedback | done | error
  current: null, // the payload of the next-image API on screen
  chosen: null, // the chosen synset
  shownAt: 0,
  feedback: null,
  prefetch: null, // Promise of {payload, img} | null (task finished)
};

const picker = createClassPicker($("class-picker"), {
  hierarchyUrl: config.hierarchyUrl,
  searchUrl: config.searchUrl,
  onChoose: choose,
});
initGuidePanel();

// ---------------------------------------------------------------------------------------------
// Screens

function setMode(mode) {
  state.mode = mode;
  app.dataset.state = mode;
  els.loading.hidden = mode !== "loading";
  els.body.hidden = !["labeling", "submitting", "feedback"].includes(mode);
  els.done.hidden = mode !== "done";
  els.answerPane.hidden = mode === "feedback";
  els.feedback.hidden = mode !== "feedback";
  els.submit.disabled = mode !== "labeling" || !state.chosen;
}

function renderProgress(progress) {
  els.progressText.textContent = progress.text;
  const pct = progress.images ? (100 * progress.answered) / progress.images : 0;
  els.progressBar.style.width = `${pct}%`;
  els.progressBar.parentElement.setAttribute("aria-valuenow", String(Math.round(pct)));
}

function renderPart(part) {
  els.partChip.hidden = false;
  els.partChip.textContent = `Part ${part.number} of ${part.of} · image ${part.image_number} of ${part.size}`;
}

function preloadImage(url) {
  const img = new Image();
  img.decoding = "async";
  img.src = url;
  img.decode().catch(() => {});
  return img;
}

async function showImage(payload, preloaded) {
  let img = preloaded;
  if (!img && payload.image.display_url) img = preloadImage(payload.image.display_url);
  if (img && !(img.complete && img.naturalWidth)) {
    await Promise.race([img.decode().catch(() => {}), new Promise((resolve) => setTimeout(resolve, DECODE_WAIT_MS))]);
  }
  const current = $("training-image");
  if (img) {
    img.id = "training-image";
    img.className = "stage__image";
    img.alt = "Image to label";
    if (current !== img) current.replaceWith(img);
  }
  const broken = !img || (img.complete && !img.naturalWidth);
  els.missing.hidden = !broken;
  if (img && !img.complete) img.addEventListener("error", () => (els.missing.hidden = false), { once: true });
}

async function display(payload, preloaded = null) {
  await showImage(payload, preloaded);
  state.current = payload;
  state.chosen = null;
  state.feedback = null;
  picker.reset();
  renderChosenClass(els, state.chosen);
  renderPart(payload.part);
  renderProgress(payload.progress);
  setMode("labeling");
  state.shownAt = performance.now();
  requestAnimationFrame(() => {
    document.body.dataset.imageId = String(payload.image.id);
    document.dispatchEvent(new CustomEvent("training:shown", { detail: { imageId: payload.image.id } }));
  });
}

function showDone(progress) {
  state.current = null;
  delete document.body.dataset.imageId;
  if (progress) renderProgress(progress);
  els.partChip.hidden = true;
  if (progress && progress.accuracy !== null) {
    els.doneText.textContent = `You have answered all ${progress.images} images: ${progress.correct} correct (${Math.round(
      100 * progress.accuracy,
    )}%).`;
  }
  setMode("done");
}

// ---------------------------------------------------------------------------------------------
// Loading

async function fetchNext() {
  const { status, data } = await getJSON(config.nextUrl);
  return status === 204 || !data ? null : data;
}

function prefetchNext() {
  state.prefetch = fetchNext()
    .then((payload) => (payload ? { payload, img: payload.image.display_url ? preloadImage(payload.image.display_url) : null } : null))
    .catch(() => undefined); // undefined: failed, ask again on Continue
}

async function goNext() {
  setMode("loading");
  banner.hide();
  try {
    let next = state.prefetch ? await state.prefetch : undefined;
    state.prefetch = null;
    if (next === undefined) {
      const payload = await fetchNext();
      next = payload ? { payload, img: null } : null;
    }
    if (!next) {
      const { data } = await getJSON(config.taskUrl);
      showDone(data.progress);
      return;
    }
    await display(next.payload, next.img);
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) {
      // The rest of the task waits for an evaluation phase the trainee takes part in: a pause, not a failure.
      state.current = null;
      els.partChip.hidden = true;
      els.doneText.textContent = error.message;
      setMode("done");
      return;
    }
    setMode("error");
    banner.show(`Could not load the next image: ${error.message.replace(/\.$/, "")}.`, goNext);
  }
}

// ---------------------------------------------------------------------------------------------
// Answering

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
  const body = {
    image: state.current.image.id,
    wnid: state.chosen.wnid,
    seconds_taken: Math.max(0, (performance.now() - state.shownAt) / 1000),
  };
  try {
    const { data } = await request(config.answerUrl, { method: "POST", body });
    showFeedback(data);
    prefetchNext();
  } catch (error) {
    setMode("labeling");
    if (error instanceof ApiError && error.status === 400 && /already answered/.test(error.message)) {
      toast("You had already answered this image; here is the next one.");
      goNext();
      return;
    }
    banner.show(`Your answer was not saved: ${error.message}.`, submit);
  }
}

// ---------------------------------------------------------------------------------------------
// Feedback

function guideLink(label) {
  const link = document.createElement("a");
  link.href = `/guide/wnid/${encodeURIComponent(label.wnid)}/`;
  link.dataset.guideWnid = label.wnid;
  link.className = "feedback-label__link";
  link.textContent = label.label;
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
    head.append(guideLink(label));
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
  state.feedback = feedback;
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
  renderProgress(feedback.progress);
  setMode("feedback");
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
  const feedback = state.feedback;
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
// Messages

let toastTimer = null;
function toast(message) {
  els.toast.textContent = message;
  els.toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (els.toast.hidden = true), 3500);
}

// ---------------------------------------------------------------------------------------------
// Keyboard and mouse

document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.isComposing || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target instanceof Element && target.closest("#guide-panel")) return; // the guide panel's own keys
  if (!els.problematicForm.hidden && els.problematicForm.contains(target)) {
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
    return;
  }
  if (isTyping(target)) return;
  const onControl = target instanceof Element && target.closest("button, a, [role='treeitem'], summary");
  if (state.mode === "labeling") {
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
  } else if (state.mode === "feedback" && event.key === "Enter" && !onControl) {
    event.preventDefault();
    goNext();
  }
});

els.submit.addEventListener("click", submit);
els.continue.addEventListener("click", goNext);
els.suggestLabel.addEventListener("click", () => suggest("label_correct"));
els.suggestProblematic.addEventListener("click", () => (els.problematicForm.hidden ? openProblematic() : closeProblematic()));
els.suggestCancel.addEventListener("click", closeProblematic);
els.problematicForm.addEventListener("submit", sendProblematic);

goNext();
