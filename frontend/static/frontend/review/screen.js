// Showing an image: its pixels first (briefly waited for), then image, candidates, suggestions, flag and
// history swapped in together; the empty state; the address that names the image on screen.

import { decoded, decodedOrLate, preloadImage } from "../ui.js";
import { renderCandidates } from "./candidates.js";
import { closePanel, renderFlag } from "./flag.js";
import { renderHistory } from "./history.js";
import { app, effectiveVerdict, els, state } from "./page.js";
import { refreshProgress } from "./progress.js";
import { renderSuggestions } from "./suggestions.js";
import { saveTrail } from "./trail.js";

let showName = false;
let paintToken = 0; // which display call paints: a later one wins over one still waiting for its pixels

export function setMode(mode) {
  app.dataset.state = mode;
  els.body.hidden = mode !== "ready";
  els.empty.hidden = mode !== "empty";
  els.loading.hidden = mode !== "loading";
}

/** Show an image: wait (briefly) for its pixels, then swap image, candidates and flag together. */
export async function display(payload, preloaded = null) {
  state.cache.set(payload.id, payload);
  const token = ++paintToken;
  let img = null;
  if (payload.display_url) {
    img = preloaded && preloaded.dataset.src === payload.display_url ? preloaded : preloadImage(payload.display_url);
    if (!(img.complete && img.naturalWidth)) {
      await decodedOrLate(img);
      if (token !== paintToken) return;
    }
  }
  state.image = payload;
  showName = false;
  closePanel();
  const items = payload.items;
  const firstOpen = items.findIndex((item) => effectiveVerdict(item) === "unreviewed");
  state.focus = firstOpen === -1 ? 0 : firstOpen;

  const current = document.getElementById("review-image");
  if (img) {
    img.id = "review-image";
    img.className = "stage__image";
    img.alt = "Image under review";
    img.title = "Click or press o to open the original";
    img.hidden = false;
    if (current !== img) current.replaceWith(img);
    const broken = img.complete && !img.naturalWidth;
    showMissing(broken, "Could not load the image", "Press o to try the original file, or reload the page.");
    if (!img.complete) {
      img.addEventListener(
        "error",
        () => img.isConnected && showMissing(true, "Could not load the image", "Press o to try the original file."),
        { once: true },
      );
    }
  } else {
    current.hidden = true;
    current.removeAttribute("src");
    showMissing(true, "No image file yet", "This image is registered but its file has not been uploaded.");
  }
  els.original.hidden = !payload.original_url;
  if (payload.original_url) els.original.href = payload.original_url;
  renderCandidates();
  renderSuggestions();
  renderFlag();
  renderName();
  renderHistory();
  setMode("ready");
  saveTrail();
  showAddress(payload.id);

  const painted = () => {
    if (token !== paintToken) return;
    const at = performance.now();
    document.body.dataset.imageId = String(payload.id);
    window.__relabelPaintedAt = at;
    document.dispatchEvent(new CustomEvent("relabel:painted", { detail: { imageId: payload.id, at } }));
  };
  if (img && !(img.complete && img.naturalWidth)) {
    // Not decoded within the wait: report the paint once it has arrived.
    decoded(img).then(() => requestAnimationFrame(painted));
  } else {
    requestAnimationFrame(painted);
  }
}

function showMissing(missing, title, detail) {
  els.missing.hidden = !missing;
  els.frame.classList.toggle("is-missing", missing);
  if (missing) {
    els.missing.querySelector("strong").textContent = title;
    els.missing.querySelector("span").textContent = detail;
  }
}

export function showEmpty() {
  state.image = null;
  state.cursor = state.trail.length;
  paintToken += 1;
  closePanel();
  setMode("empty");
  refreshProgress();
  saveTrail();
  delete document.body.dataset.imageId;
  showAddress(null);
}

/** The address names the image on screen (?image=ID: a login on the way keeps it, where a fragment would be
 * lost), and the way back to a browsed list leads to its page of that image. */
export function showAddress(imageId) {
  const address = new URLSearchParams(location.search);
  if (imageId === null) address.delete("image");
  else address.set("image", String(imageId));
  history.replaceState(null, "", `${location.pathname}${address.size ? `?${address}` : ""}`);
  const back = document.querySelector('[data-testid="back-to-list"]');
  if (back) {
    const list = new URL(back.href);
    if (imageId === null) list.searchParams.delete("at");
    else list.searchParams.set("at", String(imageId));
    back.href = `${list.pathname}${list.search}`;
  }
}

function renderName() {
  els.fileName.hidden = !showName;
  els.fileName.textContent = state.image ? state.image.file_name : "";
  els.toggleName.setAttribute("aria-expanded", String(showName));
}

/** t: the image's file name shows, or t again hides it. */
export function toggleName() {
  if (!state.image) return;
  showName = !showName;
  renderName();
}

export function openOriginal() {
  if (state.image && state.image.original_url) window.open(state.image.original_url, "_blank", "noopener");
}
