// A combobox over the ranked synset search of the API (results while typing, arrow keys, Enter,
// Escape), shared by the dataset page's class filter and the guide editor's class field.

import { request } from "./api.js";

const DEBOUNCE_MS = 150;

/**
 * The option an arrow key moves to: from none, ArrowDown goes to the first and ArrowUp to the last; both wrap.
 * Nothing is highlighted before the arrows move, so that ArrowDown then Enter takes the first result, as does
 * Enter alone.
 */
export function stepOption(active, key, count) {
  if (active < 0) return key === "ArrowDown" ? 0 : count - 1;
  return (active + (key === "ArrowDown" ? 1 : -1) + count) % count;
}

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
  let stale = false; // typed since the results shown: Enter waits for the results of what was typed
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
      stale = false;
      open(false);
      return;
    }
    const params = new URLSearchParams({ q, limit: String(limit), ...query() });
    try {
      const { data } = await request(`${searchUrl}?${params}`);
      if (mine !== generation) return;
      results = Array.isArray(data) ? data : [];
      active = -1;
      stale = false;
      render();
    } catch {
      if (mine === generation) open(false);
    }
  }

  function clear() {
    input.value = "";
    results = [];
    active = -1;
    stale = false;
    open(false);
  }

  function choose(index) {
    const synset = results[index];
    if (synset) onChoose(synset);
  }

  input.addEventListener("input", () => {
    stale = true;
    clearTimeout(timer);
    timer = setTimeout(search, DEBOUNCE_MS);
  });
  input.addEventListener("keydown", async (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!results.length) return;
      event.preventDefault();
      active = stepOption(active, event.key, results.length);
      render();
      list.children[active]?.scrollIntoView({ block: "nearest" });
    } else if (event.key === "Enter") {
      if (onEnter?.(event)) return;
      const typed = Boolean(stale && input.value.trim());
      if (!typed && (!results.length || list.hidden)) return; // no result to take: Enter is the form's
      event.preventDefault();
      if (typed) {
        clearTimeout(timer);
        await search();
      }
      if (!stale && results.length) choose(Math.max(active, 0));
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
