// The revisions pages of a test set. On the revisions page: the sampling form, previewed before it is saved (a
// preview of other inputs than those on screen cannot be saved), two revisions picked for comparison, and the
// crowd's tasks created and selections imported. On a revision's page: making it a dataset.

import { ApiError, request } from "./api.js";

// Seeds offered by "New seed": short enough to note down.
const OFFERED_SEEDS = 2 ** 31;

function showError(box, error) {
  box.textContent = error instanceof ApiError || error instanceof Error ? error.message : String(error);
  box.hidden = false;
}

/** Mark the inputs named by an answer's fields as invalid (and only those). */
function markInvalid(form, data) {
  for (const input of form.querySelectorAll("[name]")) input.removeAttribute("aria-invalid");
  if (!data || typeof data !== "object") return;
  for (const field of Object.keys(data)) {
    const input = form.querySelector(`[name="${CSS.escape(field)}"]`);
    if (input) input.setAttribute("aria-invalid", "true");
  }
}

/** The number in an input, or null when it is empty (the server then takes its default). */
function numberOrNull(input) {
  const text = input.value.trim();
  return text === "" ? null : Number(text);
}

/** {wnid: threshold} from lines (or comma-separated items) of "wnid=value"; an Error names a malformed one. */
function parseThresholds(text) {
  const overrides = {};
  for (const item of text.split(/[\n,]/)) {
    if (!item.trim()) continue;
    const match = item.trim().match(/^(\S+?)\s*[=:]\s*(\S+)$/);
    if (!match || Number.isNaN(Number(match[2]))) {
      throw new Error(`thresholds: "${item.trim()}" is not wnid=frequency, e.g. n01440764=0.9`);
    }
    if (Object.hasOwn(overrides, match[1])) {
      throw new Error(`thresholds: ${match[1]} is given twice (${overrides[match[1]]} and ${match[2]}); keep one`);
    }
    overrides[match[1]] = Number(match[2]);
  }
  return overrides;
}

