// Guide pages other than the editor: search as you type (index), the class filter (classes),
// restoring revisions (history). Every guide page opens wnid links in the side panel.

import { request } from "./api.js";
import { initGuidePanel } from "./guide-panel.js";

const SEARCH_DEBOUNCE_MS = 150;

initGuidePanel();

// ---------------------------------------------------------------------------------------------
// Search as you type

function highlighted(text, terms) {
  // Text nodes and <mark> only: search results never go through innerHTML.
  const fragment = document.createDocumentFragment();
  const lower = text.toLowerCase();
  let at = 0;
  while (at < text.length) {
    let next = -1;
    let length = 0;
    for (const term of terms) {
      const found = lower.indexOf(term, at);
      if (found !== -1 && (next === -1 || found < next || (found === next && term.length > length))) {
        next = found;
        length = term.length;
      }
    }
    if (next === -1) break;
    if (next > at) fragment.append(text.slice(at, next));
    const mark = document.createElement("mark");
    mark.textContent = text.slice(next, next + length);
    fragment.append(mark);
    at = next + length;
  }
  fragment.append(text.slice(at));
  return fragment;
}

const KIND_LABELS = { class: "Class page", comparison: "Comparison", general: "General" };

function resultItem(result, terms) {
  const item = document.createElement("li");
  item.className = "guide-result";
  item.dataset.slug = result.slug;
  const head = document.createElement("div");
  head.className = "guide-result__head";
  const link = document.createElement("a");
  link.className = "guide-result__title";
  link.href = result.url;
  link.append(highlighted(result.title, terms));
  const kind = document.createElement("span");
  kind.className = "badge badge--quiet";
  kind.textContent = KIND_LABELS[result.kind] || result.kind;
  head.append(link, kind);
  for (const wnid of result.wnids.slice(0, 4)) {
    const tag = document.createElement("span");
    tag.className = "guide-result__wnid";
    tag.textContent = wnid;
    head.append(tag);
  }
  const snippet = document.createElement("p");
  snippet.className = "guide-result__snippet";
  snippet.append(highlighted(result.snippet, terms));
  item.append(head, snippet);
  return item;
}

function setUpSearch(root) {
  const input = root.querySelector('input[type="search"]');
  const list = root.querySelector(".guide-results");
  const status = root.querySelector(".guide-search__status");
  let timer = null;
  let generation = 0;

  async function run() {
    const query = input.value.trim();
    const mine = ++generation;
    const address = new URL(window.location.href);
    if (query) address.searchParams.set("q", query);
    else address.searchParams.delete("q");
    window.history.replaceState(null, "", address);
    if (!query) {
      list.replaceChildren();
      status.textContent = "";
      return;
    }
    root.dataset.state = "searching";
    try {
      const { data } = await request(`${root.dataset.searchUrl}?${new URLSearchParams({ q: query })}`);
      if (mine !== generation) return;
      const terms = query.toLowerCase().split(/\s+/).filter(Boolean);
      list.replaceChildren(...data.map((result) => resultItem(result, terms)));
      status.textContent = data.length
        ? `${data.length} page${data.length === 1 ? "" : "s"} found`
        : `No page mentions “${query}”.`;
    } catch (error) {
      if (mine === generation) status.textContent = `Search failed: ${error.message}.`;
    } finally {
      if (mine === generation) root.dataset.state = "ready";
    }
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(run, SEARCH_DEBOUNCE_MS);
  });
  root.querySelector("form").addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(timer);
    run();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown") {
      const first = list.querySelector("a");
      if (first) {
        event.preventDefault();
        first.focus();
      }
    }
  });
  list.addEventListener("keydown", (event) => {
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    const links = [...list.querySelectorAll(".guide-result__title")];
    const at = links.indexOf(document.activeElement);
    if (at === -1) return;
    event.preventDefault();
    if (event.key === "ArrowUp" && at === 0) input.focus();
    else links[Math.max(0, Math.min(links.length - 1, at + (event.key === "ArrowDown" ? 1 : -1)))].focus();
  });
}

const search = document.querySelector("[data-guide-search]");
if (search) setUpSearch(search);

// ---------------------------------------------------------------------------------------------
// Filtering a long list (the 1,000 classes) in place

for (const input of document.querySelectorAll("[data-filter-list]")) {
  const rows = [...document.getElementById(input.dataset.filterList).children];
  const status = document.getElementById(input.dataset.filterStatus);
  input.addEventListener("input", () => {
    const terms = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const row of rows) {
      const match = terms.every((term) => row.dataset.filterText.includes(term));
      row.hidden = !match;
      shown += match;
    }
    const total = rows.length.toLocaleString("en-US");
    status.textContent = terms.length ? `${shown.toLocaleString("en-US")} of ${total} classes` : `${total} classes`;
  });
}

// ---------------------------------------------------------------------------------------------
// Restoring a revision (a new revision with its content; nothing is lost, so no confirmation)

const revisions = document.querySelector("[data-restore-url]");
if (revisions) {
  const error = document.getElementById("history-error");
  revisions.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-restore]");
    if (!button) return;
    button.disabled = true;
    button.textContent = "Restoring…";
    const template = revisions.dataset.restoreUrl;
    const at = template.lastIndexOf("/0/");
    const url = `${template.slice(0, at)}/${encodeURIComponent(button.dataset.restore)}/${template.slice(at + 3)}`;
    try {
      await request(url, { method: "POST", body: {} });
      window.location.assign(revisions.dataset.pageUrl);
    } catch (failure) {
      error.textContent = `Could not restore the revision: ${failure.message}.`;
      error.hidden = false;
      button.disabled = false;
      button.textContent = "Restore";
    }
  });
}
