// The trail of images seen in this session, which previous and next walk; kept across reloads of the tab.

import { config, state } from "./page.js";

const TRAIL_LIMIT = 500;
const trailKey = `relabel:trail:${config.dataset}:${config.wnid}`;

export function loadTrail() {
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

export function saveTrail() {
  try {
    sessionStorage.setItem(trailKey, JSON.stringify({ trail: state.trail, cursor: state.cursor }));
  } catch {
    // Not kept across reloads then.
  }
}

export function pushTrail(id) {
  state.trail.push(id);
  if (state.trail.length > TRAIL_LIMIT) state.trail.splice(0, state.trail.length - TRAIL_LIMIT);
  state.cursor = state.trail.length - 1;
}
