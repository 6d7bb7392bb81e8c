// The duplicate review of a test set (nearduplicates/review.html): one waiting candidate at a time, large, beside its
// neighbours under a threshold of any metric (one tile per image, with each metric that found it). Keys: arrows or
// j/k move between neighbours, d duplicate, n not a duplicate, 0 or Backspace take the verdict back, z undo the last
// verdict, Enter (or → on the last neighbour) the next candidate, ? the keys. Verdicts are saved at once, in order,
// and kept until the server has them; ?candidate=ID opens that candidate first.

import { SaveQueue, getJSON } from "./api.js";
import { isTyping, keysSheet, showSaveState, toast } from "./ui.js";

const NEXT_KEYS = new Set(["ArrowRight", "j"]);
const PREVIOUS_KEYS = new Set(["ArrowLeft", "k"]);
const VERDICT_KEYS = { d: "duplicate", n: "distinct", 0: "", Backspace: "" };
const VERDICT_TEXT = { duplicate: "Duplicate", distinct: "Not a duplicate", "": "No verdict" };
const OVERRIDE_TEXT = { keep: "Kept by hand", reject: "Rejected by hand", "": "" };

const $ = (id) => document.getElementById(id);
const app = $("duplicate-review");
const els = {
  progress: $("review-progress"),
  error: $("review-error"),
  stage: $("review-stage"),
  empty: $("review-empty"),
  emptyTitle: $("review-empty-title"),
  emptyText: $("review-empty-text"),
  again: $("review-again"),
  grid: $("neighbour-grid"),
  frame: $("candidate-frame"),
  held: $("held-back"),
  override: $("override-state"),
  saveState: $("save-state"),
  keysSheet: $("keys-sheet"),
  keysButton: $("keys-button"),
  keysClose: $("keys-close"),
};

const state = {
  queue: [], // candidate ids of this round, nearest pairs first
  position: 0,
  done: new Set(), // candidates of the round with a verdict on every neighbour under a threshold
  candidate: null, // the candidate shown, as the API answers it
  neighbours: [], // {image, verdict, found: [{metric, distance, rank}]}, nearest first
  tiles: [],
  focus: 0,
  undo: [], // {candidate, image, verdict}: what each verdict replaced, the latest last
  loading: 0,
};

const saves = new SaveQueue({ storageKey: `relabel:duplicate-review:${app.dataset.queueUrl}` });
const candidateUrl = (id) => app.dataset.candidateUrl.replace(/\/0\/$/, `/${id}/`);
const verdictKey = (candidate, image) => `verdict:${candidate}:${image}`;

function text(tag, content, className = "") {
  const element = document.createElement(tag);
  if (className) element.className = className;
  element.textContent = content;
  return element;
}

function picture(image, eager) {
  if (!image.display_url) return text("span", "No file yet", "muted small");
  const img = document.createElement("img");
  img.src = image.display_url;
  img.alt = image.file_name;
  img.decoding = "async";
  if (!eager) img.loading = "lazy";
  return img;
}

// ---- The round and its progress --------------------------------------------------------------------------------------

function showProgress() {
  const total = state.queue.length;
  const done = state.queue.filter((id) => state.done.has(id)).length;
  els.progress.textContent = total ? `${done} of ${total} candidate${total === 1 ? "" : "s"} reviewed` : "";
  app.dataset.reviewed = String(done);
}

async function startRound(first = null) {
  app.dataset.state = "loading";
  try {
    await saves.idle(10000);
    const { data } = await getJSON(app.dataset.queueUrl);
    state.queue = data.candidates;
    if (first !== null) state.queue = [first, ...state.queue.filter((id) => id !== first)];
    state.done = new Set();
    state.position = 0;
    if (!state.queue.length) {
      showEnd(0);
      return;
    }
    await showCandidate(0);
  } catch (error) {
    els.error.textContent = `The review queue could not be loaded: ${error.message}`;
    els.error.hidden = false;
    app.dataset.state = "ready";
  }
}

/** The end of a round: nothing waits, or some candidates still have neighbours without a verdict. */
function showEnd(stillWaiting) {
  els.stage.hidden = true;
  els.empty.hidden = false;
  els.again.hidden = stillWaiting === 0;
  if (stillWaiting) {
    els.emptyTitle.textContent = "The end of this round";
    els.emptyText.textContent = `${stillWaiting} candidate${stillWaiting === 1 ? " still waits" : "s still wait"} for a verdict on a neighbour.`;
  }
  state.candidate = null;
  showInAddress(null);
  showProgress();
  app.dataset.state = "ready";
}

async function nextCandidate(step = 1) {
  const target = state.position + step;
  if (target < 0) return;
  if (target < state.queue.length) {
    await showCandidate(target);
    return;
  }
  await saves.idle(10000);
  try {
    const { data } = await getJSON(app.dataset.queueUrl);
    if (data.count === 0) {
      els.emptyTitle.textContent = "No candidate waits for a verdict";
    }
    showEnd(data.count);
  } catch (error) {
    toast(`The queue could not be loaded: ${error.message}`);
  }
}

