// The admins' form for a new training task: shows the fields of the chosen image source, and fills the
// hierarchy node and the classes of a confusion group from class pickers.

import { createClassPicker } from "./class-picker.js";

const form = document.querySelector("[data-task-form]");

function showSource() {
  const source = form.querySelector('input[name="source"]:checked')?.value || "slice";
  for (const part of form.querySelectorAll(".task-form__part")) part.hidden = part.dataset.source !== source;
}

function wnidList(input) {
  return input.value.split(/[\s,;]+/).filter(Boolean);
}

function renderChips(input, chips) {
  chips.replaceChildren(
    ...wnidList(input).map((wnid) => {
      const chip = document.createElement("li");
      chip.className = "chip";
      chip.dataset.wnid = wnid;
      const label = document.createElement("span");
      label.className = "chip__wnid";
      label.textContent = wnid;
      const name = document.createElement("span");
      name.textContent = chips.labels.get(wnid) || "";
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "chip__close";
      remove.setAttribute("aria-label", `Remove ${chips.labels.get(wnid) || wnid}`);
      remove.textContent = "×";
      remove.addEventListener("click", () => {
        input.value = wnidList(input).filter((other) => other !== wnid).join(", ");
        renderChips(input, chips);
      });
      chip.append(label, name, remove);
      return chip;
    }),
  );
}

if (form) {
  for (const radio of form.querySelectorAll('input[name="source"]')) radio.addEventListener("change", showSource);
  showSource();
  // getAttribute: form.dataset is the form's "dataset" field, not its data attributes.
  const urls = { hierarchyUrl: form.getAttribute("data-hierarchy-url"), searchUrl: form.getAttribute("data-search-url") };

  const nodeInput = form.querySelector("#id_node_wnid");
  const nodeName = form.querySelector("[data-node-name]");
  nodeInput.addEventListener("input", () => (nodeName.hidden = true));
  createClassPicker(form.querySelector('[data-picker-for="node_wnid"]'), {
    ...urls,
    selectable: "any",
    label: "synset",
    onChoose(synset) {
      nodeInput.value = synset.wnid;
      nodeName.hidden = false;
      nodeName.textContent = `${synset.words.join(", ")}: ${synset.gloss}`;
    },
  });

  const wnidsInput = form.querySelector("#id_wnids");
  const chips = form.querySelector('[data-chips-for="wnids"]');
  chips.labels = new Map();
  createClassPicker(form.querySelector('[data-picker-for="wnids"]'), {
    ...urls,
    onChoose(synset) {
      chips.labels.set(synset.wnid, synset.label);
      const wnids = wnidList(wnidsInput);
      if (!wnids.includes(synset.wnid)) wnidsInput.value = [...wnids, synset.wnid].join(", ");
      renderChips(wnidsInput, chips);
    },
  });
  wnidsInput.addEventListener("change", () => renderChips(wnidsInput, chips));
  renderChips(wnidsInput, chips);
}
