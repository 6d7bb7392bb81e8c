// The review screen: one image, its candidate labels with a verdict each, a problematic flag.
// Keyboard driven (press ? on the page for the keys); every change is saved at once through the
// ordered SaveQueue of api.js, shown optimistically with a per-candidate save indicator.

import { ApiError, SaveQueue, getJSON, request } from "./api.js";
import { closeGuidePanel, guidePageUrl, guidePanelWnid, initGuidePanel, openGuidePanel } from "./guide-panel.js";
import { imagesBeside } from "./image-list.js";

const VERDICT_LABELS = {
  correct: "Correct",
  wrong: "Wrong",
  unclear: "Unclear",
  dont_know: "Don't know",
  unreviewed: "Unreviewed",
};
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
// The keys of the first open suggestion's two buttons.
const SUGGESTION_KEYS = { a: "accepted", x: "dismissed" };
const REASONS = ["label_wrong_or_unclear", "drawing", "excessively_edited", "inappropriate", "other", "no_valid_label"];
const REASON_LABELS = {
  label_wrong_or_unclear: "Original label wrong or unclear",
  drawing: "Drawing, painting, sketch, cartoon or render",
  excessively_edited: "Excessively edited",
  inappropriate: "Inappropriate",
  other: "Other",
  no_valid_label: "No valid label",
};
const SAVE_LABELS = { saving: "Saving…", saved: "Saved", error: "Not saved", waiting: "Waiting…", conflict: "Changed meanwhile" };
const DECODE_WAIT_MS = 2000;
const PREFETCH_MAX_AGE_MS = 8 * 60 * 1000; // the server's leases last 10 minutes
const LEASE_RENEW_MS = 3 * 60 * 1000; // while an image stays on screen, its lease is renewed this often
const TRAIL_LIMIT = 500;
const RECENT_LOOKAHEAD = 50; // the reviewer's recent images asked for at once, some perhaps on the trail already

const app = document.getElementById("review-app");
const $ = (id) => document.getElementById(id);
const els = {
  body: $("review-body"),
  frame: $("image-frame"),
  missing: $("image-missing"),
  fileName: $("file-name"),
  toggleName: $("toggle-name"),
  original: $("open-original"),
  prev: $("prev-button"),
  next: $("next-button"),
  candidates: $("candidates"),
  suggestions: $("suggestions"),
  template: $("candidate-template"),
  flagBox: $("problematic"),
  flagCheck: $("problematic-check"),
  flagSummary: $("problematic-summary"),
  flagState: $("flag-save-state"),
  flagEdit: $("problematic-edit"),
  flagClear: $("problematic-clear"),
  panel: $("problematic-panel"),
  note: $("problematic-note"),
  panelError: $("problematic-error"),
  panelSave: $("problematic-save"),
  panelCancel: $("problematic-cancel"),
  empty: $("empty-state"),
  emptyPrev: $("empty-prev"),
  emptyRetry: $("empty-retry"),
  loading: $("loading"),
  banner: $("status-banner"),
  progress: $("progress"),
  sheet: $("shortcut-sheet"),
  sheetButton: $("shortcut-button"),
  sheetClose: $("sheet-close"),
  toast: $("toast"),
};

const config = {
  dataset: app.dataset.dataset,
  wnid: app.dataset.wnid || "",
  nextUrl: app.dataset.nextUrl,
  imageUrl: (id) => fill(app.dataset.imageUrl, id),
  verdictUrl: (id) => fill(app.dataset.verdictUrl, id),
  problematicUrl: (id) => fill(app.dataset.problematicUrl, id),
  historyUrl: (id) => fill(app.dataset.historyUrl, id),
  leaseUrl: (id) => fill(app.dataset.leaseUrl, id),
  resolveUrl: (id) => fill(app.dataset.resolveUrl, id),
  progressUrl: app.dataset.progressUrl,
  datasetUrl: app.dataset.datasetUrl,
  loginUrl: app.dataset.loginUrl,
  imagesUrl: app.dataset.imagesUrl,
  list: app.dataset.list ?? null, // the image browser's list that previous and next walk (?list=...); null: the queue
};

