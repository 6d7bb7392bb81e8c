// The class filter picker of the dataset page: a combobox over the ranked synset search of the API.
// Choosing a class opens the review page filtered to it (review/?wnid=...).

import { request } from "./api.js";

const DEBOUNCE_MS = 150;

function setUp(root) {
  const input = root.querySelector('input[role="combobox"]');
  const list = root.querySelector('[role="listbox"]');
  const hierarchy = root.querySelector('input[type="checkbox"]');
  const searchUrl = root.dataset.searchUrl;
  const reviewUrl = root.dataset.reviewUrl;
  let results = [];
  let active = -1;
  let timer = null;
  let generation = 0;

  function open(isOpen) {
    list.hidden = !isOpen;
    input.setAttribute("aria-expanded", String(isOpen));
    if (!isOpen) input.removeAttribute("aria-activedescendant");
  }

  function render() {
    list.replaceChildren(
      ...results.map((synset, index) => {
        const option = document.createElement("li");
        option.id = `class-option-${index}`;
        option.setAttribute("role", "option");
        option.className = "picker__option";
        option.dataset.wnid = synset.wnid;
        option.setAttribute("aria-selected", String(index === active));
        const head = document.createElement("div");
        const wnid = document.createElement("span");
        wnid.className = "picker__wnid";
        wnid.textContent = synset.wnid;
        const words = document.createElement("span");
        words.className = "picker__words";
        words.textContent = synset.words.join(", ");
        head.append(wnid, words);
        if (synset.class_index === null) {
          const badge = document.createElement("span");
          badge.className = "badge badge--quiet";
          badge.textContent = "category";
          head.append(badge);
        }
        const gloss = document.createElement("div");
        gloss.className = "picker__gloss";
        gloss.textContent = synset.gloss;
        option.append(head, gloss);
        option.addEventListener("mousedown", (event) => {
          event.preventDefault();
          choose(index);
        });
        return option;
      }),
    );
    if (results.length === 0 && input.value.trim()) {
      const none = document.createElement("li");
      none.className = "picker__none";
      none.textContent = "No matching class";
      list.append(none);
    }
    if (active >= 0) input.setAttribute("aria-activedescendant", `class-option-${active}`);
    else input.removeAttribute("aria-activedescendant");
    open(Boolean(input.value.trim()));
  }

  async function search() {
    const q = input.value.trim();
    const mine = ++generation;
    if (!q) {
      results = [];
      active = -1;
      open(false);
      return;
    }
    const params = new URLSearchParams({ q, limit: "10" });
    if (!hierarchy || !hierarchy.checked) params.set("classes_only", "1");
    try {
      const { data } = await request(`${searchUrl}?${params}`);
      if (mine !== generation) return;
      results = Array.isArray(data) ? data : [];
      active = results.length ? 0 : -1;
      render();
    } catch {
      if (mine !== generation) return;
      results = [];
      render();
    }
  }

  function choose(index) {
    const synset = results[index];
    if (!synset) return;
    window.location.assign(`${reviewUrl}?${new URLSearchParams({ wnid: synset.wnid })}`);
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(search, DEBOUNCE_MS);
  });
  if (hierarchy) hierarchy.addEventListener("change", search);
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!results.length) return;
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      active = (active + step + results.length) % results.length;
      render();
      const option = list.children[active];
      if (option) option.scrollIntoView({ block: "nearest" });
    } else if (event.key === "Enter") {
      if (active >= 0) {
        event.preventDefault();
        choose(active);
      }
    } else if (event.key === "Escape") {
      open(false);
    }
  });
  input.addEventListener("blur", () => setTimeout(() => open(false), 100));
  input.addEventListener("focus", () => {
    if (results.length) open(true);
  });
}

for (const root of document.querySelectorAll("[data-picker]")) setUp(root);