function setUpSampling(form) {
  const errorBox = form.querySelector("[data-sample-error]");
  const status = form.querySelector("[data-sample-status]");
  const saveButton = form.querySelector("[data-save]");
  const previewButton = form.querySelector("[data-preview]");
  const result = document.querySelector("[data-preview-result]");
  const labels = JSON.parse(document.getElementById("class-labels").textContent);
  let previewed = null; // the body of the preview on screen, while the inputs still give it

  const strategy = () => form.querySelector('[name="strategy"]:checked').value;

  function showStrategy() {
    form.querySelector("[data-threshold-fields]").hidden = strategy() !== "threshold";
    for (const help of form.querySelectorAll("[data-strategy-help]")) help.hidden = help.dataset.strategyHelp !== strategy();
  }

  /** The request body of the inputs on screen. */
  function body() {
    const fields = form.elements;
    const sample = {
      strategy: strategy(),
      seed: numberOrNull(fields.seed) ?? 0,
      from: fields.from.value ? Number(fields.from.value) : null,
    };
    // An empty field is left out of the request: the server takes its default (which the preview names).
    const perClass = numberOrNull(fields.per_class);
    if (perClass !== null) sample.per_class = perClass;
    if (sample.strategy === "threshold") {
      const threshold = numberOrNull(fields.threshold);
      if (threshold !== null) sample.threshold = threshold;
      sample.thresholds = parseThresholds(fields.thresholds.value);
    }
    return sample;
  }

  function inputsChanged() {
    showStrategy();
    if (!previewed) return;
    previewed = null;
    saveButton.disabled = true;
    result.querySelector("[data-preview-note]").textContent = "(of other inputs: preview again to save)";
  }

  function showPreview(answer, sample) {
    const classes = new Set(answer.images.map((image) => image.wnid));
    const short = Object.entries(answer.short_classes);
    const figures = { images: answer.images.length, classes: classes.size, upward: answer.upward, short: short.length };
    for (const [name, value] of Object.entries(figures)) {
      result.querySelector(`[data-figure="${name}"]`).textContent = value.toLocaleString("en");
    }
    const rows = short.map(([wnid, { wanted, sampled, reason }]) => {
      const row = document.createElement("tr");
      row.dataset.class = wnid;
      const name = document.createElement("td");
      name.textContent = labels[wnid] ? `${labels[wnid]} ` : "";
      const code = document.createElement("span");
      code.className = "muted small";
      code.textContent = wnid;
      name.append(code);
      const cells = [wanted, sampled].map((figure) => {
        const cell = document.createElement("td");
        cell.className = "num";
        cell.textContent = figure;
        return cell;
      });
      const why = document.createElement("td");
      why.className = "small";
      why.textContent = reason;
      row.append(name, ...cells, why);
      return row;
    });
    result.querySelector("tbody").replaceChildren(...rows);
    result.querySelector("[data-short-table]").hidden = !rows.length;
    result.querySelector("[data-none-short]").hidden = rows.length > 0;
    const from = sample.from ? `, from revision ${sample.from}` : "";
    const perClass = sample.per_class ?? `${form.dataset.defaultPerClass} (the test set's default)`;
    const threshold =
      sample.strategy !== "threshold" ? "" : `, frequency at least ${sample.threshold ?? `${form.dataset.defaultThreshold} (the default)`}`;
    result.querySelector("[data-preview-note]").textContent =
      `(${sample.strategy}, ${perClass} per class${threshold}, seed ${sample.seed}${from}; nothing saved yet)`;
    result.hidden = false;
  }

  async function send(url, sample) {
    errorBox.hidden = true;
    markInvalid(form, null);
    previewButton.disabled = saveButton.disabled = true;
    try {
      return (await request(url, { method: "POST", body: sample, timeout: Infinity })).data;
    } catch (error) {
      markInvalid(form, error.data);
      showError(errorBox, error);
      return null;
    } finally {
      previewButton.disabled = false;
      status.textContent = "";
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let sample;
    try {
      sample = body();
    } catch (error) {
      markInvalid(form, { thresholds: error.message });
      showError(errorBox, error);
      return;
    }
    status.textContent = "Sampling…";
    const answer = await send(form.dataset.previewUrl, sample);
    if (!answer) return;
    previewed = sample;
    showPreview(answer, sample);
    saveButton.disabled = false;
    saveButton.focus();
  });

  saveButton.addEventListener("click", async () => {
    if (!previewed) return;
    status.textContent = "Saving…";
    const answer = await send(form.dataset.sampleUrl, previewed);
    if (!answer) {
      saveButton.disabled = false;
      return;
    }
    window.location.assign(form.dataset.revisionUrl.replace(/\/0\/$/, `/${answer.revision}/`));
  });

  form.querySelector("[data-new-seed]").addEventListener("click", () => {
    form.elements.seed.value = Math.floor(Math.random() * OFFERED_SEEDS);
    inputsChanged();
  });
  form.addEventListener("input", inputsChanged);
  form.addEventListener("change", inputsChanged);
  // ?from=N (a revision page's "sample a new revision from" link) picks the revision to start from.
  const from = new URLSearchParams(window.location.search).get("from");
  if (from && [...form.elements.from.options].some((option) => option.value === from)) form.elements.from.value = from;
  showStrategy();
}

function setUpComparing(button) {
  const picks = [...document.querySelectorAll("[data-compare-pick]")];
  const chosen = () => picks.filter((pick) => pick.checked).map((pick) => Number(pick.value));
  const update = () => {
    button.disabled = chosen().length !== 2;
  };
  for (const pick of picks) {
    pick.addEventListener("change", () => {
      // At most two: ticking a third unticks the one ticked first.
      if (pick.checked && chosen().length > 2) picks.find((other) => other !== pick && other.checked).checked = false;
      update();
    });
  }
  button.addEventListener("click", () => {
    const [first, second] = chosen().sort((a, b) => a - b);
    window.location.assign(button.dataset.compareUrl.replace(/\/1\/compare\/2\/$/, `/${first}/compare/${second}/`));
  });
  update();
}

