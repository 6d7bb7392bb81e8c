// The candidate browser of a test set's class (testsets/class.html): the class's candidates as thumbnails with their
// selection frequencies, filtered and sorted (the filters live in the address), a page at a time; an admin puts the
// focused candidate on the blacklist by keyboard. Keys: arrows or h/j/k/l move, 1-7 blacklist with a reason ("other"
// asks for a note), 0 or u take it off, z undoes the last change, ? shows the keys. Each change is saved at once,
// in order, and kept until the server has it.

import { SaveQueue, getJSON } from "./api.js";
import { Blacklist } from "./blacklist.js";
import { frequencyText, picture, text, tileFoot, tileItem } from "./tiles.js";
import { isTyping, keysSheet, showSaveState, toast } from "./ui.js";

const PAGE_SIZE = 60;
const FILTERS = ["min_frequency", "max_frequency", "bin", "blacklisted", "near_duplicate", "min_annotations", "sort"];
const MOVES = { ArrowLeft: -1, h: -1, ArrowRight: 1, l: 1, ArrowUp: "up", k: "up", ArrowDown: "down", j: "down" };

const $ = (id) => document.getElementById(id);
const app = $("class-browser");
const form = $("candidate-filters");
const els = {
  grid: $("candidate-grid"),
  count: $("candidate-count"),
  clear: $("clear-filters"),
  error: $("browser-error"),
  empty: $("browser-empty"),
  emptyClear: $("empty-clear"),
  previous: $("page-previous"),
  next: $("page-next"),
  saveState: $("save-state"),
  keysSheet: $("keys-sheet"),
  keysButton: $("keys-button"),
  keysClose: $("keys-close"),
};
const BIN_RANGES = JSON.parse($("bin-ranges").textContent);

const state = {
  candidates: [],
  tiles: [],
  focus: 0,
  offset: 0,
  undo: [], // {id, reason, note}: what each change replaced, the latest last
  loading: 0, // the number of the latest load: an older answer arriving late is dropped
  shown: false, // whether a page was shown: the first keeps readAddress's note on the address
};

const saves = new SaveQueue({ storageKey: `relabel:blacklist:${app.dataset.candidatesUrl}` });
const blacklist = new Blacklist({ saves, url: app.dataset.blacklistUrl, onNoteClosed: () => moveFocus(state.focus) });

// ---- The address and the filters ------------------------------------------------------------------------------------

/** The filters of the address into the form; those the form cannot hold are named in the error line. */
function readAddress() {
  const params = new URLSearchParams(window.location.search);
  const ignored = [];
  for (const name of FILTERS) {
    const field = form.elements.namedItem(name);
    const wanted = params.get(name) || "";
    field.value = wanted || (field.tagName === "SELECT" ? field.options[0].value : "");
    if (wanted && field.value !== wanted) ignored.push(`${name}=${wanted}`);
  }
  state.offset = Math.max(0, Number.parseInt(params.get("offset") || "0", 10) || 0);
  if (ignored.length) {
    els.error.textContent = `Left out of the address, not a value these filters take: ${ignored.join(", ")}`;
    els.error.hidden = false;
  }
}

function filterParams() {
  const params = new URLSearchParams();
  for (const name of FILTERS) {
    const value = form.elements.namedItem(name).value.trim();
    if (value && !(name === "sort" && value === form.elements.namedItem(name).options[0].value)) {
      params.set(name, value);
    }
  }
  return params;
}

function writeAddress() {
  const params = filterParams();
  if (state.offset) params.set("offset", String(state.offset));
  const query = params.toString();
  window.history.replaceState(null, "", query ? `?${query}` : window.location.pathname);
}

// ---- Loading and drawing a page -------------------------------------------------------------------------------------

async function load() {
  const number = ++state.loading;
  app.dataset.state = "loading";
  const params = filterParams();
  params.set("limit", String(PAGE_SIZE));
  params.set("offset", String(state.offset));
  try {
    const { data } = await getJSON(`${app.dataset.candidatesUrl}?${params}`);
    if (number !== state.loading) return;
    if (!data.results.length && data.count && state.offset > 0) {
      // An address past the last page (edited by hand, or the filters left fewer): go to the last page.
      state.offset = Math.floor((data.count - 1) / PAGE_SIZE) * PAGE_SIZE;
      writeAddress();
      await load();
      return;
    }
    if (state.shown) els.error.hidden = true;
    show(data);
  } catch (error) {
    if (number !== state.loading) return;
    els.error.textContent = `The candidates could not be loaded: ${error.message}`;
    els.error.hidden = false;
    show({ count: 0, results: [] });
  }
}

function show(data) {
  state.shown = true;
  state.candidates = data.results;
  state.tiles = data.results.map(tile);
  els.grid.replaceChildren(...state.tiles);
  const filtered = filterParams().toString() !== "";
  els.clear.hidden = !filtered;
  els.empty.hidden = data.results.length > 0;
  const first = data.count ? state.offset + 1 : 0;
  const last = state.offset + data.results.length;
  const range = data.count > data.results.length ? ` · ${first}–${last}` : "";
  const plural = data.count === 1 ? "" : "s";
  els.count.textContent = data.count ? `${data.count} candidate${plural}${range}` : "No candidates";
  els.previous.hidden = state.offset === 0;
  els.next.hidden = last >= data.count;
  app.dataset.state = "ready";
  if (state.tiles.length) moveFocus(Math.min(state.focus, state.tiles.length - 1), false);
}

