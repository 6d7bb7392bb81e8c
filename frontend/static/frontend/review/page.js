// What every part of the review screen shares: its elements and API addresses, the save queue, the state
// of the screen, and the effective value of each verdict and flag: what the server has, overlaid with the
// changes still waiting in the queue.

import { SaveQueue } from "../api.js";

export const VERDICT_LABELS = {
  correct: "Correct",
  wrong: "Wrong",
  unclear: "Unclear",
  dont_know: "Don't know",
  unreviewed: "Unreviewed",
};
export const REASON_LABELS = {
  label_wrong_or_unclear: "Original label wrong or unclear",
  drawing: "Drawing, painting, sketch, cartoon or render",
  excessively_edited: "Excessively edited",
  inappropriate: "Inappropriate",
  other: "Other",
  no_valid_label: "No valid label",
};
export const SAVE_LABELS = {
  saving: "Saving…",
  saved: "Saved",
  error: "Not saved",
  waiting: "Waiting…",
  conflict: "Changed meanwhile",
};

export const app = document.getElementById("review-app");
const $ = (id) => document.getElementById(id);
export const els = {
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
  history: $("history"),
  historyList: $("history-list"),
  sheet: $("shortcut-sheet"),
  sheetButton: $("shortcut-button"),
  sheetClose: $("sheet-close"),
};

export const config = {
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

export const queue = new SaveQueue({ storageKey: "relabel:save-queue" });

export const state = {
  image: null, // the payload on screen
  focus: 0, // index of the highlighted candidate
  trail: [], // ids of the images seen in this session, oldest first
  cursor: -1, // index in trail of the image on screen; trail.length while the empty state shows
  undo: [],
  cache: new Map(), // image id -> latest payload
  itemStatus: new Map(), // item id -> saved | error | conflict
  flagStatus: new Map(), // image id -> saved | error | conflict
  panelOpen: false,
  lastError: null,
};

export const verdictKey = (itemId) => `verdict:${itemId}`;
export const flagKey = (imageId) => `flag:${imageId}`;

export function effectiveVerdict(item) {
  const op = queue.pendingFor(verdictKey(item.id));
  return op ? op.meta.verdict : item.verdict;
}

export function effectiveFlag(image) {
  const op = queue.pendingFor(flagKey(image.id));
  return op ? op.meta.flag : image.problematic;
}

export function itemSaveState(item) {
  if (queue.pendingFor(verdictKey(item.id))) return queue.status === "idle" || queue.status === "saving" ? "saving" : "waiting";
  return state.itemStatus.get(item.id) || "idle";
}

export function flagSaveState(image) {
  if (queue.pendingFor(flagKey(image.id))) return queue.status === "idle" || queue.status === "saving" ? "saving" : "waiting";
  return state.flagStatus.get(image.id) || "idle";
}

/** The flag's reason as the server last confirmed it ("" for none): a change made meanwhile is answered 409. */
export function serverFlagReason(imageId) {
  const payload = state.cache.get(imageId);
  return (payload && payload.problematic && payload.problematic.reason) || "";
}
