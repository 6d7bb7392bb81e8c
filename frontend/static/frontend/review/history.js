// The history panel (h): every verdict, flag and adjudication of the image on screen, oldest first.

import { getJSON } from "../api.js";
import { VERDICT_LABELS, config, els, state } from "./page.js";

let shown = false;

/** h: the history shows, or h again hides it. */
export async function toggleHistory() {
  shown = !shown;
  els.history.hidden = !shown;
  if (shown) await renderHistory();
}

export async function renderHistory() {
  const image = state.image;
  const list = els.historyList;
  if (!image || !shown) return;
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
