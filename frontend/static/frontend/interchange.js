// The dataset page's imports: a file is first sent as a dry run and what it would change is shown; Import writes
// it, then the page reloads so that every figure shows the imported labels, with a summary on top. Each import in
// the list can be undone in one step. A refused file or undo says why.

import { request } from "./api.js";

const form = document.querySelector("[data-import-form]");

if (form) {
  const doneKey = `relabel:import-done:${form.dataset.dataset}`;
  const error = form.querySelector("[data-import-error]");
  const done = form.querySelector("[data-import-done]");
  const submit = form.querySelector("button[type=submit]");
  const preview = form.querySelector("[data-import-preview]");
  const confirm = form.querySelector("[data-import-confirm]");

  const shown = sessionStorage.getItem(doneKey);
  if (shown) {
    sessionStorage.removeItem(doneKey);
    done.textContent = shown;
    done.hidden = false;
  }

  const fail = (message) => {
    error.textContent = message;
    error.hidden = false;
  };

  const send = (dryRun) => {
    const body = new FormData(form);
    if (dryRun) body.set("dry_run", "true");
    return post(form.dataset.url, body);
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = done.hidden = preview.hidden = true;
    await busy(submit, "Checking…", async () => {
      try {
        showPreview(preview, await send(true));
        confirm.focus();
      } catch (failure) {
        fail(`Nothing was imported: ${failure.message}`);
      }
    });
  });

  confirm.addEventListener("click", async () => {
    await busy(confirm, "Importing…", async () => {
      try {
        const summary = await send(false);
        sessionStorage.setItem(doneKey, describe(summary));
        window.location.reload();
      } catch (failure) {
        preview.hidden = true;
        fail(`Nothing was imported: ${failure.message}`);
      }
    });
  });

  form.querySelector("[data-import-cancel]").addEventListener("click", () => {
    preview.hidden = true;
    submit.focus();
  });
  // A new file or option needs a new preview.
  form.addEventListener("change", () => {
    preview.hidden = true;
  });

  for (const button of document.querySelectorAll("[data-undo-url]")) {
    button.addEventListener("click", async () => {
      if (!window.confirm(`Undo import #${button.dataset.undoBatch}? What it changed goes back, unless changed since.`)) {
        return;
      }
      error.hidden = true;
      await busy(button, "Undoing…", async () => {
        try {
          const undo = await post(button.dataset.undoUrl);
          sessionStorage.setItem(doneKey, describeUndo(undo));
          window.location.reload();
        } catch (failure) {
          fail(`Import #${button.dataset.undoBatch} was not undone: ${failure.message}`);
        }
      });
    });
  }
}

/** An import or its undo: a large file takes long to send and to write, so no time limit. */
async function post(url, body) {
  const { data } = await request(url, { method: "POST", body, timeout: Infinity });
  return data;
}

async function busy(button, label, work) {
  const text = button.textContent;
  button.disabled = true;
  button.textContent = label;
  try {
    await work();
  } finally {
    button.disabled = false;
    button.textContent = text;
  }
}

const plural = (count, word) => `${count} ${word}${count === 1 ? "" : "s"}`;
const pairs = (counts) =>
  Object.entries(counts || {})
    .map(([pair, count]) => `${pair.replaceAll("dont_know", "don't know")} ${count}`)
    .join(", ");

function showPreview(preview, summary) {
  const lines = [];
  if (summary.items_created) lines.push(`${plural(summary.items_created, "new review item")}`);
  if (summary.verdicts_changed) lines.push(`Verdicts changed: ${pairs(summary.changes)}`);
  if (summary.verdicts_kept) {
    lines.push(`Verdicts already given and kept (tick “Replace” to change them): ${pairs(summary.kept)}`);
  }
  if (summary.images_flagged) lines.push(`${plural(summary.images_flagged, "image")} flagged problematic`);
  if (summary.flags_kept) lines.push(`${plural(summary.flags_kept, "flag")} already given and kept`);
  if (summary.complete_images) lines.push(`${plural(summary.complete_images, "image")} get a complete label list`);
  for (const warning of summary.warnings || []) lines.push(`Warning: ${warning}`);
  preview.querySelector("[data-import-preview-title]").textContent = lines.length
    ? `This file would change ${summary.images} images:`
    : "This file would change nothing: everything in it is there already.";
  const list = preview.querySelector("[data-import-preview-list]");
  list.replaceChildren(
    ...lines.map((line) => {
      const item = document.createElement("li");
      item.textContent = line;
      return item;
    }),
  );
  preview.hidden = false;
}

function describe(summary) {
  const { consensus } = summary;
  const labels = Object.entries(consensus.labels)
    .map(([label, count]) => `${label === "dont_know" ? "don't know" : label} ${count}`)
    .join(", ");
  let text =
    `Import #${summary.batch}: ${summary.images} images, ${summary.verdicts_changed} verdicts changed, ` +
    `${summary.verdicts_kept} kept, ${summary.images_flagged} images flagged. Labels under ${consensus.rule}: ${labels}.`;
  if (summary.labels_unlike_file) {
    text += ` ${summary.labels_unlike_file} labels differ from the file's: it was labelled under another rule.`;
  }
  for (const warning of summary.warnings || []) text += ` Warning: ${warning}`;
  return text;
}

function describeUndo(undo) {
  const { summary } = undo;
  return (
    `Undid import #${undo.undoes}: ${summary.verdicts_restored} verdicts restored, ` +
    `${summary.verdicts_changed_since} changed since and kept, ${summary.images_unflagged} images unflagged, ` +
    `${summary.items_removed} review items removed.`
  );
}
