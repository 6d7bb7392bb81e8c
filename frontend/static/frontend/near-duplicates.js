// A test set's near-duplicate search (nearduplicates/near_duplicates.html): the searches with their progress, polled
// while one runs (its feature jobs first, then the shards' IVF indexes if any, then the search's shards), the form
// that starts one, each metric's threshold (changed in place, or back to the proposal), the number of candidates
// waiting for review, and the groups of duplicates with the candidate each keeps and why.

import { getJSON, request } from "./api.js";
import { toast } from "./ui.js";

const POLL_MS = 2000;
const GROUPS_SHOWN = 100;
const REASONS = {
  unique: "no duplicate",
  kept: "kept for its group",
  duplicate: "a duplicate of candidate {related}, which is kept",
  touches_reference: "the group holds reference image {related}",
  override_kept: "kept by hand",
  override_rejected: "rejected by hand",
};

const $ = (id) => document.getElementById(id);
const app = $("near-duplicates");
const urls = app.dataset;
const form = $("search-form");
let pollTimer = null;

function text(tag, content, className = "") {
  const element = document.createElement(tag);
  if (className) element.className = className;
  element.textContent = content;
  return element;
}

function showError(element, message) {
  element.textContent = message;
  element.hidden = !message;
}

// ---- Searches -------------------------------------------------------------------------------------------------------

/** Where a search stands: its feature jobs' images first, then its own shards. */
function progressOf(search) {
  const computing = search.feature_jobs.find((job) => !["done", "failed", "cancelled"].includes(job.state));
  if (computing) {
    const share = computing.images_total ? computing.images_done / computing.images_total : 0;
    return { share, caption: `features of ${computing.dataset}: ${computing.images_done} / ${computing.images_total}` };
  }
  if (search.state === "done") return { share: 1, caption: "done" };
  if (search.shards_building) {
    const share = search.images_total ? search.vectors_indexed / search.images_total : 0;
    return { share, caption: `IVF index: ${search.vectors_indexed} / ${search.images_total} vectors added` };
  }
  const share = search.shards_total ? search.shards_done / search.shards_total : 0;
  return { share, caption: `search: ${search.shards_done} / ${search.shards_total} shards` };
}

function searchRow(search) {
  const row = document.createElement("tr");
  row.dataset.search = String(search.id);
  const model = search.metric === "cnn" ? ` · ${search.architecture} (${search.weights || "DEFAULT"})` : "";
  let index = search.metric === "ssim" ? "" : ` · ${search.index}`;
  if (search.index === "ivf") index += `, nprobe ${search.nprobe}`;
  row.append(
    text("td", `#${search.id}`, "nowrap"),
    text("td", `${search.metric}, k ${search.k}${model}${index}`),
    text("td", search.against.join(", ")),
  );
  const state = document.createElement("td");
  const badge = text("span", search.state, "badge state-badge");
  badge.dataset.state = search.state;
  badge.dataset.field = "state";
  state.append(badge);
  if (search.error) state.append(text("div", search.error, "muted small"));
  const progress = document.createElement("td");
  progress.className = "table__progress";
  const { share, caption } = progressOf(search);
  const meter = document.createElement("div");
  meter.className = "meter meter--thin";
  meter.setAttribute("role", "progressbar");
  meter.setAttribute("aria-label", `Progress of search ${search.id}`);
  meter.setAttribute("aria-valuemin", "0");
  meter.setAttribute("aria-valuemax", "100");
  meter.setAttribute("aria-valuenow", String(Math.round(share * 100)));
  const bar = document.createElement("div");
  bar.className = "meter__bar";
  bar.style.width = `${Math.round(share * 100)}%`;
  meter.append(bar);
  progress.append(meter, text("span", caption, "table__caption"));
  const actions = document.createElement("td");
  if (!search.finished) {
    const cancel = text("button", "Cancel", "btn btn--ghost btn--small");
    cancel.type = "button";
    cancel.dataset.cancel = String(search.id);
    actions.append(cancel);
  }
  row.append(state, progress, text("td", search.neighbours_written ?? "—", "num"), actions);
  return row;
}

let running = false;

