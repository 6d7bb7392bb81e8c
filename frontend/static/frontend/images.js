// The image browser of a dataset: its images as a grid of thumbnails or a table, filtered, searched and sorted, a page
// at a time. The page's address holds the list and the page (the API's own parameters, plus the view), so that a
// reload, the back button or a link shows the same; opening an image opens the review page on that list.

import { getJSON } from "./api.js";
import { createClassSearch } from "./class-search.js";
import { listQuery, reviewLink } from "./image-list.js";

const SEARCH_DEBOUNCE_MS = 300;
const ARROWS = ["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown"];

const root = document.getElementById("browser");
const $ = (id) => document.getElementById(id);
const form = $("browser-filters");
const els = {
  count: $("browser-count"),
  clear: $("clear-filters"),
  error: $("browser-error"),
  grid: $("image-grid"),
  table: $("image-table"),
  rows: $("image-rows"),
  empty: $("browser-empty"),
  emptyTitle: $("browser-empty-title"),
  emptyText: $("browser-empty-text"),
  emptyClear: $("empty-clear"),
  emptyFirst: $("empty-first"),
  emptyReview: $("empty-review"),
  previous: $("page-previous"),
  next: $("page-next"),
  classInput: $("class-search"),
  classChip: $("class-chip"),
  sortField: form.querySelector("[data-sort-field]"),
  recentColumn: root.querySelector("[data-recent-column]"),
};
const config = {
  apiUrl: root.dataset.apiUrl,
  reviewUrl: root.dataset.reviewUrl,
  synsetUrl: (wnid) => root.dataset.synsetUrl.replace("WNID", encodeURIComponent(wnid)),
};
const counts = new Map(); // a list's query -> its count, as its first page said
const synsets = new Map(); // wnid -> {wnid, words}, for the class chip
let generation = 0;

// ---------------------------------------------------------------------------------------------
// The address: the list, the page and the view

const pageParams = () => new URLSearchParams(location.search);
const isRecent = (params) => params.get("sort") === "recent";
const viewOf = (params) => (params.get("view") === "table" ? "table" : "grid");

/** The list the controls show, with the view; no page (a new list starts on its first). */
function chosenParams() {
  const params = pageParams();
  const chosen = new URLSearchParams();
  for (const [name, value] of new FormData(form)) {
    if (value && !(name === "model_top1" && value === "any")) chosen.set(name, value);
  }
  if (params.get("wnid")) chosen.set("wnid", params.get("wnid"));
  if (isRecent(params)) chosen.set("sort", "recent");
  else if (chosen.get("sort") === "position") chosen.delete("sort");
  if (!chosen.get("model")) chosen.delete("model_top1");
  return withView(chosen, viewOf(params));
}

function withView(params, view) {
  if (view === "table") params.set("view", "table");
  else params.delete("view");
  return params;
}

function go(params, { replace = false } = {}) {
  const query = params.toString();
  history[replace ? "replaceState" : "pushState"](null, "", `${location.pathname}${query ? `?${query}` : ""}`);
  load();
}

/** Whether the list narrows the dataset's images (or the user's recent ones) by anything. */
function filtered(params) {
  const list = listQuery(params);
  list.delete("sort");
  return list.toString() !== "";
}

// ---------------------------------------------------------------------------------------------
// Controls

function showControls(params) {
  for (const element of form.elements) {
    if (!element.name) continue;
    const value = params.get(element.name) || "";
    if (element.type === "checkbox") element.checked = value === "true";
    else if (element.name === "sort") element.value = isRecent(params) ? "position" : value || "position";
    else if (element.name === "model_top1") element.value = value || "any";
    else if (document.activeElement !== element) element.value = value;
  }
  form.elements.model_top1.disabled = !params.get("model");
  els.sortField.hidden = isRecent(params);
  for (const radio of root.querySelectorAll('input[name="scope"]')) {
    radio.checked = radio.value === (isRecent(params) ? "recent" : "all");
  }
  for (const radio of root.querySelectorAll('input[name="view"]')) radio.checked = radio.value === viewOf(params);
  els.clear.hidden = !filtered(params);
  showClass(params.get("wnid"));
}

