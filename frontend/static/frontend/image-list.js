// The image browser's lists (GET /api/datasets/<name>/images/): the one the images page shows a page at a time, and
// the one the review page walks with previous and next. A list is its query parameters; pages go by keyset, after or
// before an image named by its id, so that the image on screen marks the place even once it has left the list.

import { getJSON } from "./api.js";

/** The query parameters that make a list (its page, view and anything else left out). */
const LIST_PARAMETERS = ["status", "wnid", "model", "model_top1", "disagree", "q", "sort"];

/** The list of `params` (URLSearchParams or a query string), its parameters only. */
export function listQuery(params) {
  const given = new URLSearchParams(params);
  const query = new URLSearchParams();
  for (const name of LIST_PARAMETERS) {
    const value = given.get(name);
    if (value) query.set(name, value);
  }
  return query;
}

/** The review page's address for an image of a list: previous and next there walk the list, and its way back
 * leads to the list's page of the image on screen, in the same view. The image is in the query, not a fragment, so
 * that a login on the way keeps it. */
export function reviewLink(reviewUrl, list, imageId, view = "grid") {
  const carried = listQuery(list);
  if (view === "table") carried.set("view", "table");
  return `${reviewUrl}?${new URLSearchParams({ list: carried.toString(), image: String(imageId) })}`;
}

/** Up to `limit` images of the list next to the image `imageId`: those after it (side "after") or before it
 * ("before"), nearest first; from the list's start where `imageId` is null. */
export async function imagesBeside(apiUrl, list, imageId, side = "after", limit = 1) {
  const params = listQuery(list);
  if (imageId !== null) params.set(side, String(imageId));
  params.set("limit", String(limit));
  const { data } = await getJSON(`${apiUrl}?${params}`);
  return side === "before" ? data.results.reverse() : data.results;
}