async function loadSearches() {
  clearTimeout(pollTimer);
  try {
    const { data } = await getJSON(urls.searchesUrl);
    showError($("searches-error"), "");
    $("searches-body").replaceChildren(...data.map(searchRow));
    $("searches-table").hidden = data.length === 0;
    $("no-searches").hidden = data.length > 0;
    const stillRunning = data.some((search) => !search.finished);
    // A search that just ended changed the thresholds and what waits for review.
    if (running && !stillRunning) loadOutcome();
    running = stillRunning;
    if (stillRunning) pollTimer = setTimeout(loadSearches, POLL_MS);
  } catch (error) {
    showError($("searches-error"), `The searches could not be loaded: ${error.message}`);
    pollTimer = setTimeout(loadSearches, POLL_MS * 5);
  }
}

$("searches-body").addEventListener("click", async (event) => {
  const button = event.target instanceof Element && event.target.closest("[data-cancel]");
  if (!button) return;
  button.disabled = true;
  try {
    await request(`${urls.searchesUrl}${button.dataset.cancel}/cancel/`, { method: "POST" });
    toast(`Search #${button.dataset.cancel} cancelled`);
  } catch (error) {
    toast(`Not cancelled: ${error.message}`);
  }
  loadSearches();
});

/** The model fields for CNN only, the index for metrics of vectors, nprobe for IVF. */
function showFields() {
  const metric = form.elements.namedItem("metric").value;
  const index = form.elements.namedItem("index");
  const show = (selector, shown) => {
    for (const field of form.querySelectorAll(selector)) field.hidden = !shown;
  };
  show("[data-cnn-field]", metric === "cnn");
  show("[data-vector-field]", metric !== "ssim");
  show("[data-ivf-field]", metric !== "ssim" && index.value === "ivf");
}

form.elements.namedItem("metric").addEventListener("change", showFields);
form.elements.namedItem("index").addEventListener("change", showFields);
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const metric = form.elements.namedItem("metric").value;
  const body = {
    metric,
    against: [...form.querySelectorAll('input[name="against"]:checked')].map((box) => box.value),
    k: Number(form.elements.namedItem("k").value),
  };
  if (metric !== "ssim") body.index = form.elements.namedItem("index").value;
  if (body.index === "ivf") body.nprobe = Number(form.elements.namedItem("nprobe").value);
  if (metric === "cnn") {
    body.architecture = form.elements.namedItem("architecture").value.trim();
    body.weights = form.elements.namedItem("weights").value.trim();
  }
  const submit = form.querySelector('[type="submit"]');
  submit.disabled = true;
  try {
    const { data } = await request(urls.searchesUrl, { method: "POST", body });
    showError($("search-error"), "");
    toast(`Search #${data.id} started`);
    running = true;
    loadSearches();
  } catch (error) {
    showError($("search-error"), `Not started: ${error.message}`);
  } finally {
    submit.disabled = false;
  }
});

// ---- Thresholds, waiting candidates, groups ---------------------------------------------------------------------------

const number = (value) => (Number.isInteger(value) ? String(value) : value.toPrecision(4));

function thresholdRow(threshold) {
  const row = document.createElement("tr");
  row.dataset.metric = threshold.metric;
  const cell = document.createElement("td");
  const input = document.createElement("input");
  input.type = "number";
  input.className = "input input--small nd-threshold";
  input.step = "any";
  input.min = "0";
  // Six significant digits: the stored float in full fills the field with noise and is cut off.
  input.value = String(Number(threshold.value.toPrecision(6)));
  input.name = `threshold-${threshold.metric}`;
  input.setAttribute("aria-label", `${threshold.metric} threshold`);
  input.dataset.testid = `threshold-${threshold.metric}`;
  cell.append(input);
  if (threshold.value !== threshold.proposed) {
    const back = text("button", "Back to proposal", "btn btn--link btn--small");
    back.type = "button";
    back.dataset.proposal = threshold.metric;
    cell.append(back);
  }
  // A first search sets the threshold to its proposal under the name of whoever started it: nobody chose that value.
  const who = threshold.set_by ? `${threshold.set_by}, ${threshold.set_at.slice(0, 10)}` : "";
  const setBy = threshold.value === threshold.proposed ? `the proposal${who ? ` (${who})` : ""}` : who;
  row.append(
    text("td", threshold.metric, "table__strong"),
    cell,
    text("td", number(threshold.proposed), "num"),
    text("td", String(threshold.under), "num"),
    text("td", String(threshold.waiting), "num"),
    text("td", setBy, "muted"),
  );
  return row;
}

