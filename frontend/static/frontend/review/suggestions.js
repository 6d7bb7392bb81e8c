// Suggestions from trainees (label is correct, image is problematic), shown above the candidates until
// a reviewer accepts or dismisses them; either reloads the image as the server has it then.

import { request } from "../api.js";
import { guideLink } from "../guide-panel.js";
import { toast } from "../ui.js";
import { showError } from "./banner.js";
import { REASON_LABELS, config, els, queue, state } from "./page.js";
import { loadProgress } from "./progress.js";
import { display } from "./screen.js";

// The keys of the first open suggestion's two buttons.
export const SUGGESTION_KEYS = { a: "accepted", x: "dismissed" };

export function renderSuggestions() {
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
        const link = guideLink(suggestion.wnid);
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
export function resolveFirstSuggestion(resolution) {
  const suggestion = (state.image.suggestions || [])[0];
  if (!suggestion) {
    toast("This image has no suggestion to accept or dismiss.");
    return;
  }
  const button = els.suggestions.querySelector(`button[data-resolution="${resolution}"]`);
  if (button && !button.disabled) resolveSuggestion(suggestion, resolution);
}
