// The review screen: one image, its candidate labels with a verdict each, a problematic flag.
// Keyboard driven (press ? on the page for the keys); every change is saved at once through the
// ordered SaveQueue of api.js, shown optimistically with a per-candidate save indicator. Its parts are
// the modules under review/.

import { initGuidePanel } from "./guide-panel.js";
import { listenToInput } from "./review/input.js";
import { keepLeases, start } from "./review/navigation.js";
import { watchSaves } from "./review/saves.js";

watchSaves();
listenToInput();
keepLeases();
initGuidePanel();
start();
