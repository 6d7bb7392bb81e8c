// The dataset page's import form: sends the file to the API, then reloads the page so that every figure shows
// the imported labels, with a summary of the import on top; or says why the file was refused.

import { csrfToken } from "./api.js";

const form = document.querySelector("[data-import-form]");

if (form) {
  const doneKey = `relabel:import-done:${form.dataset.dataset}`;
  const error = form.querySelector("[data-import-error]");
  const done = form.querySelector("[data-import-done]");
  const button = form.querySelector("button[type=submit]");

  const shown = sessionStorage.getItem(doneKey);
  if (shown) {
    sessionStorage.removeItem(doneKey);
    done.textContent = shown;
    done.hidden = false;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    done.hidden = true;
    button.disabled = true;
    button.textContent = "Importing…";
    try {
      const response = await fetch(form.dataset.url, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
      });
      const data = await response.json().catch(() => null);
      if (!response.ok) throw new Error(refusal(data, response.status));
      sessionStorage.setItem(doneKey, describe(data));
      window.location.reload();
    } catch (failure) {
      error.textContent = `Nothing was imported: ${failure.message}`;
      error.hidden = false;
      button.disabled = false;
      button.textContent = "Import";
    }
  });
}

/** The API's reason for a refusal: {"detail": ...} or {field: [...]}. */
function refusal(data, status) {
  const [field, why] = Object.entries(data || {})[0] || [];
  if (!field) return `the server answered ${status}`;
  const text = [].concat(why).join(" ");
  return field === "detail" ? text : `${field}: ${text}`;
}

function describe(summary) {
  const { consensus } = summary;
  const labels = Object.entries(consensus.labels)
    .map(([label, count]) => `${label === "dont_know" ? "don't know" : label} ${count}`)
    .join(", ");
  let text =
    `Imported ${summary.images} images: ${summary.verdicts} verdicts (${summary.verdicts_changed} changed), ` +
    `${summary.problematic_images} problematic images. Labels under ${consensus.rule}: ${labels}.`;
  if (summary.labels_unlike_file) {
    text += ` ${summary.labels_unlike_file} labels differ from the file's: it was labelled under another rule.`;
  }
  return text;
}
