// Keyboard and mouse (press ? on the page for the keys). Letters go by the Shift key alone, so that Caps
// Lock does not turn p (flag) into P (clear); keys typed into a field are the field's.

import { closeGuidePanel, guidePanelWnid, openGuidePanel } from "../guide-panel.js";
import { isTyping } from "../ui.js";
import { candidateNode, moveFocus, renderFocus, setVerdict } from "./candidates.js";
import { clearFlag, closePanel, handlePanelKey, openPanel, renderFlag, savePanel } from "./flag.js";
import { toggleHistory } from "./history.js";
import { goNext, goPrev } from "./navigation.js";
import { app, effectiveFlag, els, state } from "./page.js";
import { openOriginal, toggleName } from "./screen.js";
import { SUGGESTION_KEYS, resolveFirstSuggestion } from "./suggestions.js";
import { undo } from "./undo.js";

const VERDICT_KEYS = {
  1: "correct",
  2: "wrong",
  3: "unclear",
  4: "dont_know",
  5: "unreviewed",
  0: "unreviewed",
  c: "correct",
  w: "wrong",
  u: "unclear",
  d: "dont_know",
};

let sheetOpen = false;

function toggleSheet(open = !sheetOpen) {
  sheetOpen = open;
  els.sheet.hidden = !open;
  els.sheetButton.setAttribute("aria-expanded", String(open));
  if (open) els.sheetClose.focus({ preventScroll: true });
  else if (els.sheet.contains(document.activeElement)) document.activeElement.blur();
}

/** g: the labeling guide of the highlighted candidate in the side panel; g again closes it. */
function toggleGuide() {
  const item = state.image && state.image.items[state.focus];
  if (!item) return;
  if (guidePanelWnid() === item.wnid) closeGuidePanel();
  else openGuidePanel(item.wnid, { opener: candidateNode(state.focus) });
}

function onKeyDown(event) {
  if (event.defaultPrevented || event.isComposing) return;
  if (isTyping(event.target)) return;
  let { key } = event;
  if (key.length === 1 && /[a-z]/i.test(key)) key = event.shiftKey ? key.toUpperCase() : key.toLowerCase();
  const command = event.ctrlKey || event.metaKey;
  if (command && !event.altKey && !event.shiftKey && key === "z") {
    event.preventDefault();
    undo();
    return;
  }
  if (command || event.altKey) return;
  if (sheetOpen) {
    if (key === "?" || key === "Escape") {
      event.preventDefault();
      toggleSheet(false);
    }
    return;
  }
  if (state.panelOpen) {
    handlePanelKey(event);
    return;
  }
  if (key === "?") {
    toggleSheet(true);
    event.preventDefault();
    return;
  }
  const ready = app.dataset.state === "ready" && state.image;
  let handled = true;
  if (key === "n" || key === "ArrowRight") goNext();
  else if (key === "b" || key === "ArrowLeft") goPrev();
  else if (key === "z") undo();
  else if (!ready) handled = false;
  else if (key === "j" || key === "ArrowDown") moveFocus(1);
  else if (key === "k" || key === "ArrowUp") moveFocus(-1);
  else if (Object.hasOwn(VERDICT_KEYS, key)) setVerdict(state.focus, VERDICT_KEYS[key]);
  else if (Object.hasOwn(SUGGESTION_KEYS, key)) resolveFirstSuggestion(SUGGESTION_KEYS[key]);
  else if (key === "p") openPanel();
  else if (key === "P") clearFlag();
  else if (key === "t") toggleName();
  else if (key === "o") openOriginal();
  else if (key === "g") toggleGuide();
  else if (key === "h") toggleHistory();
  else if (key === "Escape") closePanel();
  else handled = false;
  if (handled) event.preventDefault();
}

export function listenToInput() {
  document.addEventListener("keydown", onKeyDown);

  els.note.addEventListener("keydown", (event) => {
    if (event.isComposing) return;
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      savePanel();
    } else if (event.key === "Escape") {
      event.preventDefault();
      closePanel();
    }
  });

  els.candidates.addEventListener("change", (event) => {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || input.type !== "radio") return;
    const node = input.closest(".candidate");
    setVerdict(Number(node.dataset.index), input.value, { advance: false });
  });

  els.candidates.addEventListener("pointerdown", (event) => {
    const node = event.target.closest(".candidate");
    if (!node) return;
    state.focus = Number(node.dataset.index);
    renderFocus(false);
  });

  els.frame.addEventListener("click", (event) => {
    if (event.target.id === "review-image") openOriginal();
  });

  els.flagCheck.addEventListener("change", () => {
    // The box shows the flag: ticking it opens the reasons (the tick stays once one is saved),
    // unticking it clears the flag.
    if (!state.image) return;
    if (effectiveFlag(state.image)) clearFlag();
    else if (state.panelOpen) closePanel();
    else openPanel();
    renderFlag();
  });

  els.panel.addEventListener("change", (event) => {
    if (event.target.name === "reason") {
      els.panelError.hidden = true;
      if (event.target.value === "other") els.note.focus();
    }
  });

  els.flagEdit.addEventListener("click", openPanel);
  els.flagClear.addEventListener("click", clearFlag);
  els.panelSave.addEventListener("click", savePanel);
  els.panelCancel.addEventListener("click", closePanel);
  els.toggleName.addEventListener("click", toggleName);
  els.next.addEventListener("click", goNext);
  els.prev.addEventListener("click", goPrev);
  els.emptyPrev.addEventListener("click", goPrev);
  els.emptyRetry.addEventListener("click", goNext);
  els.sheetButton.addEventListener("click", () => toggleSheet());
  els.sheetClose.addEventListener("click", () => toggleSheet(false));
  els.sheet.addEventListener("click", (event) => {
    if (event.target === els.sheet) toggleSheet(false);
  });
}
