// The golden items page: add a golden item (image by file name or id, class from the synset search), change an
// item's answer, unmark it. Every change goes through the golden items API; wnid links open the guide panel.

import { request } from "./api.js";
import { createClassSearch } from "./class-search.js";
import { initGuidePanel } from "./guide-panel.js";

const IMAGE_ID = /^\d+$/;

const status = document.querySelector("[data-golden-status]");

function say(message, isError = false) {
  status.textContent = message;
  status.classList.toggle("field__error", isError);
}

function setUpForm(form) {
  const wnid = form.elements.wnid;
  const picker = wnid.closest("[data-search-url]");
  createClassSearch({
    input: wnid,
    list: picker.querySelector('[role="listbox"]'),
    searchUrl: picker.dataset.searchUrl,
    limit: 8,
    query: () => ({ classes_only: "1" }),
    onChoose(synset) {
      wnid.value = synset.wnid;
      wnid.dispatchEvent(new Event("blur")); // class-search closes its results on blur
    },
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const image = form.elements.image.value.trim();
    const body = { wnid: wnid.value.trim(), answer: form.elements.answer.value };
    if (IMAGE_ID.test(image)) body.image = Number(image);
    else body.file_name = image;
    if (!image || !body.wnid) {
      say("Name the image and the class.", true);
      return;
    }
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      await request(form.dataset.url, { method: "POST", body });
      say(`${image}, ${body.wnid} is golden; reloading…`);
      window.location.reload();
    } catch (error) {
      say(`Not added: ${error.message}`, true);
      button.disabled = false;
    }
  });
}

function setUpRow(row) {
  const select = row.querySelector("[data-golden-answer]");
  let saved = select.value;
  select.addEventListener("change", async () => {
    select.disabled = true;
    try {
      await request(row.dataset.url, { method: "PATCH", body: { answer: select.value } });
      saved = select.value;
      say(`Answer changed to ${select.selectedOptions[0].textContent}.`);
    } catch (error) {
      select.value = saved;
      say(`Not changed: ${error.message}`, true);
    } finally {
      select.disabled = false;
    }
  });
  row.querySelector("[data-golden-remove]").addEventListener("click", async () => {
    try {
      await request(row.dataset.url, { method: "DELETE" });
      row.remove();
      say("Unmarked: the item's label comes from its reviewers again.");
    } catch (error) {
      say(`Not unmarked: ${error.message}`, true);
    }
  });
}

initGuidePanel();
setUpForm(document.querySelector("[data-golden-form]"));
for (const row of document.querySelectorAll("[data-golden-item]")) setUpRow(row);
