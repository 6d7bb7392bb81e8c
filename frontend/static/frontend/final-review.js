// The final review of a revision (finalreview/review.html): the revision's classes with their marks and the progress,
// and one class at a time: its sampled images, each with its nearest neighbours, beside a sample of its reference
// images. Keys: arrows or h/j/k/l move between the sampled images, 1-7 blacklist the focused one (blacklist.js, as the
// candidate browser does), 0 or u take it off, r and p toggle the class's reviewed and problematic marks, ] or n the
// next class of the list, [ the previous, z undoes the last change, ? shows the keys. ?class=WNID and
// ?show=all|unreviewed|problematic live in the address. Each change is saved at once, in order, and kept until the
// server has it. "Resample from this revision" samples a new revision as this one was, from this one.

import { SaveQueue, getJSON, request } from "./api.js";
import { Blacklist } from "./blacklist.js";
import { frequencyText, picture, text, tileFoot, tileItem } from "./tiles.js";
import { isTyping, keysSheet, showSaveState, toast } from "./ui.js";

const MOVES = { ArrowLeft: -1, h: -1, ArrowRight: 1, l: 1, ArrowUp: "up", k: "up", ArrowDown: "down", j: "down" };
const SHOWS = ["all", "unreviewed", "problematic"];
const SAMPLING_TIMEOUT_MS = 120000;
// A neighbour's verdict, after its distance: what the duplicate review said of the pair.
const VERDICT_MARKS = { duplicate: " · duplicate", distinct: " · not a duplicate" };
const EMPTY_LISTS = {
  all: ["This revision has no classes", "Its sampling took no image of any class."],
  unreviewed: ["Every class is reviewed", "Show all classes to look at one again."],
  problematic: ["No class is marked problematic", "Show all classes, or those not reviewed yet."],
};

const $ = (id) => document.getElementById(id);
const app = $("final-review");
const els = {
  progress: $("review-progress"),
  parent: $("revision-parent"),
  error: $("review-error"),
  resampleNote: $("resample-note"),
  resample: $("resample"),
  filter: $("class-filter"),
  list: $("class-list"),
  listEmpty: $("classes-empty"),
  head: $("class-head"),
  label: $("class-label"),
  wnid: $("class-wnid"),
  meta: $("class-meta"),
  reviewed: $("mark-reviewed"),
  problematic: $("mark-problematic"),
  note: $("class-note"),
  origin: $("marks-origin"),
  hint: $("keys-hint"),
  noSearch: $("no-search"),
  stage: $("class-stage"),
  grid: $("sampled-grid"),
  noImages: $("no-images"),
  reference: $("reference-list"),
  noReference: $("no-reference"),
  empty: $("review-empty"),
  emptyTitle: $("review-empty-title"),
  emptyText: $("review-empty-text"),
  saveState: $("save-state"),
  keysSheet: $("keys-sheet"),
  keysButton: $("keys-button"),
  keysClose: $("keys-close"),
};
const BIN_RANGES = JSON.parse($("bin-ranges").textContent);
const RESAMPLE = JSON.parse($("resample-body").textContent);

const state = {
  revision: null,
  classes: [], // the list's rows, by wnid: counts and marks (the marks as last changed here)
  show: "all",
  wnid: null, // the class shown
  view: null, // its answer: images (with their blacklist as last changed here), reference, thresholds
  tiles: [],
  focus: 0,
  // What each change replaced, the latest last: {kind: "blacklist", wnid, id, reason, note} or
  // {kind: "marks", wnid, reviewed, problematic, note}.
  undo: [],
  loading: 0, // the number of the latest class load: an older answer arriving late is dropped
};