function tile(candidate, index) {
  const item = tileItem("ts-tile", index, candidate.id, "candidate");
  const head = document.createElement("div");
  head.className = "ts-tile__head";
  head.append(
    text("span", "ts-freq", frequencyText(candidate)),
    text("span", "muted", `${candidate.selected}/${candidate.annotations} selected`),
  );
  if (candidate.bin !== null) {
    head.append(text("span", "ts-tile__bin", `bin ${candidate.bin}`));
    head.lastChild.title = BIN_RANGES[candidate.bin];
  }
  item.append(picture(candidate), head, ...tileFoot(candidate));
  paint(item, candidate);
  return item;
}

/** The tile's blacklist state: its badge, its class and what a screen reader says of it. */
function paint(item, candidate) {
  const reason = item.querySelector(".ts-tile__reason");
  const listed = candidate.blacklist_reason === "";
  item.classList.toggle("is-blacklisted", !listed);
  item.dataset.reason = candidate.blacklist_reason;
  const label = blacklist.label(candidate.blacklist_reason);
  const note = candidate.blacklist_note ? ` (${candidate.blacklist_note})` : "";
  reason.textContent = listed ? "" : `Blacklisted: ${label}${note}`;
  reason.hidden = listed;
  item.setAttribute(
    "aria-label",
    `${candidate.file_name}: frequency ${frequencyText(candidate)}, ` +
      `${candidate.selected} of ${candidate.annotations} selected${listed ? "" : `, blacklisted: ${label}`}`,
  );
}

// ---- Focus ----------------------------------------------------------------------------------------------------------

function moveFocus(index, focus = true) {
  if (!state.tiles.length) return;
  const target = Math.max(0, Math.min(state.tiles.length - 1, index));
  state.tiles[state.focus]?.setAttribute("tabindex", "-1");
  state.focus = target;
  const element = state.tiles[target];
  element.tabIndex = 0;
  if (focus) element.focus();
}

function columns() {
  const top = state.tiles[0].offsetTop;
  const next = state.tiles.findIndex((element) => element.offsetTop !== top);
  return next === -1 ? state.tiles.length : next;
}

function move(step) {
  if (!state.tiles.length) return;
  const delta = step === "up" ? -columns() : step === "down" ? columns() : step;
  const target = state.focus + delta;
  if (target >= 0 && target < state.tiles.length) moveFocus(target);
}

// ---- The blacklist --------------------------------------------------------------------------------------------------

/** Put the candidate at `index` in the given blacklist state, saved at once; `remember`: z can undo it. */
function setBlacklist(index, reason, note = "", remember = true) {
  const candidate = state.candidates[index];
  if (!candidate) return;
  const replaced = blacklist.set(candidate, reason, note);
  if (!replaced) return;
  if (remember) state.undo.push(replaced);
  paint(state.tiles[index], candidate);
}

function undo() {
  const last = state.undo.pop();
  if (!last) {
    toast("Nothing to undo");
    return;
  }
  const index = state.candidates.findIndex((candidate) => candidate.id === last.id);
  if (index === -1) {
    toast("The candidate of the last change is not on this page");
    state.undo.push(last);
    return;
  }
  moveFocus(index);
  setBlacklist(index, last.reason, last.note, false);
}

function blacklistByKey(digit) {
  const index = state.focus;
  if (!state.candidates[index]) return;
  blacklist.byKey(digit, state.candidates[index], (reason, note) => setBlacklist(index, reason, note));
}

saves.addEventListener("change", ({ detail }) => showSaveState(app, els.saveState, detail, "All changes saved"));
saves.addEventListener("failed", ({ detail }) => {
  toast(`Not saved: ${detail.error.message}`);
  load();
});

// ---- The keys sheet -------------------------------------------------------------------------------------------------

const toggleKeys = keysSheet(els.keysSheet, els.keysButton, els.keysClose, () => moveFocus(state.focus));

document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.isComposing || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "Escape") {
    if (blacklist.noting) blacklist.closeNote();
    else if (!els.keysSheet.hidden) toggleKeys(false);
    return;
  }
  if (blacklist.noting || isTyping(event.target)) return;
  if (event.key === "?") {
    event.preventDefault();
    toggleKeys();
    return;
  }
  if (!els.keysSheet.hidden) return;
  const onTile = state.tiles.includes(document.activeElement);
  if (event.key in MOVES) {
    event.preventDefault();
    // The first arrow with no candidate focused starts on the one the focus last had.
    if (onTile) move(MOVES[event.key]);
    else moveFocus(state.focus);
  } else if (/^[0-7u]$/.test(event.key) && !onTile) {
    if (state.tiles.length) toast("Pick a candidate first: click it, or press an arrow key");
  } else if (/^[1-7]$/.test(event.key)) {
    event.preventDefault();
    blacklistByKey(Number(event.key));
  } else if (event.key === "0" || event.key === "u") {
    event.preventDefault();
    setBlacklist(state.focus, "");
  } else if (event.key === "z") {
    event.preventDefault();
    undo();
  }
});

els.grid.addEventListener("click", (event) => {
  const item = event.target instanceof Element && event.target.closest(".ts-tile");
  if (item) moveFocus(Number(item.dataset.index));
});

// ---- Filters and pages ----------------------------------------------------------------------------------------------

function refilter() {
  state.offset = 0;
  state.focus = 0;
  writeAddress();
  load();
}

function clearFilters() {
  form.reset();
  refilter();
}

function turn(step) {
  state.offset = Math.max(0, state.offset + step * PAGE_SIZE);
  state.focus = 0;
  writeAddress();
  load();
  window.scrollTo(0, 0);
}

if (form) {
  form.addEventListener("change", refilter);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    refilter();
  });
  els.clear.addEventListener("click", clearFilters);
  els.emptyClear.addEventListener("click", clearFilters);
  els.previous.addEventListener("click", () => turn(-1));
  els.next.addEventListener("click", () => turn(1));
  readAddress();
  load();
}
saves.start();