// ---- One candidate --------------------------------------------------------------------------------------------------

/** Its neighbours under a threshold of any metric, one per image, nearest first; verdicts not yet saved count. */
function neighboursUnder(data) {
  const byImage = new Map();
  for (const [metric, rows] of Object.entries(data.neighbours)) {
    for (const row of rows) {
      if (!row.under_threshold) continue;
      if (!byImage.has(row.image.id)) {
        const pending = saves.pendingFor(verdictKey(data.candidate, row.image.id));
        byImage.set(row.image.id, { image: row.image, verdict: pending ? pending.body.verdict : row.verdict, found: [] });
      }
      byImage.get(row.image.id).found.push({ metric, distance: row.distance, rank: row.rank });
    }
  }
  const nearest = (entry) => Math.min(...entry.found.map((found) => found.rank));
  return [...byImage.values()].sort((a, b) => nearest(a) - nearest(b) || a.image.id - b.image.id);
}

/** The candidate on screen in the address (?candidate=ID), so that a reload or a shared link opens it again. */
function showInAddress(id) {
  const address = new URL(window.location.href);
  if (id === null) address.searchParams.delete("candidate");
  else address.searchParams.set("candidate", String(id));
  window.history.replaceState(null, "", address);
}

async function showCandidate(position, focus = 0) {
  const number = ++state.loading;
  app.dataset.state = "loading";
  const id = state.queue[position];
  try {
    const { data } = await getJSON(candidateUrl(id));
    if (number !== state.loading) return;
    els.error.hidden = true;
    state.position = position;
    state.candidate = data;
    state.neighbours = neighboursUnder(data);
    drawCandidate();
    state.tiles = state.neighbours.map(tile);
    els.grid.replaceChildren(...state.tiles);
    if (!state.tiles.length) els.grid.replaceChildren(text("li", "No neighbour lies under a threshold any more.", "muted"));
    markDone();
    els.stage.hidden = false;
    els.empty.hidden = true;
    app.dataset.candidate = String(id);
    app.dataset.state = "ready";
    showInAddress(id);
    moveFocus(focus);
  } catch (error) {
    if (number !== state.loading) return;
    els.error.textContent = `Candidate ${id} could not be loaded: ${error.message}`;
    els.error.hidden = false;
    app.dataset.state = "ready";
  }
}

function drawCandidate() {
  const data = state.candidate;
  $("candidate-id").textContent = String(data.candidate);
  els.frame.replaceChildren(picture(data.image, true));
  $("candidate-name").textContent = data.image.file_name;
  const taken = data.date_taken ? `taken ${data.date_taken.slice(0, 10)}` : "date taken unknown";
  const source = data.source_id ? ` · source ${data.source_id}` : "";
  $("candidate-meta").textContent = `${data.wnid} · ${taken}${source}`;
  drawStanding(data);
}

/** Whether sampling may take it, and the override, as the server last said. */
function drawStanding(data) {
  els.held.hidden = !data.held_back;
  els.held.textContent = data.held_back ? `Held back from sampling: ${data.held_back}.` : "";
  els.override.textContent = OVERRIDE_TEXT[data.override];
  app.querySelector('[data-override=""]').hidden = !data.override;
}

function tile(entry, index) {
  const item = document.createElement("li");
  item.className = "nd-tile";
  item.tabIndex = -1;
  item.dataset.index = String(index);
  item.dataset.image = String(entry.image.id);
  item.dataset.testid = "neighbour";
  const frame = document.createElement("div");
  frame.className = "nd-tile__frame";
  frame.append(picture(entry.image, index < 4));
  const found = document.createElement("ul");
  found.className = "nd-tile__found small";
  for (const { metric, distance, rank } of entry.found) {
    found.append(text("li", `${metric} · ${distance.toPrecision(4)} · #${rank}`));
  }
  const name = text("div", entry.image.file_name, "nd-name small");
  name.title = entry.image.file_name;
  item.append(
    frame,
    found,
    text("div", entry.image.dataset, "muted small"),
    name,
    text("div", "", "nd-tile__verdict small"),
  );
  paint(item, entry);
  return item;
}

function paint(item, entry) {
  item.dataset.verdict = entry.verdict;
  const verdict = item.querySelector(".nd-tile__verdict");
  verdict.textContent = VERDICT_TEXT[entry.verdict];
  item.setAttribute(
    "aria-label",
    `${entry.image.file_name} of ${entry.image.dataset}: ${entry.found.map((f) => `${f.metric} ${f.distance.toPrecision(4)}`).join(", ")}; ${VERDICT_TEXT[entry.verdict]}`,
  );
}

function markDone() {
  const id = state.candidate.candidate;
  if (state.neighbours.every((entry) => entry.verdict !== "")) state.done.add(id);
  else state.done.delete(id);
  showProgress();
}

