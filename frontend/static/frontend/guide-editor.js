// The guide page editor: Markdown with a live preview rendered by the server (the same renderer as
// the page), the page's classes picked from the class search, images uploaded into the text (button,
// paste or drop), saving with Ctrl+S, and a warning when someone else saved the page meanwhile.

import { ApiError, request } from "./api.js";
import { createClassSearch } from "./class-search.js";
import { initGuidePanel } from "./guide-panel.js";

const PREVIEW_DEBOUNCE_MS = 250;
const WNIDS_IN_TEXT = /n\d{8}/g;
const HAS_WNID = /n\d{8}/;

initGuidePanel();

const form = document.getElementById("guide-editor");
const $ = (id) => document.getElementById(id);
const els = {
  title: $("page-title"),
  body: $("page-body"),
  preview: $("preview"),
  previewState: $("preview-state"),
  error: $("editor-error"),
  status: $("save-status"),
  save: $("save-button"),
  upload: $("upload-button"),
  file: $("upload-input"),
  chips: $("class-chips"),
  classInput: $("class-input"),
  options: $("class-options"),
};
const config = { ...form.dataset };
const isNew = config.mode === "new";
const state = {
  baseRevision: config.baseRevision === "" ? null : Number(config.baseRevision),
  classes: JSON.parse($("page-classes").textContent), // [{wnid, label}]
  dirty: false,
  saving: false,
  previewGeneration: 0,
  previewTimer: null,
};

function showError(message) {
  els.error.textContent = message;
  els.error.hidden = !message;
  if (message) els.error.scrollIntoView({ block: "nearest" });
}

function setStatus(text) {
  els.status.textContent = text;
}

function markDirty() {
  if (!state.dirty) setStatus("Unsaved changes");
  state.dirty = true;
}

// ---------------------------------------------------------------------------------------------
// Live preview

async function refreshPreview() {
  const mine = ++state.previewGeneration;
  els.previewState.textContent = "Updating…";
  try {
    const { data } = await request(config.previewUrl, { method: "POST", body: { body: els.body.value } });
    if (mine !== state.previewGeneration) return;
    // The server renders Markdown with raw HTML off (labelguide.rendering): the HTML is inert.
    els.preview.innerHTML = data.html || '<p class="muted">Nothing written yet.</p>';
    els.previewState.textContent = "";
  } catch (error) {
    if (mine === state.previewGeneration) els.previewState.textContent = `Preview failed: ${error.message}`;
  }
}

function schedulePreview() {
  clearTimeout(state.previewTimer);
  state.previewTimer = setTimeout(refreshPreview, PREVIEW_DEBOUNCE_MS);
}

// ---------------------------------------------------------------------------------------------
// Classes: chips and a combobox over the class search

function renderChips() {
  if (!els.chips) return;
  els.chips.replaceChildren(
    ...state.classes.map(({ wnid, label }) => {
      const chip = document.createElement("li");
      chip.className = "chip";
      chip.dataset.wnid = wnid;
      const code = document.createElement("span");
      code.className = "chip__wnid";
      code.textContent = wnid;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "chip__close";
      remove.setAttribute("aria-label", `Remove ${label}`);
      remove.textContent = "×";
      remove.addEventListener("click", () => {
        state.classes = state.classes.filter((entry) => entry.wnid !== wnid);
        renderChips();
        markDirty();
        els.classInput.focus();
      });
      chip.append(code, document.createTextNode(label), remove);
      return chip;
    }),
  );
}

function addClass(wnid, label) {
  if (state.classes.some((entry) => entry.wnid === wnid)) return;
  state.classes.push({ wnid, label });
  renderChips();
  markDirty();
}