const saves = new SaveQueue({ storageKey: `relabel:final-review:${app.dataset.classesUrl}` });
const blacklist = new Blacklist({ saves, url: app.dataset.blacklistUrl, onNoteClosed: () => moveFocus(state.focus) });
const classUrl = (wnid) => app.dataset.classUrl.replace("/WNID/", `/${encodeURIComponent(wnid)}/`);
const marksUrl = (wnid) => app.dataset.marksUrl.replace("/WNID/", `/${encodeURIComponent(wnid)}/`);
const classRow = (wnid) => state.classes.find((row) => row.wnid === wnid);

function showError(message) {
  els.error.textContent = message;
  els.error.hidden = !message;
}

// ---- The address, the list and the progress -------------------------------------------------------------------------

function readAddress() {
  const params = new URLSearchParams(window.location.search);
  const show = params.get("show") || "all";
  state.show = SHOWS.includes(show) ? show : "all";
  els.filter.elements.namedItem("show").value = state.show;
  return params.get("class");
}

function writeAddress() {
  const params = new URLSearchParams();
  if (state.wnid) params.set("class", state.wnid);
  if (state.show !== "all") params.set("show", state.show);
  window.history.replaceState(null, "", `?${params}`);
}

function matches(row) {
  if (state.show === "unreviewed") return !row.reviewed;
  if (state.show === "problematic") return row.problematic;
  return true;
}

function origin(row) {
  if (row.marked_in === null) return "";
  return row.carried ? `carried from r${row.marked_in}` : `marked in r${row.marked_in}`;
}

function drawList() {
  const shown = state.classes.filter((row) => matches(row) || row.wnid === state.wnid);
  els.list.replaceChildren(
    ...shown.map((row) => {
      const item = document.createElement("li");
      item.className = "fr-class";
      item.dataset.wnid = row.wnid;
      item.dataset.reviewed = String(row.reviewed);
      item.dataset.problematic = String(row.problematic);
      const link = document.createElement("a");
      link.href = `?class=${encodeURIComponent(row.wnid)}${state.show === "all" ? "" : `&show=${state.show}`}`;
      if (row.wnid === state.wnid) link.setAttribute("aria-current", "true");
      link.append(text("span", "fr-class__label", row.label || row.wnid), text("span", "muted small", row.wnid));
      const badges = document.createElement("span");
      badges.className = "fr-class__badges";
      if (row.reviewed) badges.append(text("span", "badge badge--done", "reviewed"));
      if (row.problematic) badges.append(text("span", "badge badge--warn", "problematic"));
      if (row.carried) badges.append(text("span", "badge badge--quiet", origin(row)));
      if (row.blacklisted) badges.append(text("span", "badge badge--warn", `${row.blacklisted} blacklisted`));
      // A class sampled short shows so in the list, before it is opened.
      if (row.short) badges.append(text("span", "badge badge--warn", row.sampled ? `only ${row.sampled} sampled` : "none sampled"));
      link.append(badges);
      item.append(link);
      return item;
    }),
  );
  els.listEmpty.hidden = shown.length > 0;
  els.listEmpty.textContent = EMPTY_LISTS[state.show][0];
  const reviewed = state.classes.filter((row) => row.reviewed).length;
  const problematic = state.classes.filter((row) => row.problematic).length;
  const blacklisted = state.classes.reduce((sum, row) => sum + row.blacklisted, 0);
  const total = state.classes.length;
  els.progress.textContent =
    `${reviewed} of ${total} class${total === 1 ? "" : "es"} reviewed · ${problematic} problematic` +
    (blacklisted ? ` · ${blacklisted} image${blacklisted === 1 ? "" : "s"} blacklisted since sampling` : "");
  Object.assign(app.dataset, { reviewed, problematic, blacklisted });
  els.resampleNote.hidden = blacklisted === 0;
  els.resampleNote.textContent =
    `${blacklisted} image${blacklisted === 1 ? " was" : "s were"} blacklisted since revision ${state.revision} ` +
    `was sampled: resample from this revision to replace ${blacklisted === 1 ? "it" : "them"} (the classes whose ` +
    "images stay the same keep their marks).";
}