async function showClass(wnid) {
  els.classChip.hidden = !wnid;
  els.classInput.hidden = Boolean(wnid);
  if (!wnid) return;
  els.classChip.dataset.wnid = wnid;
  els.classChip.querySelector(".chip__wnid").textContent = wnid;
  const words = els.classChip.querySelector(".browser__class-words");
  if (!synsets.has(wnid)) {
    words.textContent = "";
    try {
      const { data } = await getJSON(config.synsetUrl(wnid));
      synsets.set(wnid, data);
    } catch {
      return; // the list's own answer names a wnid that is not there
    }
  }
  if (els.classChip.dataset.wnid === wnid) {
    words.textContent = synsets.get(wnid).words.join(", ");
    els.classChip.title = `${wnid}: ${words.textContent}`;
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  go(chosenParams());
});
form.addEventListener("change", (event) => {
  if (event.target === els.classInput || event.target.name === "q") return;
  go(chosenParams());
});

let searchTimer = null;
form.elements.q.addEventListener("input", () => {
  clearTimeout(searchTimer);
  // While typing, one history entry for the whole search.
  searchTimer = setTimeout(() => go(chosenParams(), { replace: true }), SEARCH_DEBOUNCE_MS);
});

const classSearch = createClassSearch({
  input: els.classInput,
  list: $("class-results"),
  searchUrl: root.dataset.searchUrl,
  limit: 10,
  onChoose: (synset) => {
    synsets.set(synset.wnid, synset);
    classSearch.clear();
    const params = chosenParams();
    params.set("wnid", synset.wnid);
    go(params);
  },
});

$("class-clear").addEventListener("click", () => {
  const params = chosenParams();
  params.delete("wnid");
  go(params);
  els.classInput.focus();
});

for (const radio of root.querySelectorAll('input[name="scope"]')) {
  radio.addEventListener("change", () => {
    const params = chosenParams();
    if (radio.value === "recent") params.set("sort", "recent");
    else params.delete("sort");
    go(params);
  });
}

for (const radio of root.querySelectorAll('input[name="view"]')) {
  // The same page in the other view.
  radio.addEventListener("change", () => go(withView(pageParams(), radio.value), { replace: true }));
}

function clearFilters() {
  const params = new URLSearchParams();
  if (isRecent(pageParams())) params.set("sort", "recent");
  go(withView(params, viewOf(pageParams())));
}

els.clear.addEventListener("click", clearFilters);
els.emptyClear.addEventListener("click", clearFilters);

// ---------------------------------------------------------------------------------------------
// Loading and showing a page

async function load() {
  const params = pageParams();
  if (params.get("at")) {
    openAt(params);
    return;
  }
  showControls(params);
  const asked = listQuery(params);
  for (const cursor of ["after", "before"]) {
    if (params.get(cursor)) asked.set(cursor, params.get(cursor));
  }
  const mine = ++generation;
  root.dataset.state = "loading";
  try {
    const { data } = await getJSON(`${config.apiUrl}?${asked}`);
    if (mine !== generation) return;
    show(data, params);
    root.dataset.state = "ready";
  } catch (error) {
    if (mine !== generation) return;
    root.dataset.state = "error";
    els.error.textContent = `Could not list the images: ${error.message}.`;
    els.error.hidden = false;
    els.grid.hidden = els.table.hidden = els.empty.hidden = true;
    els.previous.hidden = els.next.hidden = true;
  }
}

/** The page of the list that starts with the image `at` names (the review page's way back to its list), with that
 * image focused: the page after the image just before it, found with one request. */
async function openAt(params) {
  const at = params.get("at");
  params.delete("at");
  params.delete("after");
  params.delete("before");
  const previous = listQuery(params);
  previous.set("before", at);
  previous.set("limit", "1");
  try {
    const { data } = await getJSON(`${config.apiUrl}?${previous}`);
    if (data.results.length) params.set("after", String(data.results[0].id));
  } catch {
    // No such image in the list any more: its first page.
  }
  focusAfterLoad = at;
  go(withView(params, viewOf(params)), { replace: true });
}

