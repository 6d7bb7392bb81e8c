// What the save queue's events show: each verdict's and flag's save indicator, a conflict with someone
// else's change, the status banner while saving is in trouble, and the progress after each save.

import { toast } from "../ui.js";
import { countDownRetry, renderBanner, showError } from "./banner.js";
import { updateCandidate } from "./candidates.js";
import { renderFlag } from "./flag.js";
import { renderHistory } from "./history.js";
import { GONE, goNext, gone } from "./navigation.js";
import { queue, serverFlagReason, state } from "./page.js";
import { refreshProgress, showOwnCounts } from "./progress.js";

export function watchSaves() {
  queue.addEventListener("saved", onSaved);
  queue.addEventListener("failed", onFailed);
  queue.addEventListener("change", ({ detail }) => {
    document.body.dataset.pendingSaves = String(detail.pending);
    renderBanner(detail);
    refreshIndicators();
  });
  setInterval(countDownRetry, 1000);
}

function onSaved({ detail: { op, data } }) {
  const meta = op.meta || {};
  if (meta.kind === "verdict") {
    const waiting = queue.pendingFor(op.key);
    if (!waiting) state.itemStatus.set(meta.itemId, "saved");
    else if (data) waiting.body.based_on = data.verdict; // the next change of this item builds on this one
    updateCachedItem(meta.itemId, data);
    if (data && data.my_progress) showOwnCounts(data.my_progress);
  } else if (meta.kind === "flag") {
    const payload = state.cache.get(meta.imageId);
    if (payload) payload.problematic = op.method === "DELETE" ? null : data;
    const waiting = queue.pendingFor(op.key);
    if (!waiting) state.flagStatus.set(meta.imageId, "saved");
    else waiting.body.based_on = serverFlagReason(meta.imageId);
  }
  refreshIndicators();
  refreshProgress();
  renderHistory();
}

function onFailed({ detail: { op, error } }) {
  const meta = op.meta || {};
  if (meta.kind === "verdict" && error.status === 409 && error.data && error.data.current) {
    // Someone changed the item first: show what it is now, and keep the reviewer's change unsaved.
    updateCachedItem(meta.itemId, error.data.current);
    const waiting = queue.pendingFor(op.key);
    if (waiting) waiting.body.based_on = error.data.current.verdict;
    state.itemStatus.set(meta.itemId, "conflict");
    showError(error.data.detail);
    refreshIndicators();
    return;
  }
  if (meta.kind === "flag" && error.status === 409 && error.data) {
    const payload = state.cache.get(meta.imageId);
    if (payload) payload.problematic = error.data.current;
    const waiting = queue.pendingFor(op.key);
    if (waiting) waiting.body.based_on = serverFlagReason(meta.imageId);
    state.flagStatus.set(meta.imageId, "conflict");
    showError(error.data.detail);
    refreshIndicators();
    return;
  }
  if (gone(error) && state.image && state.image.id === meta.imageId) {
    // The image on screen was closed to this reviewer meanwhile: nothing about it can be saved any more.
    toast(GONE);
    goNext();
    return;
  }
  state.lastError = error.message;
  if (meta.kind === "verdict") state.itemStatus.set(meta.itemId, "error");
  if (meta.kind === "flag") state.flagStatus.set(meta.imageId, "error");
  const what = meta.kind === "flag" ? "the problematic flag" : `the verdict on “${meta.label || "a candidate"}”`;
  showError(`Could not save ${what}: ${error.message}.`);
  refreshIndicators();
}

function updateCachedItem(itemId, data) {
  if (!data) return;
  for (const payload of state.cache.values()) {
    const item = payload.items.find((candidate) => candidate.id === itemId);
    if (item) Object.assign(item, { verdict: data.verdict, verdict_by: data.verdict_by, verdict_at: data.verdict_at });
  }
}

function refreshIndicators() {
  if (!state.image) return;
  state.image.items.forEach((_, index) => updateCandidate(index));
  renderFlag();
}