function showThresholds(rows) {
  $("thresholds-body").replaceChildren(...rows.map(thresholdRow));
  $("thresholds-table").hidden = rows.length === 0;
  $("no-thresholds").hidden = rows.length > 0;
}

async function putThreshold(metric, value) {
  try {
    const { data } = await request(`${urls.thresholdsUrl}${metric}/`, { method: "PUT", body: { value } });
    showError($("thresholds-error"), "");
    showThresholds(data);
    toast(value === null ? `The ${metric} threshold is the proposal again` : `The ${metric} threshold is ${value}`);
    loadWaiting();
    loadGroups();
  } catch (error) {
    showError($("thresholds-error"), `The ${metric} threshold is unchanged: ${error.message}`);
  }
}

$("thresholds-body").addEventListener("change", (event) => {
  const input = event.target;
  if (!(input instanceof HTMLInputElement)) return;
  const metric = input.closest("tr").dataset.metric;
  if (input.value.trim() === "" || !input.checkValidity()) {
    showError($("thresholds-error"), `The ${metric} threshold must be a distance of 0 or more.`);
    return;
  }
  putThreshold(metric, Number(input.value));
});
$("thresholds-body").addEventListener("click", (event) => {
  const button = event.target instanceof Element && event.target.closest("[data-proposal]");
  if (button) putThreshold(button.dataset.proposal, null);
});

async function loadWaiting() {
  const link = $("review-link");
  try {
    const { data } = await getJSON(urls.reviewUrl);
    link.textContent = data.count
      ? `Review ${data.count} waiting candidate${data.count === 1 ? "" : "s"}`
      : "No candidate waits for review";
    link.classList.toggle("btn--primary", data.count > 0);
    link.classList.toggle("btn--ghost", data.count === 0);
  } catch (error) {
    link.textContent = "Review waiting candidates";
  }
}

function reasonText(member) {
  return (REASONS[member.reason] || member.reason).replace("{related}", String(member.related));
}

function groupRows(group, index) {
  return group.members.map((member, position) => {
    const row = document.createElement("tr");
    row.dataset.candidate = String(member.candidate);
    row.append(text("td", position === 0 ? `Group ${index + 1}` : "", "nowrap"));
    const cell = document.createElement("td");
    const link = text("a", member.file_name);
    link.title = `candidate ${member.candidate}`;
    link.href = `${urls.reviewPage}?candidate=${member.candidate}`;
    cell.append(link);
    const outcome = document.createElement("td");
    outcome.append(text("span", member.survives ? "survives" : "rejected", `badge ${member.survives ? "badge--done" : "badge--warn"}`));
    row.append(cell, outcome, text("td", reasonText(member)));
    return row;
  });
}

async function loadGroups() {
  try {
    const { data } = await getJSON(`${urls.groupsUrl}?limit=${GROUPS_SHOWN}`);
    showError($("groups-error"), "");
    $("groups-body").replaceChildren(...data.results.flatMap(groupRows));
    $("groups-table").hidden = data.results.length === 0;
    $("no-groups").hidden = data.results.length > 0;
    const more = $("groups-more");
    more.hidden = data.count <= data.results.length;
    more.textContent = `The first ${data.results.length} of ${data.count} groups; the CSV export has every neighbour.`;
  } catch (error) {
    showError($("groups-error"), `The groups could not be loaded: ${error.message}`);
  }
}

async function loadThresholds() {
  try {
    const { data } = await getJSON(urls.thresholdsUrl);
    showError($("thresholds-error"), "");
    showThresholds(data);
  } catch (error) {
    showError($("thresholds-error"), `The thresholds could not be loaded: ${error.message}`);
  }
}

function loadOutcome() {
  return Promise.all([loadThresholds(), loadWaiting(), loadGroups()]);
}

showFields();
Promise.all([loadSearches(), loadOutcome()]).then(() => {
  app.dataset.state = "ready";
});
