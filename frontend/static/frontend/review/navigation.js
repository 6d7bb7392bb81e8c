// Moving between images: the review queue (its next image loaded ahead, leased to this reviewer while on
// screen), back and forth along the trail of images seen, or along a list of the image browser; and the
// first image when the page opens.

import { ApiError, getJSON, request } from "../api.js";
import { imagesBeside } from "../image-list.js";
import { preloadImage, toast } from "../ui.js";
import { showError } from "./banner.js";
import { app, config, queue, state } from "./page.js";
import { refreshProgress } from "./progress.js";
import { display, setMode, showAddress, showEmpty } from "./screen.js";
import { loadTrail, pushTrail, saveTrail } from "./trail.js";

const PREFETCH_MAX_AGE_MS = 8 * 60 * 1000; // the server's leases last 10 minutes
const LEASE_RENEW_MS = 3 * 60 * 1000; // while an image stays on screen, its lease is renewed this often
const RECENT_LOOKAHEAD = 50; // the reviewer's recent images asked for at once, some perhaps on the trail already

export const GONE =
  "An image you saw is no longer available to you (removed, or in an evaluation phase you take part in): skipped.";

let prefetch = null; // {afterId, at, promise -> {payload, img} | null | undefined (failed)}
let busy = false;

/** Whether an error says the image is not there for this reviewer any more (a 404 reads the same either way). */
export function gone(error) {
  return error instanceof ApiError && error.status === 404;
}

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

function prefetchNext() {
  const image = state.image;
  if (config.list !== null) return; // a list's images are not the queue's: none is leased
  if (!image || state.cursor !== state.trail.length - 1) return;
  if (prefetch && prefetch.afterId === image.id && Date.now() - prefetch.at < PREFETCH_MAX_AGE_MS) return;
  const promise = (async () => {
    try {
      const payload = await loadNext({ after: image.position, keep: [image.id] });
      if (!payload) return null;
      return { payload, img: payload.display_url ? preloadImage(payload.display_url) : null };
    } catch {
      return undefined;
    }
  })();
  prefetch = { afterId: image.id, promise, at: Date.now() };
}

async function navigate(work) {
  if (busy) return;
  busy = true;
  const slow = setTimeout(() => app.classList.add("is-busy"), 150);
  try {
    await work();
  } catch (error) {
    showError(`Could not load the image: ${error.message}.`, { action: "Try again", onAction: () => navigate(work) });
  } finally {
    clearTimeout(slow);
    app.classList.remove("is-busy");
    busy = false;
  }
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

export function goNext() {
  if (config.list !== null) return walkList("after");
  return navigate(async () => {
    while (state.cursor < state.trail.length - 1) {
      const payload = await loadFromTrail(state.cursor + 1);
      if (!payload) continue;
      state.cursor += 1;
      await display(payload);
      prefetchNext();
      return;
    }
    const current = state.image;
    let result = null;
    const fresh = prefetch && Date.now() - prefetch.at < PREFETCH_MAX_AGE_MS;
    if (current && fresh && prefetch.afterId === current.id) {
      result = await prefetch.promise;
      prefetch = null;
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
    prefetchNext();
  });
}

export function goPrev() {
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
      prefetchNext();
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

/** The image a link names (#image=ID), or null where it is not there for this reviewer. */
async function loadLinked(id) {
  try {
    return await loadImage(id);
  } catch (error) {
    if (gone(error)) return null;
    throw error;
  }
}

/** The first image: the one the address names, else the list's first, else the queue's next. */
export async function start() {
  loadTrail();
  document.body.dataset.pendingSaves = String(queue.size);
  queue.start();
  refreshProgress();
  setMode("loading");
  // ?image=ID, or #image=ID as earlier links wrote it.
  const named = new URLSearchParams(location.search).get("image") ?? location.hash.match(/^#image=(\d+)$/)?.[1];
  const linkedId = /^\d+$/.test(named ?? "") ? Number(named) : null;
  busy = true;
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
    prefetchNext();
  } catch (error) {
    setMode("error");
    showError(`Could not load an image: ${error.message}.`, { action: "Reload", onAction: () => location.reload() });
  } finally {
    busy = false;
  }
}

/** Keeps the image on screen from being handed to another reviewer while this one takes their time. */
export function keepLeases() {
  setInterval(renewLease, LEASE_RENEW_MS);
}

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
