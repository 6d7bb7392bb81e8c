// The candidate labels of the image on screen, each with its verdict buttons and save indicator, the
// highlighted one that the verdict keys set, and the verdicts queued for saving.

import { guidePageUrl } from "../guide-panel.js";
import { SAVE_LABELS, config, effectiveVerdict, els, itemSaveState, queue, state, verdictKey } from "./page.js";

export function renderCandidates() {
  const image = state.image;
  const fragment = document.createDocumentFragment();
  image.items.forEach((item, index) => {
    const node = els.template.content.firstElementChild.cloneNode(true);
    node.dataset.wnid = item.wnid;
    node.dataset.itemId = item.id;
    node.dataset.index = index;
    node.id = `candidate-${item.id}`;
    const wnidLink = node.querySelector(".candidate__wnid");
    wnidLink.textContent = item.wnid;
    wnidLink.href = guidePageUrl(item.wnid);
    wnidLink.dataset.guideWnid = item.wnid;
    node.querySelector(".candidate__words").textContent = item.words.join(", ");
    node.querySelector(".candidate__gloss").textContent = item.gloss;
    const original = node.querySelector(".badge--original");
    original.hidden = !item.is_original;
    if (item.is_original) node.classList.add("is-original");
    const models = node.querySelector(".badge--models");
    models.textContent = item.model_count === 1 ? "1 model" : `${item.model_count} models`;
    models.title = `Top-1 prediction of ${item.model_count} model${item.model_count === 1 ? "" : "s"}`;
    if (item.model_count === 0) models.classList.add("badge--quiet");
    const suggested = (image.suggestions || []).filter((s) => s.kind === "label_correct" && s.wnid === item.wnid);
    if (suggested.length) {
      const badge = document.createElement("span");
      badge.className = "badge badge--suggested";
      badge.textContent = `suggested by ${suggested.map((s) => s.suggested_by).join(", ")}`;
      models.after(badge);
    }
    node.querySelector("legend").textContent = `Verdict for ${item.wnid} ${item.words[0]}`;
    for (const input of node.querySelectorAll('input[type="radio"]')) {
      input.name = `verdict-${item.id}`;
    }
    fragment.append(node);
    updateCandidate(index, node);
  });
  if (image.items.length === 0) {
    const none = document.createElement("li");
    none.className = "candidates__none muted";
    none.textContent = "This image has no candidate labels.";
    fragment.append(none);
  }
  els.candidates.replaceChildren(fragment);
  renderFocus(false);
}

export function candidateNode(index) {
  return els.candidates.children[index] || null;
}

export function updateCandidate(index, node = candidateNode(index)) {
  const item = state.image && state.image.items[index];
  if (!node || !item) return;
  const verdict = effectiveVerdict(item);
  node.dataset.verdict = verdict;
  for (const input of node.querySelectorAll('input[type="radio"]')) {
    input.checked = input.value === verdict;
  }
  const saveState = itemSaveState(item);
  const indicator = node.querySelector(".save-state");
  indicator.dataset.state = saveState;
  indicator.textContent = SAVE_LABELS[saveState] || "";
  indicator.title =
    saveState === "error" && state.lastError ? `Not saved: ${state.lastError}` : item.verdict_by ? `Last set by ${item.verdict_by}` : "";
}

export function renderFocus(scroll = true) {
  const nodes = els.candidates.querySelectorAll(".candidate");
  nodes.forEach((node, index) => {
    const focused = index === state.focus;
    node.classList.toggle("is-focused", focused);
    if (focused) node.setAttribute("aria-current", "true");
    else node.removeAttribute("aria-current");
  });
  const node = nodes[state.focus];
  if (scroll && node) node.scrollIntoView({ block: "nearest" });
}

export function moveFocus(delta) {
  if (!state.image || state.image.items.length === 0) return;
  state.focus = Math.max(0, Math.min(state.image.items.length - 1, state.focus + delta));
  renderFocus();
}

export function queueVerdict(image, item, verdict) {
  state.itemStatus.delete(item.id);
  queue.enqueue({
    key: verdictKey(item.id),
    method: "POST",
    url: config.verdictUrl(item.id),
    // The verdict as the server last confirmed it: if someone changed the item since, the server answers 409.
    body: { verdict, based_on: item.verdict },
    meta: { kind: "verdict", imageId: image.id, itemId: item.id, verdict, label: item.words[0] },
  });
}

export function setVerdict(index, verdict, { advance = true, record = true } = {}) {
  const image = state.image;
  const item = image && image.items[index];
  if (!item) return;
  const before = effectiveVerdict(item);
  if (before !== verdict) {
    if (record) state.undo.push({ kind: "verdict", imageId: image.id, itemId: item.id, before, after: verdict });
    queueVerdict(image, item, verdict);
  }
  updateCandidate(index);
  if (advance && index < image.items.length - 1) state.focus = index + 1;
  else state.focus = index;
  renderFocus();
}