let focusAfterLoad = null;

function show(data, params) {
  const list = listQuery(params);
  if (data.count !== null) counts.set(list.toString(), data.count);
  showCount(list);
  if (!counts.has(list.toString())) countList(list);
  els.error.hidden = true;
  const view = viewOf(params);
  const images = data.results;
  els.grid.hidden = view !== "grid" || images.length === 0;
  els.table.hidden = view !== "table" || images.length === 0;
  els.recentColumn.hidden = !isRecent(params);
  if (view === "grid") els.grid.replaceChildren(...images.map((image) => tile(image, list)));
  else els.rows.replaceChildren(...images.map((image) => row(image, list, isRecent(params))));
  showEmpty(images.length === 0, params);
  pageLink(els.previous, data.previous, "before", params);
  pageLink(els.next, data.next, "after", params);
  if (focusAfterLoad !== null) {
    root.querySelector(`[data-image-id="${focusAfterLoad}"] a`)?.focus();
    focusAfterLoad = null;
  }
}

function showCount(list) {
  const count = counts.get(list.toString());
  els.count.textContent = count === undefined ? "" : `${count.toLocaleString("en-US")} image${count === 1 ? "" : "s"}`;
}

/** The count of a list shown from a later page (a reload, a link): its first page has it. */
async function countList(list) {
  const first = new URLSearchParams(list);
  first.set("limit", "1");
  try {
    const { data } = await getJSON(`${config.apiUrl}?${first}`);
    counts.set(list.toString(), data.count);
    if (listQuery(pageParams()).toString() === list.toString()) showCount(list);
  } catch {
    // The count only informs: the page itself is shown.
  }
}

function showEmpty(empty, params) {
  els.empty.hidden = !empty;
  if (!empty) return;
  const paged = params.has("after") || params.has("before");
  const recentOnly = isRecent(params) && !filtered(params);
  let title = "This dataset has no images yet";
  let text = "Admins register images with a manifest or import a folder of them.";
  if (paged) {
    title = "No more images here";
    text = "The list has changed since this page was made: start again from its first page.";
  } else if (recentOnly) {
    title = "You have given no verdict here yet";
    text = "The images you give a verdict appear here, your latest first.";
  } else if (filtered(params)) {
    title = "No image matches these filters";
    text = "Clear the filters, or loosen one of them.";
  }
  els.emptyTitle.textContent = title;
  els.emptyText.textContent = text;
  els.emptyClear.hidden = paged || !filtered(params);
  els.emptyReview.hidden = paged || !recentOnly;
  els.emptyFirst.hidden = !paged;
  const first = withView(listQuery(params), viewOf(params)).toString();
  els.emptyFirst.href = `${location.pathname}${first ? `?${first}` : ""}`;
}

/** The pager link to the page that an API address names (its after or before), in this page's view. */
function pageLink(link, apiAddress, cursor, params) {
  link.hidden = !apiAddress;
  if (!apiAddress) return;
  const page = listQuery(params);
  page.set(cursor, new URL(apiAddress, location.href).searchParams.get(cursor));
  link.href = `${location.pathname}?${withView(page, viewOf(params))}`;
}

for (const link of [els.previous, els.next, els.emptyFirst]) {
  link.addEventListener("click", (event) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    go(new URL(link.href).searchParams);
    window.scrollTo({ top: 0 });
  });
}

function badges(image) {
  const found = [];
  const badge = (text, kind, title = "") => {
    const span = document.createElement("span");
    span.className = `badge ${kind}`;
    span.textContent = text;
    if (title) span.title = title;
    found.push(span);
  };
  if (image.reviewed) badge("Reviewed", "badge--done", "Every candidate has a verdict and no suggestion is open");
  else badge("Unreviewed", "badge--quiet", "A candidate awaits a verdict, or a suggestion is open");
  if (image.problematic) badge("Problematic", "badge--warn", image.problematic.replaceAll("_", " "));
  if (image.suggested) badge("Suggestion", "badge--suggested", "A trainee suggested a label or a flag");
  return found;
}

