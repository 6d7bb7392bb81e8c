// A test set's overview (testsets/overview.html): its class filters apply as soon as they change, and "/" goes to the
// class search. The form is a plain GET form: the filters live in the address, and the page works without this.

import { isTyping } from "./ui.js";

const form = document.getElementById("class-filters");

if (form) {
  const search = form.elements.namedItem("q");
  form.addEventListener("change", (event) => {
    if (event.target !== search) form.requestSubmit();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) return;
    event.preventDefault();
    search.focus();
    search.select();
  });
}
