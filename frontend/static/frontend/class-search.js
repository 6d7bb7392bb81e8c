// A combobox over the ranked synset search of the API (results while typing, arrow keys, Enter,
// Escape), shared by the dataset page's class filter and the guide editor's class field.

import { request } from "./api.js";

const DEBOUNCE_MS = 150;

/**
 * input: the combobox <input>; list: its listbox <ul>; searchUrl: /api/synsets/;
 * query(): extra search parameters; onChoose(synset): a result was picked;
 * onEnter(event): return true when Enter was handled before choosing the highlighted result.
 * Returns { clear() } to empty the input and close the results.
 */
export function createClassSearch({ input, list, searchUrl, limit, query = () => ({}), onChoose, onEnter }) {
  const prefix = `${list.id || "class"}-option`;
  let results = [];
  let active = -1;
  let timer = null;
  let generation = 0;

  function open(isOpen) {
    list.hidden = !isOpen;
    input.setAttribute("aria-expanded", String(isOpen));
    if (!isOpen) input.removeAttribute("aria-activedescendant");
  }

  function option(synset, index) {
    const item = document.createElement("li");
    item.id = `${prefix}-${index}`;
    item.setAttribute("role", "option");
    item.className = "picker__option";
    item.dataset.wnid = synset.wnid;
    item.setAttribute("aria-selected", String(index === active));
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
    item.append(head, gloss);
    item.addEventListener("mousedown", (event) => {
      event.preventDefault();
      choose(index);
    });
    return item;
  }

  function render() {
    list.replaceChildren(...results.map(option));
    if (results.length === 0 && input.value.trim()) {
      const none = document.createElement("li");
      none.className = "picker__none";
      none.textContent = "No matching class";
      list.append(none);
    }
    if (active >= 0) input.setAttribute("aria-activedescendant", `${prefix}-${active}`);
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
    const params = new URLSearchParams({ q, limit: String(limit), ...query() });
    try {
      const { data } = await request(`${searchUrl}?${params}`);
      if (mine !== generation) return;
      results = Array.isArray(data) ? data : [];
      active = results.length ? 0 : -1;
      render();
    } catch {
      if (mine === generation) open(false);
    }
  }

  function clear() {
    input.value = "";
    results = [];
    active = -1;
    open(false);
  }

  function choose(index) {
    const synset = results[index];
    if (synset) onChoose(synset);
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(search, DEBOUNCE_MS);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!results.length) return;
      event.preventDefault();
      active = (active + (event.key === "ArrowDown" ? 1 : -1) + results.length) % results.length;
      render();
      list.children[active]?.scrollIntoView({ block: "nearest" });
    } else if (event.key === "Enter") {
      if (onEnter?.(event)) return;
      if (active >= 0) {
        event.preventDefault();
        choose(active);
      }
    } else if (event.key === "Escape" && !list.hidden) {
      event.preventDefault();
      event.stopPropagation();
      open(false);
    }
  });
  input.addEventListener("blur", () => setTimeout(() => open(false), 100));
  input.addEventListener("focus", () => {
    if (results.length) open(true);
  });
  return { search, clear };
}