/** An API address from one reversed with the id 0, e.g. /api/images/0/problematic/. */
function fill(template, id) {
  const at = template.lastIndexOf("/0/");
  return `${template.slice(0, at)}/${encodeURIComponent(id)}/${template.slice(at + 3)}`;
}

const queue = new SaveQueue({ storageKey: "relabel:save-queue" });
const trailKey = `relabel:trail:${config.dataset}:${config.wnid}`;

const state = {
  image: null, // the payload on screen
  focus: 0, // index of the highlighted candidate
  trail: [], // ids of the images seen in this session, oldest first
  cursor: -1, // index in trail of the image on screen; trail.length while the empty state shows
  prefetch: null, // {afterId, promise -> {payload, img} | null | undefined (failed)}
  undo: [],
  cache: new Map(), // image id -> latest payload
  itemStatus: new Map(), // item id -> saved | error
  flagStatus: new Map(), // image id -> saved | error
  showName: false,
  showHistory: false,
  sheetOpen: false,
  panelOpen: false,
  busy: false,
  paintToken: 0,
  lastError: null,
  bannerTimer: null,
};

// ---------------------------------------------------------------------------------------------
// Effective values: what the server has, overlaid with changes still waiting in the queue.

const verdictKey = (itemId) => `verdict:${itemId}`;
const flagKey = (imageId) => `flag:${imageId}`;

function effectiveVerdict(item) {
  const op = queue.pendingFor(verdictKey(item.id));
  return op ? op.meta.verdict : item.verdict;
}

function effectiveFlag(image) {
  const op = queue.pendingFor(flagKey(image.id));
  return op ? op.meta.flag : image.problematic;
}

function itemSaveState(item) {
  if (queue.pendingFor(verdictKey(item.id))) return queue.status === "idle" || queue.status === "saving" ? "saving" : "waiting";
  return state.itemStatus.get(item.id) || "idle";
}

function flagSaveState(image) {
  if (queue.pendingFor(flagKey(image.id))) return queue.status === "idle" || queue.status === "saving" ? "saving" : "waiting";
  return state.flagStatus.get(image.id) || "idle";
}

// ---------------------------------------------------------------------------------------------
// Rendering

function renderCandidates() {
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

// Suggestions from trainees (label is correct, image is problematic), shown above the candidates until
// a reviewer accepts or dismisses them; either reloads the image as the server has it then.

function renderSuggestions() {
  const suggestions = state.image.suggestions || [];
  els.suggestions.hidden = suggestions.length === 0;
  els.suggestions.replaceChildren(
    ...suggestions.map((suggestion, index) => {
      const node = document.createElement("div");
      node.className = "suggestion";
      node.dataset.suggestionId = suggestion.id;
      node.dataset.kind = suggestion.kind;
      const text = document.createElement("div");
      text.className = "suggestion__text";
      const who = document.createElement("strong");
      who.textContent = suggestion.suggested_by;
      if (suggestion.kind === "label_correct") {
        const link = document.createElement("a");
        link.href = `/guide/wnid/${encodeURIComponent(suggestion.wnid)}/`;
        link.dataset.guideWnid = suggestion.wnid;
        link.textContent = suggestion.wnid;
        const label = ` suggests “${suggestion.words.join(", ")}” (`;
        text.append(who, document.createTextNode(label), link, document.createTextNode(") is correct"));
      } else {
        const reason = REASON_LABELS[suggestion.reason] || suggestion.reason;
        text.append(who, document.createTextNode(` suggests the image is problematic: ${reason}`));
      }
      if (suggestion.note) {
        const note = document.createElement("span");
        note.className = "suggestion__note";
        note.textContent = `“${suggestion.note}”`;
        text.append(note);
      }
      const actions = document.createElement("div");
      actions.className = "suggestion__actions";
      for (const [resolution, label] of [
        ["accepted", suggestion.kind === "label_correct" ? "Accept: correct" : "Accept: flag"],
        ["dismissed", "Dismiss"],
      ]) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = `btn btn--small ${resolution === "accepted" ? "btn--primary" : "btn--ghost"}`;
        button.dataset.resolution = resolution;
        button.textContent = label;
        if (index === 0) {
          const key = document.createElement("kbd");
          key.textContent = Object.keys(SUGGESTION_KEYS).find((k) => SUGGESTION_KEYS[k] === resolution);
          button.append(" ", key);
        }
        button.addEventListener("click", () => resolveSuggestion(suggestion, resolution));
        actions.append(button);
      }
      node.append(text, actions);
      return node;
    }),
  );
}