// ---- One class ------------------------------------------------------------------------------------------------------

async function openClass(wnid) {
  const number = ++state.loading;
  state.wnid = wnid;
  state.focus = 0;
  writeAddress();
  drawList();
  app.dataset.state = "loading";
  try {
    const { data } = await getJSON(classUrl(wnid));
    if (number !== state.loading) return;
    for (const image of data.images) image.id = image.candidate;
    state.view = data;
    showError("");
    drawClass();
  } catch (error) {
    if (number !== state.loading) return;
    showError(`The class ${wnid} could not be loaded: ${error.message}`);
    app.dataset.state = "ready";
  }
}

function drawClass() {
  const view = state.view;
  const row = classRow(view.wnid);
  els.empty.hidden = true;
  els.head.hidden = false;
  els.stage.hidden = false;
  els.label.textContent = view.label || view.wnid;
  els.wnid.textContent = view.wnid;
  drawMarks(row);
  state.tiles = view.images.map(tile);
  els.grid.replaceChildren(...state.tiles);
  els.grid.hidden = !view.images.length;
  els.noImages.hidden = view.images.length > 0;
  els.hint.hidden = !view.images.length;
  els.noSearch.hidden = !view.images.length || Object.keys(view.thresholds).length > 0;
  els.reference.replaceChildren(...view.reference.map(referenceItem));
  els.noReference.hidden = view.reference.length > 0;
  app.dataset.wnid = view.wnid;
  app.dataset.state = "ready";
  // A class opens at the top of the page, its name and marks in sight; focusing its first image must not scroll them
  // under the bar.
  window.scrollTo({ top: 0 });
  if (state.tiles.length) moveFocus(0, { preventScroll: true });
  else els.reviewed.focus({ preventScroll: true });
}

function drawMarks(row) {
  els.meta.textContent =
    `${row.sampled} image${row.sampled === 1 ? "" : "s"} sampled` +
    (row.short ? " (fewer than wanted)" : "") +
    (row.blacklisted ? ` · ${row.blacklisted} blacklisted since` : "");
  els.reviewed.setAttribute("aria-pressed", String(row.reviewed));
  els.problematic.setAttribute("aria-pressed", String(row.problematic));
  if (document.activeElement !== els.note) els.note.value = row.note;
  els.origin.textContent = origin(row) + (row.updated_by && !row.carried ? ` by ${row.updated_by}` : "");
}

function tile(image, index) {
  const item = tileItem("ts-tile fr-tile", index, image.candidate, "sampled");
  const head = document.createElement("div");
  head.className = "ts-tile__head";
  head.append(text("span", "ts-freq", frequencyText(image)), text("span", "muted", `${image.annotations} annotations`));
  head.append(text("span", "ts-tile__bin", `bin ${image.bin}`));
  head.lastChild.title = BIN_RANGES[image.bin];
  if (image.upward) head.append(text("span", "badge badge--warn", "upward"));
  item.append(picture(image), head, ...tileFoot(image), neighbourList(image));
  if (Object.values(image.neighbours).some((neighbours) => neighbours.some((neighbour) => neighbour.under_threshold))) {
    // Where a verdict on its neighbours is given or changed.
    const judge = text("a", "fr-tile__judge small", "Judge its neighbours");
    judge.href = `${app.dataset.duplicateReviewUrl}?candidate=${image.candidate}`;
    judge.dataset.testid = "judge-neighbours";
    item.append(judge);
  }
  paint(item, image);
  return item;
}

