// The labeling guide beside any page. A wnid shown anywhere in Relabel is a link
//
//   <a href="/guide/wnid/n01484850/" data-guide-wnid="n01484850">n01484850</a>
//
// and initGuidePanel() makes a plain click on such a link open the class's guide page in a side
// panel instead of leaving the page (a middle click or Ctrl+click still opens it in a new tab, and
// without JavaScript the link is an ordinary link). Links inside the panel open in the panel, with
// a Back button. Escape closes the panel and gives the focus back to where it was.
//
// Usage: import { initGuidePanel } from "./guide-panel.js"; initGuidePanel();
// openGuidePanel(wnid) / closeGuidePanel() / guidePanelWnid() drive it from code (keyboard shortcuts).

import { request } from "./api.js";

const WNID = /^n\d{8}$/;
const CACHE_MS = 60 * 1000;
const EXAMPLES_SHOWN = 3; // one row in the panel

export const guidePageUrl = (wnid) => `/guide/wnid/${encodeURIComponent(wnid)}/`;
const guideApiUrl = (wnid) => `/api/guide/wnids/${encodeURIComponent(wnid)}/`;

let panel = null; // the elements, once built
const cache = new Map(); // wnid -> {data, at}
const state = { wnid: null, trail: [], opener: null, generation: 0 };

/** A wnid link in the form the panel opens; text defaults to the wnid. */
export function guideLink(wnid, text = wnid) {
  const link = document.createElement("a");
  link.href = guidePageUrl(wnid);
  link.dataset.guideWnid = wnid;
  link.textContent = text;
  return link;
}

/** Listen for clicks on a[data-guide-wnid] links anywhere in the document. Safe to call more than once. */
export function initGuidePanel() {
  if (panel) return;
  panel = build();
  document.addEventListener("click", onClick);
  // Capture: the panel sees Escape before a page's own shortcut handlers (they skip handled keys).
  window.addEventListener("keydown", onKeyDown, true);
}

/** The wnid the open panel shows, or null when it is closed. */
export function guidePanelWnid() {
  return panel && !panel.root.hidden ? state.wnid : null;
}

export function openGuidePanel(wnid, { opener = document.activeElement, within = false } = {}) {
  if (!WNID.test(wnid)) return;
  initGuidePanel();
  if (within && state.wnid && state.wnid !== wnid) state.trail.push(state.wnid);
  if (!within) {
    state.trail = [];
    if (panel.root.hidden) state.opener = opener instanceof HTMLElement ? opener : null;
  }
  state.wnid = wnid;
  panel.root.hidden = false;
  panel.root.dataset.wnid = wnid;
  document.body.classList.add("has-guide-panel");
  show(wnid);
}

export function closeGuidePanel() {
  if (!panel || panel.root.hidden) return;
  state.generation += 1;
  panel.root.hidden = true;
  delete panel.root.dataset.wnid;
  document.body.classList.remove("has-guide-panel");
  const back = state.opener;
  state.wnid = null;
  state.trail = [];
  state.opener = null;
  if (panel.root.contains(document.activeElement)) document.activeElement.blur();
  if (back && back.isConnected) back.focus({ preventScroll: true });
}

function onClick(event) {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const link = event.target instanceof Element ? event.target.closest("a[data-guide-wnid]") : null;
  if (!link || !WNID.test(link.dataset.guideWnid)) return;
  event.preventDefault();
  openGuidePanel(link.dataset.guideWnid, { opener: link, within: panel.root.contains(link) });
}

function onKeyDown(event) {
  if (event.key !== "Escape" || panel.root.hidden || event.defaultPrevented) return;
  // A modal dialog of the page (a shortcut sheet) above the panel closes first.
  const modal = document.querySelector('[role="dialog"][aria-modal="true"]:not([hidden])');
  if (modal && !panel.root.contains(modal)) return;
  event.preventDefault();
  event.stopPropagation();
  closeGuidePanel();
}

// ---------------------------------------------------------------------------------------------
// Building and filling the panel

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function build() {
  const root = element("aside", "guide-panel");
  root.id = "guide-panel";
  root.hidden = true;
  root.setAttribute("role", "dialog");
  root.setAttribute("aria-modal", "false");
  root.setAttribute("aria-labelledby", "guide-panel-title");
  root.dataset.testid = "guide-panel";

  const head = element("header", "guide-panel__head");
  const back = element("button", "btn btn--ghost btn--small guide-panel__back", "←");
  back.type = "button";
  back.hidden = true;
  back.addEventListener("click", goBack);
  const heading = element("div", "guide-panel__heading");
  const kicker = element("p", "guide-panel__kicker");
  const wnid = element("span", "guide-panel__wnid");
  kicker.append(wnid, document.createTextNode(" · Labeling guide"));
  const title = element("h2", "guide-panel__title", "Labeling guide");
  title.id = "guide-panel-title";
  title.tabIndex = -1;
  heading.append(kicker, title);
  const close = element("button", "btn btn--ghost btn--small guide-panel__close");
  close.type = "button";
  close.setAttribute("aria-label", "Close the guide panel");
  close.title = "Close (Esc)";
  close.append(document.createTextNode("Close "), element("kbd", "", "Esc"));
  close.addEventListener("click", closeGuidePanel);
  head.append(back, heading, close);

  const scroll = element("div", "guide-panel__scroll");
  const status = element("div", "guide-panel__status");
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  const content = element("div", "guide-panel__content");
  scroll.append(status, content);

  const foot = element("footer", "guide-panel__foot");
  const full = element("a", "btn btn--primary btn--small", "Open full page");
  full.dataset.testid = "guide-panel-full";
  const edit = element("a", "btn btn--ghost btn--small", "Edit");
  edit.hidden = true;
  foot.append(full, edit);

  root.append(head, scroll, foot);
  document.body.append(root);
  return { root, back, wnid, title, status, content, scroll, full, edit };
}