function moveFocus(index) {
  if (!state.tiles.length) return;
  const target = Math.max(0, Math.min(state.tiles.length - 1, index));
  state.tiles[state.focus]?.classList.remove("is-focused");
  state.tiles[state.focus]?.setAttribute("tabindex", "-1");
  state.focus = target;
  const element = state.tiles[target];
  element.classList.add("is-focused");
  element.tabIndex = 0;
  element.focus();
}

// ---- Verdicts and overrides -----------------------------------------------------------------------------------------

function setVerdict(index, verdict, remember = true) {
  const entry = state.neighbours[index];
  if (!entry || entry.verdict === verdict) return;
  const candidate = state.candidate.candidate;
  if (remember) state.undo.push({ candidate, image: entry.image.id, verdict: entry.verdict, index });
  entry.verdict = verdict;
  paint(state.tiles[index], entry);
  markDone();
  saves.enqueue({
    key: verdictKey(candidate, entry.image.id),
    method: "POST",
    url: `${candidateUrl(candidate)}verdict/`,
    body: { image: entry.image.id, verdict },
    meta: { candidate },
  });
  toast(`${VERDICT_TEXT[verdict]}: ${entry.image.file_name}`);
}

async function undo() {
  const last = state.undo.pop();
  if (!last) {
    toast("Nothing to undo");
    return;
  }
  if (state.candidate?.candidate !== last.candidate) {
    let position = state.queue.indexOf(last.candidate);
    if (position === -1) {
      state.queue.push(last.candidate);
      position = state.queue.length - 1;
    }
    await showCandidate(position);
  }
  const index = state.neighbours.findIndex((entry) => entry.image.id === last.image);
  if (index === -1) return;
  moveFocus(index);
  setVerdict(index, last.verdict, false);
}

function override(decision) {
  const candidate = state.candidate.candidate;
  state.candidate.override = decision;
  drawStanding(state.candidate);
  saves.enqueue({
    key: `override:${candidate}`,
    method: "POST",
    url: `${candidateUrl(candidate)}override/`,
    body: { decision },
    meta: { candidate },
  });
  toast(decision ? OVERRIDE_TEXT[decision] : "Override taken back");
}

for (const button of app.querySelectorAll("[data-override]")) {
  button.addEventListener("click", () => override(button.dataset.override));
}

saves.addEventListener("saved", ({ detail }) => {
  // Only the answer to the latest change of the candidate shown says where it stands now.
  const { data } = detail;
  if (data && state.candidate && data.candidate === state.candidate.candidate && !saves.size) {
    state.candidate.held_back = data.held_back;
    state.candidate.override = data.override;
    drawStanding(state.candidate);
  }
});
saves.addEventListener("change", ({ detail }) => showSaveState(app, els.saveState, detail, "All verdicts saved"));
saves.addEventListener("failed", ({ detail }) => {
  toast(`Not saved: ${detail.error.message}`);
  if (state.candidate) showCandidate(state.position, state.focus);
});

// ---- Keys -----------------------------------------------------------------------------------------------------------

const toggleKeys = keysSheet(els.keysSheet, els.keysButton, els.keysClose, () => moveFocus(state.focus));
$("next-candidate").addEventListener("click", () => nextCandidate(1));
$("previous-candidate").addEventListener("click", () => nextCandidate(-1));
els.again.addEventListener("click", () => startRound());

document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.isComposing || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "Escape") {
    if (!els.keysSheet.hidden) toggleKeys(false);
    return;
  }
  if (isTyping(event.target)) return;
  if (event.key === "?") {
    event.preventDefault();
    toggleKeys();
    return;
  }
  if (!els.keysSheet.hidden || !state.candidate || app.dataset.state !== "ready") return;
  if (event.key === "Enter" && !(event.target instanceof HTMLButtonElement || event.target instanceof HTMLAnchorElement)) {
    event.preventDefault();
    nextCandidate(1);
  } else if (NEXT_KEYS.has(event.key)) {
    event.preventDefault();
    if (state.focus >= state.tiles.length - 1) nextCandidate(1);
    else moveFocus(state.focus + 1);
  } else if (PREVIOUS_KEYS.has(event.key)) {
    event.preventDefault();
    moveFocus(state.focus - 1);
  } else if (event.key in VERDICT_KEYS) {
    event.preventDefault();
    const verdict = VERDICT_KEYS[event.key];
    setVerdict(state.focus, verdict);
    if (verdict && state.focus < state.tiles.length - 1) moveFocus(state.focus + 1);
  } else if (event.key === "z") {
    event.preventDefault();
    undo();
  }
});

els.grid.addEventListener("click", (event) => {
  const item = event.target instanceof Element && event.target.closest(".nd-tile");
  if (item) moveFocus(Number(item.dataset.index));
});

saves.start();
const asked = Number.parseInt(new URLSearchParams(window.location.search).get("candidate") || "", 10);
startRound(Number.isInteger(asked) && asked > 0 ? asked : null);