function neighbourList(image) {
  const list = document.createElement("ul");
  list.className = "fr-neighbours";
  list.setAttribute("aria-label", "Nearest images");
  for (const [metric, neighbours] of Object.entries(image.neighbours)) {
    for (const neighbour of neighbours) {
      const item = document.createElement("li");
      item.className = `fr-neighbour${neighbour.under_threshold ? " is-under" : ""}`;
      item.dataset.testid = "neighbour";
      item.dataset.verdict = neighbour.verdict;
      item.title =
        `${neighbour.image.file_name} (${neighbour.image.dataset}), ${metric} #${neighbour.rank}` +
        (neighbour.under_threshold ? ": under the threshold" : "") +
        (neighbour.verdict ? `, ${neighbour.verdict}` : "");
      item.append(
        picture(neighbour.image, "fr-neighbour__frame"),
        text(
          "span",
          "fr-neighbour__distance",
          `${metric} ${neighbour.distance.toPrecision(2)}${VERDICT_MARKS[neighbour.verdict] ?? ""}`,
        ),
      );
      list.append(item);
    }
  }
  return list;
}

function referenceItem(image) {
  const item = document.createElement("li");
  item.className = "ts-reference__item";
  item.dataset.image = String(image.id);
  const words = document.createElement("div");
  words.className = "ts-reference__text small";
  const name = text("span", "ts-reference__name muted", image.file_name);
  name.title = image.file_name;
  words.append(
    text("span", "ts-freq", frequencyText(image)),
    text("span", "muted", `${image.selected}/${image.annotations}${image.bin === null ? "" : ` · bin ${image.bin}`}`),
    name,
  );
  item.append(picture(image), words);
  return item;
}

/** The tile's blacklist state: its badge, its class and what a screen reader says of it. */
function paint(item, image) {
  const reason = item.querySelector(".ts-tile__reason");
  const listed = image.blacklist_reason === "";
  const label = blacklist.label(image.blacklist_reason);
  item.classList.toggle("is-blacklisted", !listed);
  item.dataset.reason = image.blacklist_reason;
  reason.textContent = listed ? "" : `Blacklisted: ${label}${image.blacklist_note ? ` (${image.blacklist_note})` : ""}`;
  reason.hidden = listed;
  item.setAttribute(
    "aria-label",
    `${image.file_name}: frequency ${frequencyText(image)}, bin ${image.bin}${listed ? "" : `, blacklisted: ${label}`}`,
  );
}

// ---- Focus ----------------------------------------------------------------------------------------------------------

function moveFocus(index, options = {}) {
  if (!state.tiles.length) return;
  const target = Math.max(0, Math.min(state.tiles.length - 1, index));
  state.tiles[state.focus]?.setAttribute("tabindex", "-1");
  state.focus = target;
  state.tiles[target].tabIndex = 0;
  state.tiles[target].focus(options);
}

function columns() {
  const top = state.tiles[0].offsetTop;
  const next = state.tiles.findIndex((element) => element.offsetTop !== top);
  return next === -1 ? state.tiles.length : next;
}

function move(step) {
  const delta = step === "up" ? -columns() : step === "down" ? columns() : step;
  const target = state.focus + delta;
  if (target >= 0 && target < state.tiles.length) moveFocus(target);
}

function nextClass(direction) {
  const index = state.classes.findIndex((row) => row.wnid === state.wnid);
  for (let i = index + direction; i >= 0 && i < state.classes.length; i += direction) {
    if (matches(state.classes[i])) {
      openClass(state.classes[i].wnid);
      return;
    }
  }
  toast(direction > 0 ? "No class after this one in the list" : "No class before this one in the list");
}

// ---- Changes: the blacklist and the marks ---------------------------------------------------------------------------

/** Put the shown image at `index` in the given blacklist state, saved at once; `remember`: z can undo it. */
function setBlacklist(index, reason, note = "", remember = true) {
  const image = state.view?.images[index];
  if (!image) return;
  const before = image.blacklist_reason;
  const replaced = blacklist.set(image, reason, note);
  if (!replaced) return;
  if (remember) state.undo.push({ kind: "blacklist", wnid: state.view.wnid, ...replaced });
  paint(state.tiles[index], image);
  const row = classRow(state.view.wnid);
  row.blacklisted += (reason !== "") - (before !== "");
  drawMarks(row);
  drawList();
}

