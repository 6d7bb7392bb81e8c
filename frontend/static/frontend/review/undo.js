// Undo (z, Ctrl+Z): the latest verdict or flag change goes back to what it was, on whichever image it was made.

import { toast } from "../ui.js";
import { queueVerdict, renderFocus, updateCandidate } from "./candidates.js";
import { queueFlag, renderFlag } from "./flag.js";
import { VERDICT_LABELS, state } from "./page.js";

export function undo() {
  const change = state.undo.pop();
  if (!change) {
    toast("Nothing to undo.");
    return;
  }
  const onScreen = state.image && state.image.id === change.imageId;
  if (change.kind === "verdict") {
    const payload = onScreen ? state.image : state.cache.get(change.imageId);
    const index = payload ? payload.items.findIndex((item) => item.id === change.itemId) : -1;
    if (index === -1) return;
    const item = payload.items[index];
    queueVerdict(payload, item, change.before);
    if (onScreen) {
      state.focus = index;
      updateCandidate(index);
      renderFocus();
    }
    toast(`Undone: ${item.words[0]} is ${VERDICT_LABELS[change.before]} again${onScreen ? "" : " (on an earlier image)"}.`);
  } else {
    queueFlag(change.imageId, change.before);
    if (onScreen) renderFlag();
    toast(`Undone: problematic flag ${change.before ? "restored" : "removed"}${onScreen ? "" : " (on an earlier image)"}.`);
  }
}
