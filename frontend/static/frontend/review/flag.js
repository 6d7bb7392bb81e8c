// The problematic flag of the image on screen: the box that shows it, the panel of reasons (with a note)
// that sets it, and the flag changes queued for saving.

import {
  REASON_LABELS,
  SAVE_LABELS,
  config,
  effectiveFlag,
  els,
  flagKey,
  flagSaveState,
  queue,
  serverFlagReason,
  state,
} from "./page.js";

// In the order of the panel's keys 1–6.
const REASONS = ["label_wrong_or_unclear", "drawing", "excessively_edited", "inappropriate", "other", "no_valid_label"];

export function renderFlag() {
  const image = state.image;
  if (!image) return;
  const flag = effectiveFlag(image);
  els.flagCheck.checked = Boolean(flag);
  els.flagBox.classList.toggle("is-flagged", Boolean(flag));
  els.flagBox.dataset.reason = flag ? flag.reason : "";
  els.flagSummary.textContent = flag ? REASON_LABELS[flag.reason] + (flag.note ? ` — “${flag.note}”` : "") : "";
  els.flagEdit.hidden = !flag;
  els.flagClear.hidden = !flag;
  const saveState = flagSaveState(image);
  els.flagState.dataset.state = saveState;
  els.flagState.textContent = SAVE_LABELS[saveState] || "";
}

export function queueFlag(imageId, flag) {
  state.flagStatus.delete(imageId);
  const basedOn = serverFlagReason(imageId);
  queue.enqueue({
    key: flagKey(imageId),
    method: flag ? "PUT" : "DELETE",
    url: config.problematicUrl(imageId),
    body: flag ? { reason: flag.reason, note: flag.note || "", based_on: basedOn } : { based_on: basedOn },
    meta: { kind: "flag", imageId, flag: flag ? { reason: flag.reason, note: flag.note || "" } : null },
  });
}

function sameFlag(a, b) {
  if (!a || !b) return !a && !b;
  return a.reason === b.reason && (a.note || "") === (b.note || "");
}

function setFlag(flag) {
  const image = state.image;
  if (!image) return;
  const before = effectiveFlag(image);
  if (sameFlag(before, flag)) return;
  state.undo.push({
    kind: "flag",
    imageId: image.id,
    before: before ? { reason: before.reason, note: before.note || "" } : null,
    after: flag,
  });
  queueFlag(image.id, flag);
  renderFlag();
}

export function clearFlag() {
  if (state.image && effectiveFlag(state.image)) setFlag(null);
}

export function openPanel() {
  if (!state.image) return;
  const flag = effectiveFlag(state.image);
  state.panelOpen = true;
  els.panel.hidden = false;
  els.flagCheck.setAttribute("aria-expanded", "true");
  els.panelError.hidden = true;
  for (const input of els.panel.querySelectorAll('input[name="reason"]')) {
    input.checked = Boolean(flag) && input.value === flag.reason;
  }
  els.note.value = flag ? flag.note || "" : "";
  const checked = els.panel.querySelector('input[name="reason"]:checked');
  (checked || els.panel.querySelector('input[name="reason"]')).focus({ preventScroll: true });
}

export function closePanel() {
  if (!state.panelOpen) return;
  state.panelOpen = false;
  els.panel.hidden = true;
  els.flagCheck.setAttribute("aria-expanded", "false");
  if (els.panel.contains(document.activeElement)) document.activeElement.blur();
}

/** The panel's keys: 1–6 a reason, Enter saves, Escape or p closes; the rest stay the panel's own. */
export function handlePanelKey(event) {
  const { key } = event;
  if (key >= "1" && key <= "6") {
    pickReason(REASONS[Number(key) - 1]);
  } else if (key === "Enter") {
    savePanel();
  } else if (key === "Escape" || key === "p") {
    closePanel();
  } else if (key === "ArrowDown" || key === "ArrowUp" || key === " " || key === "Tab") {
    return; // native movement between the reasons and buttons
  }
  event.preventDefault();
}

function pickReason(reason) {
  const input = els.panel.querySelector(`input[name="reason"][value="${reason}"]`);
  input.checked = true;
  if (reason === "other") {
    els.note.focus();
  } else {
    savePanel();
  }
}

export function savePanel() {
  const checked = els.panel.querySelector('input[name="reason"]:checked');
  if (!checked) {
    panelError("Pick a reason (keys 1–6).");
    return;
  }
  const note = els.note.value.trim();
  if (checked.value === "other" && !note) {
    panelError("Say in the note what is wrong with the image.");
    els.note.focus();
    return;
  }
  setFlag({ reason: checked.value, note });
  closePanel();
}

function panelError(message) {
  els.panelError.textContent = message;
  els.panelError.hidden = false;
}
