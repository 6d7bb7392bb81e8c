// The class filter picker of the dataset page: a combobox over the ranked synset search of the API.
// Choosing a class opens the review page filtered to it (review/?wnid=...).

import { createClassSearch } from "./class-search.js";

function setUp(root) {
  const hierarchy = root.querySelector('input[type="checkbox"]');
  const reviewUrl = root.dataset.reviewUrl;
  const classSearch = createClassSearch({
    input: root.querySelector('input[role="combobox"]'),
    list: root.querySelector('[role="listbox"]'),
    searchUrl: root.dataset.searchUrl,
    limit: 10,
    query: () => (hierarchy && hierarchy.checked ? {} : { classes_only: "1" }),
    onChoose: (synset) => window.location.assign(`${reviewUrl}?${new URLSearchParams({ wnid: synset.wnid })}`),
  });
  if (hierarchy) hierarchy.addEventListener("change", classSearch.search);
}

for (const root of document.querySelectorAll("[data-picker]")) setUp(root);
