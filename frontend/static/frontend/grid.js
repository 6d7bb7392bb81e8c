// The grid page of a new test set (testsets/annotate.html): one selection-frequency task at a time, its class and
// its images in a grid; the annotator selects every image that shows the class and submits, and the next task,
// fetched with its images while they worked, follows at once. Keyboard: arrows or h/j/k/l move, Space selects,
// Enter submits (a second Enter confirms an answer with nothing selected). The server hands out each task to an
// annotator until they answer it, never after.

import { ApiError, getJSON, request, withRetry } from "./api.js";
import { decodedOrLate, dismissToast, isTyping, preloadImage, toast } from "./ui.js";

const MOVES = {
  ArrowLeft: -1,
  h: -1,
  ArrowRight: 1,
  l: 1,
  ArrowUp: "up",
  k: "up",
  ArrowDown: "down",
  j: "down",
};

// A task fetched ahead and not shown within this time may have got its answers from others meanwhile: asked again
// (its images stay in the browser's cache).
const PREFETCH_FRESH_MS = 60_000;

const app = document.getElementById("grid-app");
const $ = (id) => document.getElementById(id);
const els = {
  task: $("grid-task"),
  grid: $("task-grid"),
  words: $("task-words"),
  gloss: $("task-gloss"),
  guide: $("task-guide"),
  count: $("selected-count"),
  submit: $("grid-submit"),
  empty: $("empty-state"),
  emptyTitle: $("empty-title"),
  emptyText: $("empty-text"),
  emptyRetry: $("empty-retry"),
  loading: $("loading"),
  progressText: $("progress-text"),
  progressBar: $("progress-bar"),
};
const state = {
  mode: "loading", // loading | answering | submitting | done
  task: null,
  cells: [],
  selected: new Set(), // positions
  focus: 0,
  startedAt: null,
  confirmEmpty: false, // an Enter with nothing selected was pressed once
  prefetch: null, // Promise of {answer, images} | undefined (it failed: ask again)
  prefetchedAt: 0,
};

function setMode(mode) {
  state.mode = mode;
  app.dataset.state = mode;
  els.loading.hidden = mode !== "loading";
  els.task.hidden = !["answering", "submitting"].includes(mode);
  els.empty.hidden = mode !== "done";
  els.submit.disabled = mode !== "answering";
}

function renderProgress(progress) {
  els.progressText.textContent = progress.text;
  const pct = progress.available ? (100 * progress.answered) / progress.available : 0;
  els.progressBar.style.width = `${pct}%`;
  els.progressBar.parentElement.setAttribute("aria-valuenow", String(Math.round(pct)));
}

function renderCount() {
  const n = state.selected.size;
  if (n) els.count.textContent = `${n} selected`;
  else els.count.textContent = state.confirmEmpty ? "None selected: Enter again submits" : "None selected";
  els.submit.classList.toggle("is-armed", state.confirmEmpty);
}

function cell(image, position, count, preloaded) {
  const item = document.createElement("li");
  item.className = "task-grid__cell";
  item.setAttribute("role", "checkbox");
  item.setAttribute("aria-checked", "false");
  item.tabIndex = -1;
  item.dataset.position = String(position);
  item.dataset.testid = "grid-cell";
  const img = preloaded || preloadImage(image.url);
  img.className = "task-grid__image";
  img.alt = `Image ${position + 1} of ${count}`;
  img.draggable = false;
  img.addEventListener("error", () => item.classList.add("is-broken"), { once: true });
  if (img.complete && !img.naturalWidth) item.classList.add("is-broken");
  const mark = document.createElement("span");
  mark.className = "task-grid__mark";
  mark.setAttribute("aria-hidden", "true");
  mark.textContent = "✓";
  item.append(img, mark);
  return item;
}

function showTask(task, preloaded) {
  state.task = task;
  state.selected = new Set();
  state.confirmEmpty = false;
  const synset = task.synset;
  els.words.textContent = synset.words.join(", ");
  els.words.title = synset.wnid;
  els.gloss.textContent = synset.gloss;
  els.guide.href = synset.guide_url;
  state.cells = task.images.map((image, position) =>
    cell(image, position, task.images.length, preloaded ? preloaded[position] : null),
  );
  els.grid.replaceChildren(...state.cells);
  app.dataset.task = String(task.id);
  renderCount();
  setMode("answering");
  window.scrollTo(0, 0);
  moveFocus(0);
  state.startedAt = new Date().toISOString();
}

function showDone(answer) {
  state.task = null;
  state.cells = [];
  els.grid.replaceChildren();
  delete app.dataset.task;
  els.emptyTitle.textContent = "No task left for you";
  els.emptyText.textContent = answer.detail || "No task is left for you.";
  // A hint about the task just answered ("Nothing is selected...") means nothing on this screen.
  dismissToast();
  setMode("done");
}