function setUpTasks(section) {
  const resultBox = section.querySelector("[data-tasks-result]");
  const show = (text, failed = false) => {
    resultBox.textContent = text;
    resultBox.className = `alert tsr-tasks__result alert--${failed ? "error" : "success"}`;
    resultBox.hidden = false;
  };

  const figures = section.querySelector("[data-tasks-figures]");
  /** The figures above the forms, moved by what a creation or an import just added. */
  function addToFigures(tasks, assignments) {
    const count = (name, added) => (figures.dataset[name] = String(Number(figures.dataset[name]) + added));
    const plural = (value, word) => `${Number(value).toLocaleString("en")} ${word}${Number(value) === 1 ? "" : "s"}`;
    figures.textContent = `${plural(count("tasks", tasks), "task")}, ${plural(count("assignments", assignments), "assignment")} so far.`;
  }

  async function submit(form, url, body, describe) {
    const button = form.querySelector("[type=submit]");
    button.disabled = true;
    markInvalid(form, null);
    try {
      const { data } = await request(url, { method: "POST", body, timeout: Infinity });
      show(describe(data));
    } catch (error) {
      markInvalid(form, error.data);
      show(error.message, true);
    } finally {
      button.disabled = false;
    }
  }

  const tasksForm = section.querySelector("[data-tasks-form]");
  tasksForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = {};
    for (const input of tasksForm.querySelectorAll("input[name]")) {
      const value = numberOrNull(input);
      if (value !== null) body[input.name] = value;
    }
    submit(tasksForm, section.dataset.tasksUrl, body, (summary) => {
      const made = summary.tasks.candidates + summary.tasks.reference;
      addToFigures(made, 0);
      if (!made) return `No task created: ${summary.why_none}.`;
      return `${made} tasks created (${summary.tasks.candidates} of candidates, ${summary.tasks.reference} of reference images), ${summary.images} images in all.`;
    });
  });

  const selectionsForm = section.querySelector("[data-selections-form]");
  selectionsForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const file = selectionsForm.elements.file.files[0];
    if (!file) {
      markInvalid(selectionsForm, { file: true });
      show("file: choose the JSON Lines file of the crowd's selections", true);
      return;
    }
    const body = new FormData();
    body.append("file", file);
    submit(selectionsForm, section.dataset.selectionsUrl, body, (summary) => {
      addToFigures(0, summary.assignments);
      const created = summary.accounts_created ? `, ${summary.accounts_created} new accounts` : "";
      return `${summary.assignments} assignments of ${summary.annotators} annotators imported${created}; ${summary.excluded} under the quality threshold; ${summary.frequencies} frequencies recounted.`;
    });
  });
}

function setUpRevisionActions(actions) {
  const button = actions.querySelector("[data-make-dataset]");
  if (!button) return;
  const errorBox = document.querySelector("[data-revision-error]");
  button.addEventListener("click", async () => {
    button.disabled = true;
    button.textContent = "Making the dataset…";
    errorBox.hidden = true;
    try {
      const { data } = await request(actions.dataset.datasetUrl, { method: "POST", timeout: Infinity });
      const link = document.createElement("a");
      link.className = "btn btn--primary";
      link.href = actions.dataset.datasetPageUrl.replace("/DATASET/", `/${encodeURIComponent(data.dataset)}/`);
      link.dataset.testid = "dataset-link";
      link.textContent = `Dataset ${data.dataset}`;
      button.replaceWith(link);
      link.focus();
    } catch (error) {
      showError(errorBox, error);
      button.disabled = false;
      button.textContent = "Make a dataset";
    }
  });
}

const sampleForm = document.querySelector("[data-sample-form]");
if (sampleForm) setUpSampling(sampleForm);
const compareButton = document.querySelector("[data-compare]");
if (compareButton) setUpComparing(compareButton);
const tasks = document.querySelector("[data-tasks]");
if (tasks) setUpTasks(tasks);
const revisionActions = document.querySelector("[data-revision-actions]");
if (revisionActions) setUpRevisionActions(revisionActions);