function setUpClassPicker() {
  const input = els.classInput;
  const classSearch = createClassSearch({
    input,
    list: els.options,
    searchUrl: config.synsetsUrl,
    limit: 8,
    query: () => ({ classes_only: "1" }),
    onChoose(synset) {
      addClass(synset.wnid, synset.words[0]);
      classSearch.clear();
    },
    onEnter(event) {
      // Enter never submits the form from this field; typed wnids win over the highlighted result.
      event.preventDefault();
      if (!HAS_WNID.test(input.value)) return false;
      addTypedWnids();
      return true;
    },
  });

  /** Typed or pasted wnids ("n01484850, n01491361") are added as they are; the server checks them. */
  async function addTypedWnids() {
    const wnids = input.value.match(WNIDS_IN_TEXT) || [];
    classSearch.clear();
    for (const wnid of wnids) {
      let label = wnid;
      try {
        const { data } = await request(`${config.synsetsUrl}${encodeURIComponent(wnid)}/`);
        label = data.words[0];
      } catch {
        // Unknown wnid: saving names the problem.
      }
      addClass(wnid, label);
    }
  }

  input.addEventListener("keydown", (event) => {
    if (event.key === "Backspace" && !input.value && state.classes.length) {
      state.classes.pop();
      renderChips();
      markDirty();
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Images: upload, then insert ![caption](url) where the cursor is and select the caption

function insertIntoBody(text) {
  const area = els.body;
  const start = area.selectionStart;
  const before = area.value.slice(0, start);
  const lead = !before || before.endsWith("\n\n") ? "" : before.endsWith("\n") ? "\n" : "\n\n";
  const snippet = `${lead}${text}\n`;
  area.focus();
  area.setRangeText(snippet, start, area.selectionEnd, "end");
  const captionStart = start + lead.length + 2;
  const captionEnd = captionStart + text.indexOf("]") - 2;
  area.setSelectionRange(captionStart, captionEnd);
  area.dispatchEvent(new Event("input", { bubbles: true }));
}

async function uploadImage(file) {
  if (!config.uploadUrl) {
    showError("Images belong to a page: create the page first, then upload images.");
    return;
  }
  showError("");
  setStatus(`Uploading ${file.name}…`);
  els.upload.disabled = true;
  const formData = new FormData();
  formData.append("file", file, file.name || "pasted-image.png");
  try {
    const { data } = await request(config.uploadUrl, { method: "POST", body: formData, timeout: Infinity });
    insertIntoBody(data.markdown);
    setStatus(`Uploaded ${data.name} — give it a caption`);
  } catch (error) {
    setStatus("");
    showError(`Upload failed: ${uploadRefusal(error)}`);
  } finally {
    els.upload.disabled = false;
    els.file.value = "";
  }
}

/** Why an upload failed; a refused file's reason needs no field name: there is only the one file. */
function uploadRefusal(error) {
  const why = error instanceof ApiError && error.data && error.data.file;
  return why ? [].concat(why).join(" ") : error.message;
}

function imageFiles(list) {
  return [...(list || [])].filter((file) => file.type.startsWith("image/"));
}

// ---------------------------------------------------------------------------------------------
// Saving

function payload() {
  const data = { title: els.title.value, body: els.body.value };
  if (els.chips) data.wnids = state.classes.map((entry) => entry.wnid);
  if (isNew) {
    const kind = form.querySelector('input[name="kind"]:checked');
    data.kind = kind ? kind.value : "comparison";
  } else {
    data.base_revision = state.baseRevision;
  }
  return data;
}

async function save() {
  if (state.saving) return;
  if (!els.title.value.trim()) {
    showError("Give the page a title.");
    els.title.focus();
    return;
  }
  state.saving = true;
  els.save.disabled = true;
  showError("");
  setStatus("Saving…");
  try {
    const { data } = await request(isNew ? config.createUrl : config.pageUrl, {
      method: isNew ? "POST" : "PUT",
      body: payload(),
    });
    state.dirty = false;
    setStatus("Saved");
    window.location.assign(data.url);
  } catch (error) {
    setStatus("Not saved");
    if (error instanceof ApiError && error.status === 409) {
      showError(`Not saved: ${error.message}`);
    } else {
      showError(`Not saved: ${error.message}.`);
    }
    els.save.disabled = false;
  } finally {
    state.saving = false;
  }
}

// ---------------------------------------------------------------------------------------------
// Wiring

form.addEventListener("submit", (event) => {
  event.preventDefault();
  save();
});
document.addEventListener("keydown", (event) => {
  if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === "s") {
    event.preventDefault();
    save();
  }
});
els.title.addEventListener("input", markDirty);
els.body.addEventListener("input", () => {
  markDirty();
  schedulePreview();
});
els.upload.addEventListener("click", () => els.file.click());
els.file.addEventListener("change", () => {
  const [file] = els.file.files;
  if (file) uploadImage(file);
});
els.body.addEventListener("paste", (event) => {
  const [file] = imageFiles(event.clipboardData && event.clipboardData.files);
  if (file && config.uploadUrl) {
    event.preventDefault();
    uploadImage(file);
  }
});
els.body.addEventListener("dragover", (event) => {
  if (config.uploadUrl && event.dataTransfer && [...event.dataTransfer.types].includes("Files")) event.preventDefault();
});
els.body.addEventListener("drop", (event) => {
  const [file] = imageFiles(event.dataTransfer && event.dataTransfer.files);
  if (file && config.uploadUrl) {
    event.preventDefault();
    uploadImage(file);
  }
});
window.addEventListener("beforeunload", (event) => {
  if (!state.dirty) return;
  event.preventDefault();
  event.returnValue = "";
});
form.querySelectorAll('input[name="kind"]').forEach((input) => input.addEventListener("change", markDirty));

if (els.classInput) {
  renderChips();
  setUpClassPicker();
}
refreshPreview();