function show(answer, preloaded) {
  renderProgress(answer.progress);
  if (answer.task) showTask(answer.task, preloaded);
  else showDone(answer);
}

/** Fetches the task after the one on screen, and its images, while the annotator answers. */
function prefetchAfter(task) {
  const url = `${app.dataset.nextUrl}?skip=${task.id}`;
  state.prefetchedAt = Date.now();
  state.prefetch = getJSON(url)
    .then(({ data }) => ({ answer: data, images: data.task ? data.task.images.map((i) => preloadImage(i.url)) : null }))
    .catch(() => undefined);
}

/** Prefetches the task after `task` once its own images are on screen (or late): fetched at once, the next task's
 * images would share the connections and the server with those the annotator is waiting for. */
function prefetchOnceShown(task) {
  Promise.all(state.cells.map((item) => decodedOrLate(item.querySelector("img")))).then(() => {
    if (state.task === task) prefetchAfter(task);
  });
}

async function goNext(progress) {
  setMode("loading");
  try {
    const fresh = Date.now() - state.prefetchedAt < PREFETCH_FRESH_MS;
    let next = state.prefetch && fresh ? await state.prefetch : undefined;
    state.prefetch = null;
    // Nothing prefetched, nothing but the task just answered, or fetched too long ago: ask afresh.
    if (!next || !next.answer.task) next = { answer: (await getJSON(app.dataset.nextUrl)).data, images: null };
    show(progress ? { ...next.answer, progress } : next.answer, next.images);
    if (next.answer.task) prefetchOnceShown(next.answer.task);
  } catch (error) {
    setMode("done");
    els.emptyTitle.textContent = "Could not load the next task";
    els.emptyText.textContent = `Check again in a moment (${error.message}).`;
    toast(`Could not load the next task: ${error.message}`);
  }
}

function moveFocus(index) {
  if (!state.cells.length) return;
  const target = Math.max(0, Math.min(state.cells.length - 1, index));
  state.cells[state.focus]?.setAttribute("tabindex", "-1");
  state.focus = target;
  const element = state.cells[target];
  element.tabIndex = 0;
  element.focus();
}

/** The number of cells in a row, as the responsive grid lays them out now. */
function columns() {
  const top = state.cells[0].offsetTop;
  const first = state.cells.findIndex((element) => element.offsetTop !== top);
  return first === -1 ? state.cells.length : first;
}

function move(step) {
  const delta = step === "up" ? -columns() : step === "down" ? columns() : step;
  const target = state.focus + delta;
  if (target >= 0 && target < state.cells.length) moveFocus(target);
}

function toggle(position) {
  if (state.mode !== "answering") return;
  const selected = !state.selected.has(position);
  if (selected) state.selected.add(position);
  else state.selected.delete(position);
  state.cells[position].setAttribute("aria-checked", String(selected));
  state.confirmEmpty = false;
  renderCount();
}

async function submit() {
  if (state.mode !== "answering") return;
  if (!state.selected.size && !state.confirmEmpty) {
    state.confirmEmpty = true;
    renderCount();
    toast("Nothing is selected. Press Enter again if no image shows this class.");
    return;
  }
  const task = state.task;
  const body = {
    selected: [...state.selected].sort((a, b) => a - b).map((position) => task.images[position].token),
    started_at: state.startedAt,
  };
  setMode("submitting");
  const url = app.dataset.assignmentUrl.replace(/\/0\/assignment\/$/, `/${task.id}/assignment/`);
  let progress = null;
  try {
    // A retry after an answer lost on its way back meets a 409: the answer was saved.
    const { data } = await withRetry(() => request(url, { method: "POST", body }));
    progress = data.progress;
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 409)) {
      setMode("answering");
      toast(`Your answer was not saved: ${error.message}`);
      return;
    }
    // Answered already (a retry after a lost answer: it was saved), or the task filled up meanwhile (not saved):
    // the server's words say which.
    toast(`${error.message}. Here is the next task.`);
  }
  await goNext(progress);
}

els.grid.addEventListener("click", (event) => {
  const item = event.target instanceof Element && event.target.closest(".task-grid__cell");
  if (!item) return;
  const position = Number(item.dataset.position);
  moveFocus(position);
  toggle(position);
});
els.submit.addEventListener("click", submit);
els.emptyRetry.addEventListener("click", () => goNext(null));

document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.isComposing || event.ctrlKey || event.metaKey || event.altKey) return;
  if (state.mode !== "answering" || isTyping(event.target)) return;
  const onControl = event.target instanceof Element && event.target.closest("button, a, summary");
  if (event.key in MOVES) {
    event.preventDefault();
    move(MOVES[event.key]);
  } else if (event.key === " " && !onControl) {
    event.preventDefault();
    toggle(state.focus);
  } else if (event.key === "Enter" && !onControl) {
    event.preventDefault();
    submit();
  }
});

const first = JSON.parse($("first-task").textContent);
show(first);
if (first.task) prefetchOnceShown(first.task);