function thumbnail(image) {
  if (!image.display_url) {
    const missing = document.createElement("span");
    missing.className = "image-tile__missing";
    missing.textContent = "No file yet";
    return missing;
  }
  const img = document.createElement("img");
  img.src = image.display_url;
  img.alt = "";
  img.loading = "lazy";
  img.decoding = "async";
  return img;
}

function tile(image, list) {
  const item = document.createElement("li");
  item.className = "image-tile";
  item.dataset.imageId = image.id;
  const link = document.createElement("a");
  link.className = "image-tile__link";
  link.href = reviewLink(config.reviewUrl, list, image.id, "grid");
  link.title = `${image.file_name}: ${image.original_label} (${image.original_wnid})`;
  const frame = document.createElement("span");
  frame.className = "image-tile__frame";
  frame.append(thumbnail(image));
  const name = document.createElement("span");
  name.className = "image-tile__name";
  name.textContent = image.file_name;
  const label = document.createElement("span");
  label.className = "image-tile__label muted small";
  label.textContent = image.original_label;
  const marks = document.createElement("span");
  marks.className = "image-tile__badges";
  marks.append(...badges(image));
  link.append(frame, name, label, marks);
  item.append(link);
  return item;
}

function row(image, list, recent) {
  const tr = document.createElement("tr");
  tr.dataset.imageId = image.id;
  const cell = (...children) => {
    const td = document.createElement("td");
    td.append(...children);
    tr.append(td);
    return td;
  };
  cell(String(image.position + 1)).className = "num";
  const thumb = document.createElement("a");
  thumb.className = "image-row__thumb";
  thumb.href = reviewLink(config.reviewUrl, list, image.id, "table");
  thumb.tabIndex = -1;
  thumb.append(thumbnail(image));
  cell(thumb);
  const name = document.createElement("a");
  name.href = thumb.href;
  name.textContent = image.file_name;
  cell(name).className = "wrap-anywhere";
  const wnid = document.createElement("span");
  wnid.className = "muted small";
  wnid.textContent = ` ${image.original_wnid}`;
  cell(image.original_label, wnid);
  const marks = document.createElement("span");
  marks.className = "image-tile__badges";
  marks.append(...badges(image));
  cell(marks);
  const at = cell(image.latest_verdict_at ? new Date(image.latest_verdict_at).toLocaleString() : "");
  at.hidden = !recent;
  return tr;
}

// ---------------------------------------------------------------------------------------------
// Keyboard: arrow keys move between the thumbnails, Enter opens one (a link)

function tileLinks() {
  return [...els.grid.querySelectorAll(".image-tile__link")];
}

function columns(links) {
  const top = links[0].getBoundingClientRect().top;
  const wrapped = links.findIndex((link) => link.getBoundingClientRect().top > top + 1);
  return wrapped === -1 ? links.length : wrapped;
}

els.grid.addEventListener("keydown", (event) => {
  if (!ARROWS.includes(event.key) && event.key !== "Home" && event.key !== "End") return;
  const links = tileLinks();
  const at = links.indexOf(document.activeElement);
  if (at === -1) return;
  const across = columns(links);
  const step = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -across, ArrowDown: across, Home: -at, End: links.length }[
    event.key
  ];
  event.preventDefault();
  links[Math.max(0, Math.min(links.length - 1, at + step))].focus();
});

document.addEventListener("keydown", (event) => {
  // An arrow key with nothing focused starts on the first thumbnail.
  if (!ARROWS.includes(event.key) || document.activeElement !== document.body || els.grid.hidden) return;
  const first = tileLinks()[0];
  if (!first) return;
  event.preventDefault();
  first.focus();
});

window.addEventListener("popstate", load);
load();