function goBack() {
  const previous = state.trail.pop();
  if (!previous) return;
  state.wnid = previous;
  panel.root.dataset.wnid = previous;
  show(previous);
}

async function show(wnid) {
  const mine = ++state.generation;
  panel.wnid.textContent = wnid;
  panel.full.href = guidePageUrl(wnid);
  panel.back.hidden = state.trail.length === 0;
  if (state.trail.length) {
    const previous = state.trail[state.trail.length - 1];
    const cached = cache.get(previous);
    panel.back.setAttribute("aria-label", `Back to ${cached ? cached.data.title : previous}`);
  }
  const cached = cache.get(wnid);
  if (cached && Date.now() - cached.at < CACHE_MS) {
    render(cached.data);
  } else {
    panel.root.dataset.state = "loading";
    if (!cached) {
      panel.title.textContent = "Loading…";
      panel.content.replaceChildren();
      panel.edit.hidden = true;
    }
    panel.status.textContent = "Loading the guide page…";
    try {
      const { data } = await request(guideApiUrl(wnid), { timeout: 10000 });
      cache.set(wnid, { data, at: Date.now() });
      if (mine !== state.generation) return;
      render(data);
    } catch (error) {
      if (mine !== state.generation) return;
      if (cached) {
        render(cached.data);
        return;
      }
      panel.root.dataset.state = "error";
      panel.title.textContent = wnid;
      panel.status.textContent = `Could not load the guide page: ${error.message}.`;
      const retry = element("button", "btn btn--small", "Try again");
      retry.type = "button";
      retry.addEventListener("click", () => show(wnid));
      panel.content.replaceChildren(retry);
    }
  }
  panel.title.focus({ preventScroll: true });
}

function render(data) {
  panel.root.dataset.state = "ready";
  panel.status.textContent = "";
  panel.title.textContent = data.title;
  panel.edit.hidden = !data.can_edit;
  panel.edit.href = data.edit_url;
  panel.full.href = data.url;
  const parts = [];
  const classInfo = data.examples && data.examples[0];
  if (classInfo) {
    const words = element("p", "guide-panel__words", classInfo.words.join(", "));
    const gloss = element("p", "guide-panel__gloss", classInfo.gloss);
    parts.push(words, gloss);
  }
  if (data.body_html) {
    const body = section("Expert notes");
    const prose = element("div", "guide-prose");
    // Rendered on the server from Markdown with raw HTML off (labelguide.rendering): inert.
    prose.innerHTML = data.body_html;
    body.append(prose);
    parts.push(body);
  }
  if (data.kind === "class") parts.push(confusions(data.confused_with || []));
  if (classInfo && classInfo.images.length) parts.push(examples(classInfo));
  if (data.generated_html) {
    const generated = section("From WordNet and the class hierarchy");
    const prose = element("div", "guide-prose guide-prose--quiet");
    prose.innerHTML = data.generated_html;
    generated.append(prose);
    parts.push(generated);
  }
  if (data.related_pages && data.related_pages.length) {
    const related = section("Compared in");
    const list = element("ul", "guide-panel__related");
    for (const page of data.related_pages) {
      const item = element("li");
      const link = element("a", "", page.title);
      link.href = `/guide/${encodeURIComponent(page.slug)}/`;
      item.append(link);
      list.append(item);
    }
    related.append(list);
    parts.push(related);
  }
  panel.content.replaceChildren(...parts);
  panel.scroll.scrollTop = 0;
}

function section(title) {
  const node = element("section", "guide-panel__section");
  node.append(element("h3", "guide-panel__subhead", title));
  return node;
}

function examples(classInfo) {
  const node = section("Example images");
  const list = element("ul", "guide-examples guide-examples--compact");
  for (const image of classInfo.images.slice(0, EXAMPLES_SHOWN)) {
    const item = element("li", "guide-example");
    const link = element("a");
    link.href = image.url;
    link.target = "_blank";
    link.rel = "noopener";
    link.title = `${image.file_name} (${image.dataset})`;
    const img = element("img");
    img.src = image.url;
    img.alt = `Example of ${classInfo.label}: ${image.file_name}`;
    img.loading = "lazy";
    link.append(img);
    item.append(link);
    if (image.confirmed) {
      const caption = element("span", "guide-example__caption");
      caption.append(element("span", "guide-example__confirmed", "✓ confirmed"));
      item.append(caption);
    }
    list.append(item);
  }
  node.append(list);
  return node;
}

function confusions(entries) {
  const node = section("Potentially confused with");
  node.dataset.testid = "guide-panel-confusions";
  if (entries.length === 0) {
    node.append(element("p", "muted small", "No wrong top-1 predictions reviewed for this class yet."));
    return node;
  }
  const list = element("ol", "guide-confusions");
  for (const entry of entries) {
    const item = element("li", "guide-confusion");
    item.dataset.wnid = entry.wnid;
    const headLine = element("div", "guide-confusion__head");
    headLine.append(guideLink(entry.wnid, entry.label), element("span", "guide-confusion__wnid", entry.wnid));
    const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
    const counts = element(
      "p",
      "guide-confusion__counts small muted",
      `${plural(entry.predictions, "wrong prediction")} on ${plural(entry.images, "image")}`,
    );
    item.append(headLine, counts);
    if (entry.comparison) {
      const compare = element("a", "guide-confusion__compare small", `Compare: ${entry.comparison.title} →`);
      compare.href = `/guide/${encodeURIComponent(entry.comparison.slug)}/`;
      item.append(compare);
    }
    list.append(item);
  }
  node.append(list);
  return node;
}