function blacklistByKey(digit) {
  const index = state.focus;
  const image = state.view?.images[index];
  if (image) blacklist.byKey(digit, image, (reason, note) => setBlacklist(index, reason, note));
}

/** Change the class's marks (a part of {reviewed, problematic, note}), saved at once; `remember`: z can undo it. */
function setMarks(wnid, changes, remember = true) {
  const row = classRow(wnid);
  if (!row) return;
  if (remember) {
    state.undo.push({ kind: "marks", wnid, reviewed: row.reviewed, problematic: row.problematic, note: row.note });
  }
  Object.assign(row, changes, { marked_in: state.revision, carried: false });
  // The whole of the marks each time: a change still waiting is replaced by this one, not added to it.
  saves.enqueue({
    key: `marks:${wnid}`,
    method: "PATCH",
    url: marksUrl(wnid),
    body: { reviewed: row.reviewed, problematic: row.problematic, note: row.note },
    meta: { wnid },
  });
  if (state.view?.wnid === wnid) drawMarks(row);
  drawList();
}

function toggleMark(name) {
  const row = classRow(state.wnid);
  if (!row || !state.view) return;
  setMarks(state.wnid, { [name]: !row[name] });
  toast(`${name === "reviewed" ? "Reviewed" : "Problematic"}: ${row[name] ? "yes" : "no"}`);
}

async function undo() {
  const last = state.undo.pop();
  if (!last) {
    toast("Nothing to undo");
    return;
  }
  if (last.kind === "marks") {
    setMarks(last.wnid, { reviewed: last.reviewed, problematic: last.problematic, note: last.note }, false);
    toast(`Undone: the marks of ${last.wnid}`);
    return;
  }
  if (last.wnid !== state.wnid) await openClass(last.wnid);
  const index = state.view ? state.view.images.findIndex((image) => image.id === last.id) : -1;
  if (index === -1) {
    toast("The image of the last change is no longer shown");
    return;
  }
  moveFocus(index);
  setBlacklist(index, last.reason, last.note, false);
}

saves.addEventListener("change", ({ detail }) => showSaveState(app, els.saveState, detail, "All changes saved"));
saves.addEventListener("saved", ({ detail }) => {
  const { wnid } = detail.op.meta;
  // The server's word on who marked it and when, unless a newer change of the class is on its way.
  if (wnid && !saves.pendingFor(`marks:${wnid}`)) {
    const row = classRow(wnid);
    Object.assign(row, detail.data);
    if (state.view?.wnid === wnid) drawMarks(row);
  }
});
saves.addEventListener("failed", ({ detail }) => {
  toast(`Not saved: ${detail.error.message}`);
  start();
});

// ---- Resampling -----------------------------------------------------------------------------------------------------

