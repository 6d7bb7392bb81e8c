// The class picker: choose one of the 1,000 classes (or, with selectable "any", any synset of the class
// hierarchy) in two ways, both keyboard driven:
//   - the class hierarchy, a WAI-ARIA tree loaded one level at a time (↑/↓ move, → expands or enters,
//     ← collapses or goes to the parent, Home/End, Enter chooses a class or opens a category);
//   - keyword search over synonyms and glosses while typing (↑/↓ move, Enter chooses the highlighted result or
//     else the first, Esc clears).
// Reused by the training labeling screen, the training task form and the evaluation phases.
//
//   const picker = createClassPicker(element, { hierarchyUrl, searchUrl, onChoose(synset) { ... } });
//   picker.focusSearch(); picker.focusTree(); picker.reset();
//
// A chosen synset is {wnid, label, words, gloss, is_class}.

import { getJSON, request } from "./api.js";
import { stepOption } from "./class-search.js";

const DEBOUNCE_MS = 120;
const numberFormat = new Intl.NumberFormat("en-US");
let instances = 0;

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function createClassPicker(
  root,
  { hierarchyUrl, searchUrl, onChoose = () => {}, selectable = "classes", searchLimit = 12, label = "class" } = {},
) {
  const prefix = `class-picker-${(instances += 1)}`;
  const anyNode = selectable === "any";
  const canChoose = (synset) => anyNode || synset.is_class;
  const childrenCache = new Map(); // wnid -> Promise of the node's children
  let results = [];
  let activeResult = -1;
  let stale = false; // typed since the results shown: Enter waits for the results of what was typed
  let timer = null;
  let generation = 0;
  let chosenWnid = "";

  // ---- DOM -----------------------------------------------------------------------------------------

  root.classList.add("class-picker");
  const searchBox = element("div", "class-picker__search");
  const searchLabel = element("label", "sr-only", `Search a ${label} by name or description`);
  const input = element("input", "input class-picker__input");
  Object.assign(input, { type: "search", id: `${prefix}-search`, autocomplete: "off", spellcheck: false });
  input.placeholder = anyNode ? "Search synsets: name, description or wnid…" : "Search classes: name, description or wnid…";
  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("aria-controls", `${prefix}-results`);
  searchLabel.htmlFor = input.id;
  const slash = element("kbd", "class-picker__key", "/");
  slash.title = "Press / to search";
  searchBox.append(searchLabel, input, slash);

  const body = element("div", "class-picker__body");
  const resultList = element("ul", "class-picker__results");
  resultList.id = `${prefix}-results`;
  resultList.setAttribute("role", "listbox");
  resultList.setAttribute("aria-label", `Matching ${label === "class" ? "classes" : `${label}s`}`);
  resultList.hidden = true;
  const none = element("p", "class-picker__none muted", "No matching class. Try another word, or browse the hierarchy.");
  none.hidden = true;

  const treeHead = element("div", "class-picker__tree-head");
  const treeTitle = element("span", "class-picker__tree-title", "Class hierarchy");
  treeTitle.id = `${prefix}-tree-title`;
  const treeCount = element("span", "muted small");
  treeHead.append(treeTitle, treeCount);
  const tree = element("ul", "class-picker__tree");
  tree.setAttribute("role", "tree");
  tree.setAttribute("aria-labelledby", treeTitle.id);
  const treeSection = element("div", "class-picker__tree-wrap");
  treeSection.append(treeHead, tree);
  body.append(resultList, none, treeSection);
  root.replaceChildren(searchBox, body);

  // ---- the hierarchy tree ----------------------------------------------------------------------------

  function loadChildren(wnid) {
    const key = wnid || "";
    if (!childrenCache.has(key)) {
      const url = wnid ? `${hierarchyUrl}?${new URLSearchParams({ node: wnid })}` : hierarchyUrl;
      const promise = getJSON(url).then(({ data }) => data);
      promise.catch(() => childrenCache.delete(key));
      childrenCache.set(key, promise);
    }
    return childrenCache.get(key);
  }

  let nodeIds = 0;
  function treeItem(synset, level) {
    const item = element("li", "class-picker__node");
    item.id = `${prefix}-node-${(nodeIds += 1)}`;
    item.setAttribute("role", "treeitem");
    item.setAttribute("aria-level", String(level));
    item.tabIndex = -1;
    item.dataset.wnid = synset.wnid;
    item.dataset.kind = synset.is_class ? "class" : "category";
    item.synset = synset;
    if (synset.has_children) item.setAttribute("aria-expanded", "false");
    if (canChoose(synset)) item.setAttribute("aria-selected", String(synset.wnid === chosenWnid));

    const row = element("div", "class-picker__row");
    row.style.setProperty("--level", String(level - 1));
    const twisty = element("span", "class-picker__twisty");
    twisty.setAttribute("aria-hidden", "true");
    const name = element("span", "class-picker__label");
    if (synset.via && synset.via.length) {
      const via = element("span", "class-picker__via", `${synset.via.join(" › ")} › `);
      name.append(via);
    }
    name.append(document.createTextNode(synset.label));
    row.append(twisty, name);
    if (synset.is_class) {
      const badge = element("span", "class-picker__class", "class");
      badge.title = synset.gloss;
      row.append(badge);
    } else {
      const count = element("span", "class-picker__count", numberFormat.format(synset.classes_under));
      count.title = `${synset.classes_under} class${synset.classes_under === 1 ? "" : "es"} under ${synset.label}`;
      row.append(count);
    }
    row.title = synset.gloss;
    item.append(row);
    item.setAttribute(
      "aria-label",
      synset.is_class ? synset.label : `${synset.label}, ${synset.classes_under} classes`,
    );
    return item;
  }

  function renderLevel(container, children, level) {
    container.replaceChildren(...children.map((child) => treeItem(child, level)));
  }

  async function start() {
    try {
      const data = await loadChildren("");
      treeCount.textContent = `${numberFormat.format(data.node.classes_under)} classes`;
      renderLevel(tree, data.children, 1);
      const first = tree.querySelector('[role="treeitem"]');
      if (first) first.tabIndex = 0;
    } catch (error) {
      tree.replaceChildren(element("li", "class-picker__error", `Could not load the hierarchy: ${error.message}`));
    }
  }

  function visibleItems() {
    return [...tree.querySelectorAll('[role="treeitem"]')].filter((item) => {
      for (let group = item.parentElement; group && group !== tree; group = group.parentElement) {
        if (group.hidden) return false;
      }
      return true;
    });
  }

  function focusItem(item) {
    if (!item) return;
    for (const other of tree.querySelectorAll('[role="treeitem"][tabindex="0"]')) other.tabIndex = -1;
    item.tabIndex = 0;
    item.focus({ preventScroll: true });
    item.querySelector(".class-picker__row").scrollIntoView({ block: "nearest" });
  }

  async function expand(item) {
    if (item.getAttribute("aria-expanded") !== "false") return;
    item.setAttribute("aria-expanded", "true");
    let group = item.querySelector(':scope > [role="group"]');
    if (group) {
      group.hidden = false;
      return;
    }
    group = element("ul", "class-picker__group");
    group.setAttribute("role", "group");
    const loading = element("li", "class-picker__loading muted small", "Loading…");
    group.append(loading);
    item.append(group);
    item.setAttribute("aria-busy", "true");
    try {
      const data = await loadChildren(item.dataset.wnid);
      renderLevel(group, data.children, Number(item.getAttribute("aria-level")) + 1);
    } catch (error) {
      group.remove();
      item.setAttribute("aria-expanded", "false");
      throw error;
    } finally {
      item.removeAttribute("aria-busy");
    }
  }

  function collapse(item) {
    if (item.getAttribute("aria-expanded") !== "true") return;
    item.setAttribute("aria-expanded", "false");
    const group = item.querySelector(':scope > [role="group"]');
    if (group) group.hidden = true;
  }

  function parentItem(item) {
    const group = item.parentElement;
    return group && group !== tree ? group.closest('[role="treeitem"]') : null;
  }

  async function toggle(item) {
    if (item.getAttribute("aria-expanded") === "true") collapse(item);
    else await expand(item);
  }

  tree.addEventListener("keydown", async (event) => {
    const item = event.target.closest('[role="treeitem"]');
    if (!item || event.altKey || event.ctrlKey || event.metaKey) return;
    const items = visibleItems();
    const index = items.indexOf(item);
    const expanded = item.getAttribute("aria-expanded");
    let handled = true;
    switch (event.key) {
      case "ArrowDown":
        focusItem(items[Math.min(items.length - 1, index + 1)]);
        break;
      case "ArrowUp":
        focusItem(items[Math.max(0, index - 1)]);
        break;
      case "Home":
        focusItem(items[0]);
        break;
      case "End":
        focusItem(items[items.length - 1]);
        break;
      case "ArrowRight":
        if (expanded === "false") await expand(item);
        else if (expanded === "true") focusItem(item.querySelector('[role="group"] [role="treeitem"]'));
        break;
      case "ArrowLeft":
        if (expanded === "true") collapse(item);
        else focusItem(parentItem(item));
        break;
      case "Enter":
        if (canChoose(item.synset) && !(anyNode && event.shiftKey)) choose(item.synset);
        else if (expanded !== null) await toggle(item);
        break;
      case " ":
        if (expanded !== null) await toggle(item);
        else if (canChoose(item.synset)) choose(item.synset);
        break;
      default:
        handled = false;
    }
    if (handled) {
      event.preventDefault();
      event.stopPropagation();
    }
  });

  tree.addEventListener("click", async (event) => {
    const item = event.target.closest('[role="treeitem"]');
    if (!item) return;
    focusItem(item);
    const onTwisty = event.target.closest(".class-picker__twisty");
    if (item.getAttribute("aria-expanded") !== null && (onTwisty || !canChoose(item.synset))) await toggle(item);
    else if (canChoose(item.synset)) choose(item.synset);
  });

  // ---- keyword search ----------------------------------------------------------------------------------

  function showResults(open) {
    resultList.hidden = !open;
    treeSection.hidden = open || none.hidden === false;
    input.setAttribute("aria-expanded", String(open));
    if (!open) input.removeAttribute("aria-activedescendant");
  }

  function renderResults() {
    resultList.replaceChildren(
      ...results.map((synset, index) => {
        const option = element("li", "class-picker__option");
        option.id = `${prefix}-option-${index}`;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", String(index === activeResult));
        option.dataset.wnid = synset.wnid;
        const head = element("div", "class-picker__option-head");
        head.append(element("span", "class-picker__option-label", synset.words[0]));
        if (synset.words.length > 1) head.append(element("span", "class-picker__option-words", synset.words.slice(1).join(", ")));
        if (synset.class_index === null) head.append(element("span", "badge badge--quiet", "category"));
        head.append(element("span", "class-picker__wnid", synset.wnid));
        option.append(head, element("div", "class-picker__gloss", synset.gloss));
        option.addEventListener("mousedown", (event) => {
          event.preventDefault();
          chooseResult(index);
        });
        return option;
      }),
    );
    if (activeResult >= 0) {
      input.setAttribute("aria-activedescendant", `${prefix}-option-${activeResult}`);
      resultList.children[activeResult].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
    const searching = Boolean(input.value.trim());
    none.hidden = !(searching && results.length === 0);
    showResults(searching && results.length > 0);
    root.dataset.results = String(results.length);
  }

  async function search() {
    const q = input.value.trim();
    const mine = (generation += 1);
    if (!q) {
      results = [];
      activeResult = -1;
      stale = false;
      renderResults();
      return;
    }
    const params = new URLSearchParams({ q, limit: String(searchLimit) });
    if (!anyNode) params.set("classes_only", "1");
    root.dataset.searching = "true";
    try {
      const { data } = await request(`${searchUrl}?${params}`);
      if (mine !== generation) return;
      results = Array.isArray(data) ? data : [];
      activeResult = -1;
      stale = false;
      renderResults();
    } catch {
      if (mine !== generation) return;
      results = [];
      renderResults();
    } finally {
      if (mine === generation) delete root.dataset.searching;
    }
  }

  function chooseResult(index) {
    const synset = results[index];
    if (!synset) return;
    choose({ wnid: synset.wnid, label: synset.words[0], words: synset.words, gloss: synset.gloss, is_class: synset.class_index !== null });
  }

  input.addEventListener("input", () => {
    stale = true;
    clearTimeout(timer);
    timer = setTimeout(search, DEBOUNCE_MS);
  });
  input.addEventListener("keydown", async (event) => {
    if (event.isComposing) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!results.length) {
        if (event.key === "ArrowDown" && !input.value.trim()) focusTree();
        return;
      }
      activeResult = stepOption(activeResult, event.key, results.length);
      renderResults();
    } else if (event.key === "Enter") {
      event.preventDefault();
      event.stopPropagation();
      clearTimeout(timer);
      if (!input.value.trim()) return;
      if (stale) await search();
      if (!stale && results.length) chooseResult(Math.max(activeResult, 0));
    } else if (event.key === "Escape") {
      if (input.value) {
        event.preventDefault();
        event.stopPropagation();
        clearSearch();
      }
    }
  });

  function clearSearch() {
    input.value = "";
    generation += 1;
    results = [];
    activeResult = -1;
    stale = false;
    renderResults();
  }

  // ---- choosing ------------------------------------------------------------------------------------------

  function choose(synset) {
    chosenWnid = synset.wnid;
    for (const item of tree.querySelectorAll('[role="treeitem"][aria-selected]')) {
      item.setAttribute("aria-selected", String(item.dataset.wnid === chosenWnid));
    }
    root.dataset.chosen = chosenWnid;
    onChoose(synset);
  }

  function focusTree() {
    clearSearch();
    focusItem(tree.querySelector('[role="treeitem"][tabindex="0"]') || tree.querySelector('[role="treeitem"]'));
  }

  start();

  return {
    element: root,
    focusSearch() {
      input.focus();
      input.select();
    },
    focusTree,
    clearSearch,
    /** Forget the choice (for the next image); the tree keeps its open branches. */
    reset() {
      chosenWnid = "";
      delete root.dataset.chosen;
      for (const item of tree.querySelectorAll('[role="treeitem"][aria-selected]')) item.setAttribute("aria-selected", "false");
      clearSearch();
    },
    get chosen() {
      return chosenWnid;
    },
  };
}