async function resolveSuggestion(suggestion, resolution) {
  const image = state.image;
  if (!image) return;
  for (const button of els.suggestions.querySelectorAll("button")) button.disabled = true;
  try {
    await queue.idle(3000); // the verdicts already made on this image go first
    const { data } = await request(config.resolveUrl(suggestion.id), { method: "POST", body: { resolution } });
    if (state.image && state.image.id === image.id) await display(data);
    toast(resolution === "accepted" ? "Suggestion accepted." : "Suggestion dismissed.");
    loadProgress(); // an accepted label is a verdict of the reviewer's: counted at once, as a verdict's save is
  } catch (error) {
    showError(`Could not resolve the suggestion: ${error.message}.`);
    for (const button of els.suggestions.querySelectorAll("button")) button.disabled = false;
  }
}

/** a / x: what the first open suggestion's Accept / Dismiss button does. */
function resolveFirstSuggestion(resolution) {
  const suggestion = (state.image.suggestions || [])[0];
  if (!suggestion) {
    toast("This image has no suggestion to accept or dismiss.");
    return;
  }
  const button = els.suggestions.querySelector(`button[data-resolution="${resolution}"]`);
  if (button && !button.disabled) resolveSuggestion(suggestion, resolution);
}

function candidateNode(index) {
  return els.candidates.children[index] || null;
}