async function resample() {
  els.resample.disabled = true;
  els.resample.textContent = "Sampling…";
  try {
    await saves.idle(SAMPLING_TIMEOUT_MS);
    const { data } = await request(app.dataset.revisionsUrl, {
      method: "POST",
      body: RESAMPLE,
      timeout: SAMPLING_TIMEOUT_MS,
    });
    window.location.assign(app.dataset.reviewPageUrl.replace(/\/revisions\/0\//, `/revisions/${data.revision}/`));
  } catch (error) {
    showError(`No new revision: ${error.message}`);
    els.resample.disabled = false;
    els.resample.textContent = "Resample from this revision";
  }
}

els.resample.addEventListener("click", resample);

// ---- Keys -----------------------------------------------------------------------------------------------------------

const toggleKeys = keysSheet(els.keysSheet, els.keysButton, els.keysClose, () => moveFocus(state.focus));

document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.isComposing || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "Escape") {
    if (blacklist.noting) blacklist.closeNote();
    else if (!els.keysSheet.hidden) toggleKeys(false);
    else if (event.target === els.note) moveFocus(state.focus);
    return;
  }
  if (blacklist.noting || isTyping(event.target)) return;
  if (event.key === "?") {
    event.preventDefault();
    toggleKeys();
    return;
  }
  if (!els.keysSheet.hidden || app.dataset.state !== "ready") return;
  const onTile = state.tiles.includes(document.activeElement);
  if (event.key in MOVES) {
    // The first arrow with no image focused starts on the one the focus last had.
    if (onTile) move(MOVES[event.key]);
    else moveFocus(state.focus);
  } else if (event.key === "]" || event.key === "n") nextClass(1);
  else if (event.key === "[") nextClass(-1);
  else if (event.key === "r") toggleMark("reviewed");
  else if (event.key === "p") toggleMark("problematic");
  else if (event.key === "z") undo();
  else if (/^[0-7u]$/.test(event.key) && !onTile) {
    if (state.tiles.length) toast("Pick an image first: click it, or press an arrow key");
  } else if (/^[1-7]$/.test(event.key)) blacklistByKey(Number(event.key));
  else if (event.key === "0" || event.key === "u") setBlacklist(state.focus, "");
  else return;
  event.preventDefault();
});

els.grid.addEventListener("click", (event) => {
  const item = event.target instanceof Element && event.target.closest(".fr-tile");
  if (item) moveFocus(Number(item.dataset.index));
});
els.list.addEventListener("click", (event) => {
  const item = event.target instanceof Element && event.target.closest(".fr-class");
  if (!item) return;
  event.preventDefault();
  openClass(item.dataset.wnid);
});
els.reviewed.addEventListener("click", () => toggleMark("reviewed"));
els.problematic.addEventListener("click", () => toggleMark("problematic"));
els.note.addEventListener("change", () => {
  if (state.wnid && els.note.value !== classRow(state.wnid)?.note) setMarks(state.wnid, { note: els.note.value });
});
els.note.addEventListener("keydown", (event) => {
  if (event.key === "Enter") {
    event.preventDefault();
    els.note.blur();
  }
});
els.filter.addEventListener("change", () => {
  state.show = els.filter.elements.namedItem("show").value;
  writeAddress();
  drawList();
});
els.filter.addEventListener("submit", (event) => event.preventDefault());

// ---- Start ----------------------------------------------------------------------------------------------------------

function showEmpty(title, words) {
  els.head.hidden = true;
  els.stage.hidden = true;
  els.hint.hidden = true;
  els.noSearch.hidden = true;
  els.empty.hidden = false;
  els.emptyTitle.textContent = title;
  els.emptyText.textContent = words;
  app.dataset.state = "empty";
}

/** Which revision this one was sampled from, and how many classes keep their marks from it. */
function showParent(parent) {
  els.parent.hidden = parent === null;
  if (parent === null) return;
  const carried = state.classes.filter((row) => row.carried).length;
  els.parent.textContent =
    `Sampled from revision ${parent}: ${carried} class${carried === 1 ? " keeps its" : "es keep their"} marks from ` +
    "it (their images are the same); the others start unmarked.";
}

async function start() {
  const wanted = readAddress();
  try {
    const { data } = await getJSON(app.dataset.classesUrl);
    state.revision = data.revision;
    state.classes = data.classes;
    showParent(data.parent);
  } catch (error) {
    showError(`The classes could not be loaded: ${error.message}`);
    return;
  }
  const known = wanted && classRow(wanted);
  const first = known ? wanted : state.classes.find(matches)?.wnid;
  if (first) {
    await openClass(first);
  } else {
    state.wnid = null;
    drawList();
    showEmpty(...EMPTY_LISTS[state.show]);
  }
  if (wanted && !known) showError(`Revision ${state.revision} has no class ${wanted}: showing the first of the list.`);
}

saves.start();
start();
