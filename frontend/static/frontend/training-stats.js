// Training statistics: choosing a trainee or a task shows it at once; wnid links open the guide panel.

import { initGuidePanel } from "./guide-panel.js";

initGuidePanel();

for (const select of document.querySelectorAll("[data-testid='stats-filter'] select")) {
  select.addEventListener("change", () => select.form.submit());
}
