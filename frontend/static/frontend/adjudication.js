// The adjudication queue: one item at a time with every reviewer's vote; 1/2/3 decide, j/k move, z goes back
// to the last decided item so that it can be decided again.

import { getJSON, request, withRetry } from "./api.js";
import { isTyping } from "./ui.js";

const DECISIONS = { 1: "correct", c: "correct", 2: "wrong", w: "wrong", 3: "unclear", u: "unclear" };
const BATCH = 50;

const app = document.getElementById("adjudication-app");
const part = (role) => app.querySelector(`[data-role="${role}"]`);
const remainingBadge = document.querySelector('[data-testid="remaining"]');

const state = { items: [], index: 0, exhausted: false, decided: [], busy: false, remaining: 0 };

function percent(value) {
  return `${Math.round(value * 100)}%`;
}

function describePosterior(posterior) {
  if (!posterior) return "No posterior: reviewers' votes only.";
  return `Posterior: correct ${percent(posterior.correct)}, wrong ${percent(posterior.wrong)}, unclear ${percent(posterior.unclear)}`;
}

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

function render() {
  const item = state.items[state.index];
  part("loading").hidden = true;
  part("item").hidden = !item;
  part("empty").hidden = Boolean(item);
  remainingBadge.textContent = `${state.remaining} left`;
  if (!item) return;
  const image = part("image");
  image.hidden = !item.image.display_url;
  if (item.image.display_url) image.src = item.image.display_url;
  image.alt = `Image ${item.image.position}`;
  part("caption").textContent = item.image.display_url ? "" : "The image file is not available.";
  part("words").textContent = item.words.join(", ");
  part("wnid").textContent = item.wnid;
  part("gloss").textContent = item.gloss;
  part("original").textContent = item.is_original
    ? "This is the image's original label."
    : `Original label: ${item.image.original_words[0]} (${item.image.original_wnid}); ${item.model_count} model(s) predict this class.`;
  part("posterior").textContent = describePosterior(item.posterior);
  const rows = item.votes.map((vote) => {
    const row = document.createElement("tr");
    row.dataset.verdict = vote.verdict;
    row.append(cell(vote.reviewer), cell(vote.verdict.replace("_", " ")), cell(new Date(vote.at).toLocaleString()));
    return row;
  });
  part("votes").replaceChildren(...rows);
  for (const button of app.querySelectorAll("[data-decide]")) {
    button.setAttribute("aria-pressed", String(button.dataset.decide === item.verdict && item.source === "adjudication"));
  }
}

async function loadMore() {
  if (state.exhausted) return;
  const last = state.items[state.items.length - 1];
  const url = new URL(app.dataset.queueUrl, window.location.href);
  url.searchParams.set("limit", BATCH);
  if (last) url.searchParams.set("after", last.id);
  const { data } = await getJSON(url);
  const known = new Set(state.items.map((item) => item.id));
  state.items.push(...data.items.filter((item) => !known.has(item.id)));
  state.remaining = data.remaining;
  state.exhausted = data.items.length < BATCH;
}

function say(text) {
  part("status").textContent = text;
}

async function decide(verdict) {
  const item = state.items[state.index];
  if (!item || state.busy) return;
  state.busy = true;
  try {
    const url = app.dataset.decideUrl.replace("ID", item.id);
    await withRetry(() => request(url, { method: "POST", body: { verdict } }));
    const wasQueued = item.source !== "adjudication";
    state.decided.push({ ...item, verdict, source: "adjudication" });
    state.items.splice(state.index, 1);
    if (wasQueued) state.remaining = Math.max(0, state.remaining - 1);
    if (state.index >= state.items.length - 5) await loadMore();
    state.index = Math.min(state.index, Math.max(0, state.items.length - 1));
    say(`Decided ${item.words[0]}: ${verdict}.`);
  } catch (error) {
    say(`Not saved: ${error.message}`);
  } finally {
    state.busy = false;
    render();
  }
}

function move(step) {
  const next = state.index + step;
  if (next < 0 || next >= state.items.length) return;
  state.index = next;
  render();
}

function reopenLast() {
  const last = state.decided.pop();
  if (!last) return;
  state.items.splice(state.index, 0, last);
  say(`Back to ${last.words[0]}: decided ${last.verdict}; decide again to change it.`);
  render();
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) return;
  const key = event.key.toLowerCase();
  if (DECISIONS[key]) decide(DECISIONS[key]);
  else if (key === "j") move(1);
  else if (key === "k") move(-1);
  else if (key === "z") reopenLast();
  else return;
  event.preventDefault();
});

app.addEventListener("click", (event) => {
  const button = event.target.closest("[data-decide]");
  if (button) decide(button.dataset.decide);
});

loadMore()
  .then(render)
  .catch((error) => {
    part("loading").textContent = `Could not load the queue: ${error.message}`;
  });
