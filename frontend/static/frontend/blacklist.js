// The blacklist by keyboard, as the candidate browser (testset-class.js) and the final review (final-review.js) both
// use it: the keys 1-7 put a candidate on the blacklist with the reasons of the page's #blacklist-reasons, in their
// order ("other" asks for a note in the page's #note-sheet, testsets/blacklist_note.html), 0 or u take it off. Each
// change is saved at once through the page's SaveQueue; the page keeps what each change replaced for its undo.

import { toast } from "./ui.js";

const OTHER = "other";

export class Blacklist {
  /**
   * `saves`: the page's SaveQueue; `url`: a candidate's blacklist endpoint with the id 0; `onNoteClosed`: called
   * when the note sheet closes, to put the focus back.
   */
  constructor({ saves, url, onNoteClosed }) {
    this.saves = saves;
    this.url = url;
    this.onNoteClosed = onNoteClosed;
    // [[value, label], ...] in the order of the keys 1-7.
    this.reasons = JSON.parse(document.getElementById("blacklist-reasons").textContent);
    this.labels = Object.fromEntries(this.reasons);
    this.sheet = document.getElementById("note-sheet");
    this.form = document.getElementById("note-form");
    this.noted = null; // what to do with the note being typed
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const note = this.form.elements.namedItem("note").value.trim();
      if (!note) return;
      const noted = this.noted;
      this.closeNote();
      noted(note);
    });
    document.getElementById("note-cancel").addEventListener("click", () => this.closeNote());
  }

  label(reason) {
    return this.labels[reason] || reason;
  }

  get noting() {
    return !this.sheet.hidden;
  }

  /**
   * Put `candidate` ({id, blacklist_reason, blacklist_note}) in this blacklist state, saved at once. Returns what
   * the change replaced ({id, reason, note}), or null when there was nothing to change.
   */
  set(candidate, reason, note = "") {
    if (candidate.blacklist_reason === reason && (reason === "" || candidate.blacklist_note === note)) return null;
    const replaced = { id: candidate.id, reason: candidate.blacklist_reason, note: candidate.blacklist_note };
    candidate.blacklist_reason = reason;
    candidate.blacklist_note = reason ? note : "";
    this.saves.enqueue({
      key: `blacklist:${candidate.id}`,
      method: "POST",
      url: this.url.replace(/\/0\/blacklist\/$/, `/${candidate.id}/blacklist/`),
      body: { reason, note: candidate.blacklist_note },
      meta: { id: candidate.id },
    });
    toast(reason ? `Blacklisted: ${this.label(reason)}` : "Taken off the blacklist");
    return replaced;
  }

  /** The key `digit` (1-7) pressed on `candidate`: `apply(reason, note)` at once, or once "other" has its note. */
  byKey(digit, candidate, apply) {
    const [reason] = this.reasons[digit - 1];
    if (reason === OTHER) this.askNote(candidate, (note) => apply(OTHER, note));
    else apply(reason, "");
  }

  askNote(candidate, noted) {
    this.noted = noted;
    const input = this.form.elements.namedItem("note");
    input.value = candidate.blacklist_reason === OTHER ? candidate.blacklist_note : "";
    this.sheet.hidden = false;
    input.focus();
  }

  closeNote() {
    this.sheet.hidden = true;
    this.noted = null;
    this.onNoteClosed();
  }
}
