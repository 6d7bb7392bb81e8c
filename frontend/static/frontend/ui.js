// Small pieces every screen shares: when a key is a shortcut, the passing message, and images that are
// decoded before they go on screen.

// Inputs that take no typing: a key pressed on one of them is still a shortcut.
const KEYLESS_INPUTS = new Set(["radio", "checkbox", "button", "submit", "reset", "range", "color"]);
const TOAST_MS = 3500;
// How long a screen waits for an image's pixels before it shows the image as it arrives.
const DECODE_WAIT_MS = 2000;

/** Whether the person is typing into a field, where keys are text rather than shortcuts. */
export function isTyping(target) {
  if (!(target instanceof Element)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  if (tag === "TEXTAREA" || tag === "SELECT") return true;
  return tag === "INPUT" && !KEYLESS_INPUTS.has(target.type);
}

let toastTimer = null;

/** A short message in the page's #toast that goes away by itself. */
export function toast(message) {
  const element = document.getElementById("toast");
  element.textContent = message;
  element.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    element.hidden = true;
  }, TOAST_MS);
}

/** Hide the toast now: what it said no longer holds. */
export function dismissToast() {
  clearTimeout(toastTimer);
  document.getElementById("toast").hidden = true;
}

/** Resolves once the image is decoded, or once it failed to be. */
export function decoded(img) {
  return img.decode().catch(() => {});
}

/** Resolves once the image is decoded, failed, or kept the screen waiting long enough. */
export function decodedOrLate(img) {
  return Promise.race([decoded(img), new Promise((resolve) => setTimeout(resolve, DECODE_WAIT_MS))]);
}

/** An image loading and decoding off screen; data-src keeps the address it was asked for. */
export function preloadImage(url) {
  const img = new Image();
  img.decoding = "async";
  img.dataset.src = url;
  img.src = url;
  decoded(img);
  return img;
}

// What a SaveQueue's "change" event says, in a page's save-state line: saving, retrying, or `savedText` once all is
// saved; `app.dataset.pending` tells tests how many saves are still on their way.
export function showSaveState(app, element, detail, savedText) {
  app.dataset.pending = String(detail.pending);
  const saving = detail.pending > 0;
  element.dataset.state = detail.status === "retrying" ? "error" : saving ? "saving" : "saved";
  element.textContent = detail.status === "retrying" ? "Not saved yet: retrying" : saving ? "Saving…" : savedText;
}

// A page's "?" sheet of keys, opened and closed by its button, its close button and what `toggle` is called from;
// closing it hands the focus back through `restoreFocus`. Returns toggle(open = whether it is hidden now).
export function keysSheet(sheet, button, close, restoreFocus) {
  const toggle = (open = sheet.hidden) => {
    sheet.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
    if (open) close.focus();
    else restoreFocus();
  };
  button.addEventListener("click", () => toggle());
  close.addEventListener("click", () => toggle(false));
  return toggle;
}
