// The screen where one person picks one class per image, for training and for evaluation
// (frontend/labeling.html): the next image, the class picker (hierarchy and search), Submit. Keyboard:
// / search, h hierarchy, Enter chooses and then submits, and on a feedback pane continues. A page passes in
// how it asks for the next image and sends an answer, and what follows an answer and the last image.

import { ApiError } from "./api.js";
import { createClassPicker } from "./class-picker.js";
import { decodedOrLate, isTyping, preloadImage, toast } from "./ui.js";

const MODES_WITH_IMAGE = ["labeling", "submitting", "feedback"];

/**
 * Options (functions unless said):
 * - loadNext(): the next-image API's answer, {status, data}; 204 or no data when nothing is left.
 * - sendAnswer(payload, synset, secondsTaken): sends the answer to the image on screen; its answer's data.
 * - afterAnswer(data): what follows a saved answer, e.g. feedback, or the next image at once.
 * - finish(): shows the done state's figures once nothing is left to label.
 * - pause(error): whether a refusal of the next image is a pause, not a failure; it shows why.
 * - onDisplay(payload): fills in what the page shows beside the image.
 * - onPainted(payload): marks the image on screen once it is painted.
 * - onKey(event): the page's own keys, before the screen's; true where it took the key.
 * - alreadyAnswered: said when the image on screen turns out to be answered already ("": nothing).
 * - feedbackPane: the element shown in place of the answer after an answer ("feedback" mode).
 * Returns {goNext, prefetchNext, setMode, renderProgress}; goNext() puts the first image on screen.
 */
export function createLabeling(
  app,
  {
    loadNext,
    sendAnswer,
    afterAnswer,
    finish,
    pause = () => false,
    onDisplay = () => {},
    onPainted,
    onKey = () => false,
    alreadyAnswered = "",
    feedbackPane = null,
  },
) {
  const $ = (id) => document.getElementById(id);
  const els = {
    body: app.querySelector(".training-body"),
    loading: $("loading"),
    done: $("done-state"),
    banner: $("status-banner"),
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
  };
  const banner = bannerFor(els.banner);
  const state = {
    mode: "loading", // loading | labeling | submitting | feedback | done | error
    current: null, // the payload of the next-image API on screen
    chosen: null, // the chosen synset
    shownAt: 0,
    prefetch: null, // Promise of {payload, img} | null (nothing left) | undefined (failed: ask again)
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
    els.body.hidden = !MODES_WITH_IMAGE.includes(mode);
    els.done.hidden = mode !== "done";
    els.answerPane.hidden = mode === "feedback";
    if (feedbackPane) feedbackPane.hidden = mode !== "feedback";
    els.submit.disabled = mode !== "labeling" || !state.chosen;
  }

  function renderProgress(progress) {
    els.progressText.textContent = progress.text;
    const pct = progress.images ? (100 * progress.answered) / progress.images : 0;
    els.progressBar.style.width = `${pct}%`;
    els.progressBar.parentElement.setAttribute("aria-valuenow", String(Math.round(pct)));
  }

  function renderChosenClass() {
    const synset = state.chosen;
    els.chosen.dataset.empty = String(!synset);
    els.chosen.dataset.wnid = synset ? synset.wnid : "";
    els.chosenLabel.textContent = synset ? synset.words.join(", ") : "No class chosen yet";
    els.chosenWnid.textContent = synset ? synset.wnid : "";
    els.chosenGloss.textContent = synset ? synset.gloss : "Pick the most specific class in the hierarchy or by search.";
  }

  async function showImage(payload, preloaded) {
    const url = payload.image.display_url;
    const img = preloaded || (url ? preloadImage(url) : null);
    if (img && !(img.complete && img.naturalWidth)) await decodedOrLate(img);
    const current = els.frame.querySelector(".stage__image");
    if (img) {
      img.id = current.id;
      img.className = "stage__image";
      img.alt = "Image to label";
      if (current !== img) current.replaceWith(img);
    }
    const broken = !img || (img.complete && !img.naturalWidth);
    els.missing.hidden = !broken;
    if (img && !img.complete) img.addEventListener("error", () => (els.missing.hidden = false), { once: true });
  }

  async function display(payload, preloaded) {
    await showImage(payload, preloaded);
    state.current = payload;
    state.chosen = null;
    picker.reset();
    renderChosenClass();
    onDisplay(payload);
    renderProgress(payload.progress);
    setMode("labeling");
    state.shownAt = performance.now();
    requestAnimationFrame(() => onPainted(payload));
  }

  async function fetchNext() {
    const { status, data } = await loadNext();
    return status === 204 || !data ? null : data;
  }

  /** Starts loading the next image while the one answered stays on screen (with its feedback). */
  function prefetchNext() {
    state.prefetch = fetchNext()
      .then((payload) => {
        if (!payload) return null;
        return { payload, img: payload.image.display_url ? preloadImage(payload.image.display_url) : null };
      })
      .catch(() => undefined);
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
      if (next) {
        await display(next.payload, next.img);
        return;
      }
      await finish();
      state.current = null;
      setMode("done");
    } catch (error) {
      if (pause(error)) {
        state.current = null;
        setMode("done");
        return;
      }
      setMode("error");
      banner.show(`Could not load the next image: ${error.message.replace(/\.$/, "")}.`, goNext);
    }
  }

  function choose(synset) {
    if (state.mode !== "labeling") return;
    state.chosen = synset;
    renderChosenClass();
    setMode("labeling");
    els.submit.focus({ preventScroll: true });
  }

  async function submit() {
    if (state.mode !== "labeling" || !state.chosen || !state.current) return;
    setMode("submitting");
    banner.hide();
    const secondsTaken = Math.max(0, (performance.now() - state.shownAt) / 1000);
    try {
      afterAnswer(await sendAnswer(state.current, state.chosen, secondsTaken));
    } catch (error) {
      if (error instanceof ApiError && error.status === 400 && /already answered/.test(error.message)) {
        if (alreadyAnswered) toast(alreadyAnswered);
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
    if (target instanceof Element && target.closest("#guide-panel")) return; // the guide panel's own keys
    if (onKey(event) || isTyping(target)) return;
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

  return { goNext, prefetchNext, setMode, renderProgress };
}

/** The status banner: an error, with a retry where there is one. */
function bannerFor(element) {
  const banner = {
    show(message, retry) {
      element.hidden = false;
      element.dataset.mode = "error";
      element.querySelector(".banner__text").textContent = message;
      const action = element.querySelector(".banner__action");
      action.hidden = !retry;
      action.onclick = () => {
        banner.hide();
        retry();
      };
    },
    hide() {
      element.hidden = true;
    },
  };
  return banner;
}