function updateCandidate(index, node = candidateNode(index)) {
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

function renderFocus(scroll = true) {
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

function renderFlag() {
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

function renderName() {
  els.fileName.hidden = !state.showName;
  els.fileName.textContent = state.image ? state.image.file_name : "";
  els.toggleName.setAttribute("aria-expanded", String(state.showName));
}

function setMode(mode) {
  app.dataset.state = mode;
  els.body.hidden = mode !== "ready";
  els.empty.hidden = mode !== "empty";
  els.loading.hidden = mode !== "loading";
}

/** Show an image: wait (briefly) for its pixels, then swap image, candidates and flag together. */
async function display(payload, preloaded = null) {
  state.cache.set(payload.id, payload);
  const token = ++state.paintToken;
  let img = null;
  if (payload.display_url) {
    img = preloaded && preloaded.dataset.src === payload.display_url ? preloaded : preloadImage(payload.display_url);
    if (!(img.complete && img.naturalWidth)) {
      await Promise.race([img.decode().catch(() => {}), new Promise((r) => setTimeout(r, DECODE_WAIT_MS))]);
      if (token !== state.paintToken) return;
    }
  }
  state.image = payload;
  state.showName = false;
  closePanel();
  const items = payload.items;
  const firstOpen = items.findIndex((item) => effectiveVerdict(item) === "unreviewed");
  state.focus = firstOpen === -1 ? 0 : firstOpen;

  const current = $("review-image");
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
    if (token !== state.paintToken) return;
    const at = performance.now();
    document.body.dataset.imageId = String(payload.id);
    window.__relabelPaintedAt = at;
    document.dispatchEvent(new CustomEvent("relabel:painted", { detail: { imageId: payload.id, at } }));
  };
  if (img && !(img.complete && img.naturalWidth)) {
    // Not decoded within the wait: report the paint once it has arrived.
    img.decode().catch(() => {}).then(() => requestAnimationFrame(painted));
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

function preloadImage(url) {
  const img = new Image();
  img.decoding = "async";
  img.dataset.src = url;
  img.src = url;
  img.decode().catch(() => {});
  return img;
}

function showEmpty() {
  state.image = null;
  state.cursor = state.trail.length;
  state.paintToken += 1;
  closePanel();
  setMode("empty");
  refreshProgress();
  saveTrail();
  delete document.body.dataset.imageId;
  showAddress(null);
}

/** The address names the image on screen (?image=ID: a login on the way keeps it, where a fragment would be
 * lost), and the way back to a browsed list leads to its page of that image. */
function showAddress(imageId) {
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

// ---------------------------------------------------------------------------------------------
// The trail of images seen in this session (kept across reloads of the tab)

function loadTrail() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(trailKey) || "null");
    if (saved && Array.isArray(saved.trail)) {
      state.trail = saved.trail.filter((id) => Number.isInteger(id));
      state.cursor = Math.min(saved.cursor ?? state.trail.length, state.trail.length);
    }
  } catch {
    state.trail = [];
  }
}

function saveTrail() {
  try {
    sessionStorage.setItem(trailKey, JSON.stringify({ trail: state.trail, cursor: state.cursor }));
  } catch {
    // Not kept across reloads then.
  }
}

function pushTrail(id) {
  state.trail.push(id);
  if (state.trail.length > TRAIL_LIMIT) state.trail.splice(0, state.trail.length - TRAIL_LIMIT);
  state.cursor = state.trail.length - 1;
}

// ---------------------------------------------------------------------------------------------
// Loading images

function nextUrl({ after, keep = [] } = {}) {
  const params = new URLSearchParams({ dataset: config.dataset });
  if (config.wnid) params.set("wnid", config.wnid);
  if (after !== undefined && after !== null) params.set("after", String(after));
  for (const id of keep) params.append("keep", String(id));
  return `${config.nextUrl}?${params}`;
}

/** The next image of the queue (leased to this reviewer), or null when the queue is empty. */
async function loadNext(options) {
  const { status, data } = await getJSON(nextUrl(options));
  return status === 204 || !data ? null : data;
}

async function loadImage(id) {
  try {
    const { data } = await getJSON(config.imageUrl(id));
    return data;
  } catch (error) {
    if (error instanceof ApiError && error.retryable && state.cache.has(id)) {
      toast("Offline: showing this image as it was when you last saw it.");
      return state.cache.get(id);
    }
    throw error;
  }
}

function startPrefetch() {
  const image = state.image;
  if (config.list !== null) return; // a list's images are not the queue's: none is leased
  if (!image || state.cursor !== state.trail.length - 1) return;
  if (state.prefetch && state.prefetch.afterId === image.id && Date.now() - state.prefetch.at < PREFETCH_MAX_AGE_MS) return;
  const promise = (async () => {
    try {
      const payload = await loadNext({ after: image.position, keep: [image.id] });
      if (!payload) return null;
      return { payload, img: payload.display_url ? preloadImage(payload.display_url) : null };
    } catch {
      return undefined;
    }
  })();
  state.prefetch = { afterId: image.id, promise, at: Date.now() };
}

async function navigate(work) {
  if (state.busy) return;
  state.busy = true;
  const slow = setTimeout(() => app.classList.add("is-busy"), 150);
  try {
    await work();
  } catch (error) {
    showError(`Could not load the image: ${error.message}.`, { action: "Try again", onAction: () => navigate(work) });
  } finally {
    clearTimeout(slow);
    app.classList.remove("is-busy");
    state.busy = false;
  }
}

const GONE =
  "An image you saw is no longer available to you (removed, or in an evaluation phase you take part in): skipped.";

/** Whether an error says the image is not there for this reviewer any more (a 404 reads the same either way). */
function gone(error) {
  return error instanceof ApiError && error.status === 404;
}

/** The trail's image at `index`, or null where it is gone: then it leaves the trail, with a word to the reviewer. */
async function loadFromTrail(index) {
  try {
    return await loadImage(state.trail[index]);
  } catch (error) {
    if (!gone(error)) throw error;
    state.trail.splice(index, 1);
    if (state.cursor > index) state.cursor -= 1;
    saveTrail();
    toast(GONE);
    return null;
  }
}

function goNext() {
  if (config.list !== null) return walkList("after");
  return navigate(async () => {
    while (state.cursor < state.trail.length - 1) {
      const payload = await loadFromTrail(state.cursor + 1);
      if (!payload) continue;
      state.cursor += 1;
      await display(payload);
      startPrefetch();
      return;
    }
    const current = state.image;
    let result = null;
    const fresh = state.prefetch && Date.now() - state.prefetch.at < PREFETCH_MAX_AGE_MS;
    if (current && fresh && state.prefetch.afterId === current.id) {
      result = await state.prefetch.promise;
      state.prefetch = null;
    }
    if (!result) {
      // Nothing was waiting: ask again once this image's saves have landed.
      await queue.idle(3000);
      const last = current || state.cache.get(state.trail[state.trail.length - 1]);
      const payload = await loadNext({ after: last ? last.position : undefined });
      result = payload ? { payload, img: null } : null;
      if (payload && current && payload.id === current.id) {
        toast("This is the only image left in the queue with unreviewed candidates.");
      }
    }
    if (!result) {
      if (!current) toast("Still nothing to review in this queue.");
      showEmpty();
      return;
    }
    pushTrail(result.payload.id);
    await display(result.payload, result.img);
    startPrefetch();
  });
}

function goPrev() {
  if (config.list !== null) return walkList("before");
  return navigate(async () => {
    if (state.cursor <= 0 || state.trail.length === 0) {
      await showEarlierOfMine();
      return;
    }
    const before = state.trail.length;
    for (let target = state.cursor - 1; target >= 0; target -= 1) {
      const payload = await loadFromTrail(target);
      if (!payload) continue;
      state.cursor = target;
      await display(payload);
      startPrefetch();
      return;
    }
    // Where images were skipped, their message stays on screen.
    if (state.trail.length === before) await showEarlierOfMine();
  });
}

/** b before the trail's first image: the reviewer's own image they gave a verdict before it, asked of the server, so
 * that previous goes on in a new tab or after logging in again. It becomes the trail's first. */
async function showEarlierOfMine() {
  const first = state.trail.length ? state.trail[0] : null;
  const recent = await imagesBeside(config.imagesUrl, "sort=recent", first, "after", RECENT_LOOKAHEAD);
  const earlier = recent.find((image) => !state.trail.includes(image.id));
  if (!earlier) {
    toast("No earlier image: you gave no verdict here before this one.");
    return;
  }
  const payload = await loadImage(earlier.id);
  state.trail.unshift(payload.id);
  state.cursor = 0;
  await display(payload);
}

/** n and b on a list of the image browser: its next or previous image, whatever the queue holds. */
function walkList(side) {
  return navigate(async () => {
    const current = state.image;
    const [listed] = await imagesBeside(config.imagesUrl, config.list, current ? current.id : null, side);
    if (!listed) {
      toast(side === "after" ? "This is the last image of the list." : "This is the first image of the list.");
      return;
    }
    const payload = await loadImage(listed.id);
    pushTrail(payload.id);
    await display(payload);
  });
}

/** The first image of the list the page walks, or null where it has none. */
async function firstOfList() {
  const [first] = await imagesBeside(config.imagesUrl, config.list, null);
  return first ? loadImage(first.id) : null;
}

// ---------------------------------------------------------------------------------------------
// Changes: verdicts, the problematic flag, undo

function queueVerdict(image, item, verdict) {
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

function setVerdict(index, verdict, { advance = true, record = true } = {}) {
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

/** The flag's reason as the server last confirmed it ("" for none): a change made meanwhile is answered 409. */
function serverFlagReason(imageId) {
  const payload = state.cache.get(imageId);
  return (payload && payload.problematic && payload.problematic.reason) || "";
}

function queueFlag(imageId, flag) {
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

function undo() {
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

// The problematic panel

function openPanel() {
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

function closePanel() {
  if (!state.panelOpen) return;
  state.panelOpen = false;
  els.panel.hidden = true;
  els.flagCheck.setAttribute("aria-expanded", "false");
  if (els.panel.contains(document.activeElement)) document.activeElement.blur();
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

function savePanel() {
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

function clearFlag() {
  if (state.image && effectiveFlag(state.image)) setFlag(null);
}

// ---------------------------------------------------------------------------------------------
// Queue feedback: indicators, the status banner, progress

queue.addEventListener("saved", ({ detail: { op, data } }) => {
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
});

function updateCachedItem(itemId, data) {
  if (!data) return;
  for (const payload of state.cache.values()) {
    const item = payload.items.find((candidate) => candidate.id === itemId);
    if (item) Object.assign(item, { verdict: data.verdict, verdict_by: data.verdict_by, verdict_at: data.verdict_at });
  }
}

queue.addEventListener("failed", ({ detail: { op, error } }) => {
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
});

queue.addEventListener("change", ({ detail }) => {
  document.body.dataset.pendingSaves = String(detail.pending);
  renderBanner(detail);
  refreshIndicators();
});

function refreshIndicators() {
  if (!state.image) return;
  state.image.items.forEach((_, index) => updateCandidate(index));
  renderFlag();
}

let bannerMode = "hidden";

function renderBanner({ pending, status, error, retryAt }) {
  const changes = `${pending} change${pending === 1 ? "" : "s"} waiting`;
  if (status === "retrying") {
    const offline = !error || error.status === 0;
    const seconds = retryAt ? Math.max(1, Math.round((retryAt - Date.now()) / 1000)) : 0;
    const head = offline ? "Offline" : `Server problem (${error.message})`;
    setBanner("offline", `${head} — ${changes}, retrying…${seconds ? ` (next try in ${seconds}s)` : ""}`, "Retry now", () =>
      queue.retryNow(),
    );
    return;
  }
  if (status === "unauthorized") {
    setBanner("auth", `Your session has ended — ${changes}. Log in again in another tab; saving resumes by itself.`, "Log in", () =>
      window.open(config.loginUrl, "_blank", "noopener"),
    );
    return;
  }
  if (bannerMode === "offline" || bannerMode === "auth" || bannerMode === "recovering") {
    if (pending > 0) {
      setBanner("recovering", `Connected again — saving ${pending} change${pending === 1 ? "" : "s"}…`);
    } else {
      setBanner("ok", "Back online — all changes saved.");
      state.bannerTimer = setTimeout(() => bannerMode === "ok" && hideBanner(), 3000);
    }
  }
}

function setBanner(mode, message, actionLabel = "", onAction = null) {
  bannerMode = mode;
  clearTimeout(state.bannerTimer);
  els.banner.hidden = false;
  els.banner.dataset.mode = mode;
  els.banner.querySelector(".banner__text").textContent = message;
  const action = els.banner.querySelector(".banner__action");
  action.hidden = !actionLabel;
  action.textContent = actionLabel;
  action.onclick = onAction;
}

function hideBanner() {
  bannerMode = "hidden";
  els.banner.hidden = true;
  els.banner.dataset.mode = "hidden";
}

function showError(message, { action = "Dismiss", onAction = null } = {}) {
  setBanner("error", message, action, () => {
    hideBanner();
    if (onAction) onAction();
  });
}

// Retry countdown in the banner.
setInterval(() => {
  if (bannerMode === "offline") renderBanner(queue.state());
}, 1000);

function throttle(fn, wait) {
  let last = 0;
  let timer = null;
  return () => {
    const now = Date.now();
    const run = () => {
      last = Date.now();
      timer = null;
      fn();
    };
    if (now - last >= wait && !timer) run();
    else if (!timer) timer = setTimeout(run, wait - (now - last));
  };
}

// The reviewer's own counts follow each verdict's answer at once; the dataset's figures come from the progress
// API, throttled while verdicts are saved.
let progress = null; // the figures shown
let ownCounts = null; // the reviewer's counts in the latest verdict's answer
let countedSaves = 0; // how many verdict answers carried them

async function loadProgress() {
  const countedBefore = countedSaves;
  try {
    const { data } = await request(config.progressUrl);
    // A save answered while this was on its way knows the reviewer's counts better.
    renderProgress(countedBefore === countedSaves ? data : { ...data, ...ownCounts });
  } catch {
    // Progress is informative only; the next save refreshes it.
  }
}

const refreshProgress = throttle(loadProgress, 1500);

function showOwnCounts(counts) {
  countedSaves += 1;
  ownCounts = counts;
  if (progress) renderProgress({ ...progress, ...counts });
}

function renderProgress(p) {
  progress = p;
  const pct = p.items ? (100 * p.reviewed_items) / p.items : 0;
  const shown = pct > 0 && pct < 1 ? pct.toFixed(1) : Math.floor(pct);
  const fmt = (n) => Number(n).toLocaleString("en-US");
  els.progress.querySelector(".progress__text").innerHTML = "";
  const text = els.progress.querySelector(".progress__text");
  const you = document.createElement("span");
  you.dataset.testid = "my-items";
  you.textContent = `You: ${fmt(p.my_items)} item${p.my_items === 1 ? "" : "s"}`;
  const sep = document.createElement("span");
  sep.className = "progress__sep";
  sep.textContent = " · ";
  const all = document.createElement("span");
  all.dataset.testid = "dataset-items";
  // Where several reviewers decide blind, the figures are one's own answers (the labels would tell the others').
  const whose = p.figures_of === "you" ? "Your answers" : "Dataset";
  all.textContent = `${whose}: ${fmt(p.reviewed_items)}/${fmt(p.items)} items (${shown}%)`;
  text.append(you, sep, all);
  const meter = els.progress.querySelector(".meter");
  meter.setAttribute("aria-valuenow", String(Math.round(pct)));
  meter.querySelector(".meter__bar").style.width = `${pct}%`;
  const done = p.figures_of === "you" ? "images with all your answers" : "images fully reviewed";
  els.progress.title = `${fmt(p.done_images)} of ${fmt(p.images)} ${done}; you reviewed ${fmt(p.my_items)} items on ${fmt(p.my_images)} images`;
}

let toastTimer = null;
function toast(message) {
  els.toast.textContent = message;
  els.toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    els.toast.hidden = true;
  }, 3500);
}

// ---------------------------------------------------------------------------------------------
// Keyboard and mouse

function isTyping(target) {
  if (!target || !(target instanceof Element)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  if (tag === "TEXTAREA" || tag === "SELECT") return true;
  if (tag !== "INPUT") return false;
  return !["radio", "checkbox", "button", "submit", "reset", "range", "color"].includes(target.type);
}

function toggleSheet(open = !state.sheetOpen) {
  state.sheetOpen = open;
  els.sheet.hidden = !open;
  els.sheetButton.setAttribute("aria-expanded", String(open));
  if (open) els.sheetClose.focus({ preventScroll: true });
  else if (els.sheet.contains(document.activeElement)) document.activeElement.blur();
}

function toggleName() {
  if (!state.image) return;
  state.showName = !state.showName;
  renderName();
}

/** Keeps the image on screen from being handed to another reviewer while this one takes their time. */
async function renewLease() {
  const image = state.image;
  if (!image || app.dataset.state !== "ready" || document.hidden) return;
  try {
    await request(config.leaseUrl(image.id), { method: "POST" });
  } catch (error) {
    // An image revisited from the trail holds no lease any more: that only matters where someone else has it.
    if (error instanceof ApiError && error.status === 409 && error.data.leased_to_another && state.image === image) {
      toast(error.data.detail);
    }
  }
}

setInterval(renewLease, LEASE_RENEW_MS);

/** h: every verdict, flag and adjudication of the image on screen, oldest first; h again hides it. */
async function toggleHistory() {
  const section = $("history");
  state.showHistory = !state.showHistory;
  section.hidden = !state.showHistory;
  if (state.showHistory) await renderHistory();
}

function historyLine(entry) {
  const when = new Date(entry.at).toLocaleString();
  if (entry.kind === "problematic") {
    const what = entry.reason ? `flagged problematic (${entry.reason.replaceAll("_", " ")})` : "cleared the problematic flag";
    return `${when} · ${entry.reviewer} ${what}`;
  }
  const label = `${entry.class_name} (${entry.wnid})`;
  if (entry.kind === "adjudication") return `${when} · ${entry.reviewer} adjudicated ${label}: ${entry.new}`;
  return `${when} · ${entry.reviewer} set ${label}: ${VERDICT_LABELS[entry.old] || entry.old} → ${VERDICT_LABELS[entry.new] || entry.new}`;
}

async function renderHistory() {
  const image = state.image;
  const list = $("history-list");
  if (!image || !state.showHistory) return;
  try {
    const { data } = await getJSON(config.historyUrl(image.id));
    if (state.image !== image) return;
    const lines = data.history.map((entry) => {
      const li = document.createElement("li");
      li.textContent = historyLine(entry);
      return li;
    });
    if (!lines.length) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = "No verdict or flag yet.";
      lines.push(li);
    }
    list.replaceChildren(...lines);
  } catch (error) {
    list.textContent = `Could not load the history: ${error.message}`;
  }
}

/** g: the labeling guide of the highlighted candidate in the side panel; g again closes it. */
function toggleGuide() {
  const item = state.image && state.image.items[state.focus];
  if (!item) return;
  if (guidePanelWnid() === item.wnid) closeGuidePanel();
  else openGuidePanel(item.wnid, { opener: candidateNode(state.focus) });
}

function openOriginal() {
  if (state.image && state.image.original_url) window.open(state.image.original_url, "_blank", "noopener");
}

function moveFocus(delta) {
  if (!state.image || state.image.items.length === 0) return;
  state.focus = Math.max(0, Math.min(state.image.items.length - 1, state.focus + delta));
  renderFocus();
}

function handlePanelKey(event) {
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

function onKeyDown(event) {
  if (event.defaultPrevented || event.isComposing) return;
  if (isTyping(event.target)) return;
  let { key } = event;
  // Letters by the Shift key alone, so that Caps Lock does not turn p (flag) into P (clear).
  if (key.length === 1 && /[a-z]/i.test(key)) key = event.shiftKey ? key.toUpperCase() : key.toLowerCase();
  const command = event.ctrlKey || event.metaKey;
  if (command && !event.altKey && !event.shiftKey && key === "z") {
    event.preventDefault();
    undo();
    return;
  }
  if (command || event.altKey) return;
  if (state.sheetOpen) {
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

// ---------------------------------------------------------------------------------------------
// Start

/** The image a link names (#image=ID), or null where it is not there for this reviewer. */
async function loadLinked(id) {
  try {
    return await loadImage(id);
  } catch (error) {
    if (gone(error)) return null;
    throw error;
  }
}

async function start() {
  loadTrail();
  document.body.dataset.pendingSaves = String(queue.size);
  queue.start();
  refreshProgress();
  setMode("loading");
  // ?image=ID, or #image=ID as earlier links wrote it.
  const named = new URLSearchParams(location.search).get("image") ?? location.hash.match(/^#image=(\d+)$/)?.[1];
  const linkedId = /^\d+$/.test(named ?? "") ? Number(named) : null;
  state.busy = true;
  try {
    const linked = linkedId !== null ? await loadLinked(linkedId) : null;
    if (named && !linked) {
      toast(`Image ${named} is not available to you: here is the queue instead.`);
      showAddress(null);
    }
    if (linked) {
      const index = state.trail.lastIndexOf(linked.id);
      if (index === -1) pushTrail(linked.id);
      else state.cursor = index;
      await display(linked);
    } else {
      const payload = config.list !== null ? await firstOfList() : await loadNext();
      if (payload) {
        pushTrail(payload.id);
        await display(payload);
      } else {
        showEmpty();
      }
    }
    startPrefetch();
  } catch (error) {
    setMode("error");
    showError(`Could not load an image: ${error.message}.`, { action: "Reload", onAction: () => location.reload() });
  } finally {
    state.busy = false;
  }
}

initGuidePanel();
start();
