// Prediction jobs: the "Compute predictions" form of the jobs page, live progress of the jobs in its
// list, and the job page, which polls the API while its job is queued or running and can cancel it.

import { ApiError, backoff, request } from "./api.js";

const POLL_MS = 2000;
const MAX_POLL_MS = 30000;
// Listing a large dataset's images and writing its shards can take longer than an ordinary request.
const START_TIMEOUT_MS = 60 * 1000;
const FINISHED = new Set(["done", "failed", "cancelled"]);

const numberFormat = new Intl.NumberFormat("en-US");
const rateFormat = new Intl.NumberFormat("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const TIME_PARTS = { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
const timeFormats = {
  minutes: new Intl.DateTimeFormat(undefined, TIME_PARTS),
  seconds: new Intl.DateTimeFormat(undefined, { ...TIME_PARTS, second: "2-digit" }),
};

const isFinished = (state) => FINISHED.has(state);
const formatNumber = (value) => (value === null || value === undefined ? "—" : numberFormat.format(value));

/** 42 s, 2 min 10 s, 1 h 5 min, 2 d 3 h. */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || seconds === "" || !Number.isFinite(Number(seconds))) return "—";
  const total = Math.max(0, Math.round(Number(seconds)));
  if (total < 60) return `${total} s`;
  const days = Math.floor(total / 86400);
  const hours = Math.floor((total % 86400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = total % 60;
  if (days) return hours ? `${days} d ${hours} h` : `${days} d`;
  if (hours) return minutes ? `${hours} h ${minutes} min` : `${hours} h`;
  return secs ? `${minutes} min ${secs} s` : `${minutes} min`;
}

/** Fill in a URL template whose id placeholder is the last "/0/", e.g. /jobs/0/. */
function fill(template, id) {
  const at = template.lastIndexOf("/0/");
  return `${template.slice(0, at)}/${encodeURIComponent(id)}/${template.slice(at + 3)}`;
}

function percent(progress) {
  if (!progress.images_total) return progress.state === "done" ? 100 : 0;
  const processed = progress.images_done + progress.images_failed;
  return Math.min(100, Math.round((100 * processed) / progress.images_total));
}

function localizeTime(time) {
  const date = new Date(time.dateTime);
  if (Number.isNaN(date.getTime())) return;
  const format = time.dataset.precision === "seconds" ? timeFormats.seconds : timeFormats.minutes;
  time.textContent = format.format(date);
  time.title = date.toLocaleString();
}

function timeElement(iso, precision) {
  if (!iso) return document.createTextNode("—");
  const time = document.createElement("time");
  time.dateTime = iso;
  time.dataset.precision = precision;
  localizeTime(time);
  return time;
}

/** Show a job's progress dict in every [data-field] under root (a job page or a row of the list). */
function render(root, progress) {
  const pct = percent(progress);
  const fields = {
    state(el) {
      el.textContent = progress.state;
      el.dataset.state = progress.state;
    },
    shards(el) {
      el.textContent = `${formatNumber(progress.shards_done)} / ${formatNumber(progress.shards_total)}`;
    },
    images(el) {
      let text = `${formatNumber(progress.images_done)} / ${formatNumber(progress.images_total)}`;
      if ("withFailed" in el.dataset && progress.images_failed) {
        text += ` · ${formatNumber(progress.images_failed)} failed`;
      }
      el.textContent = text;
    },
    meter(el) {
      el.setAttribute("aria-valuenow", String(pct));
      el.querySelector(".meter__bar").style.width = `${pct}%`;
    },
    caption(el) {
      const strong = document.createElement("strong");
      strong.textContent = formatNumber(progress.images_done + progress.images_failed);
      el.replaceChildren(strong, ` of ${formatNumber(progress.images_total)} images processed (${pct}%)`);
    },
    failed(el) {
      el.textContent = formatNumber(progress.images_failed);
      el.classList.toggle("warn-text", progress.images_failed > 0);
    },
    rate(el) {
      el.textContent = progress.images_per_second ? rateFormat.format(progress.images_per_second) : "—";
    },
    eta(el) {
      el.dataset.seconds = progress.eta_seconds ?? "";
      el.textContent = formatDuration(progress.eta_seconds);
    },
    new_review_items(el) {
      el.textContent = formatNumber(progress.new_review_items);
    },
    error(el) {
      el.textContent = progress.error || "No reason was recorded.";
    },
    created_at: (el) => el.replaceChildren(timeElement(progress.created_at, "seconds")),
    started_at: (el) => el.replaceChildren(timeElement(progress.started_at, "seconds")),
    finished_at: (el) => el.replaceChildren(timeElement(progress.finished_at, "seconds")),
  };
  for (const el of root.querySelectorAll("[data-field]")) {
    const update = fields[el.dataset.field];
    if (update) update(el);
  }
  for (const el of root.querySelectorAll("[data-show-when]")) el.hidden = el.dataset.showWhen !== progress.state;
  root.dataset.state = progress.state;
}

/** Server-rendered numbers and times as the script shows them: durations spelled out, local times. */
function polish(root) {
  for (const el of root.querySelectorAll('[data-field="eta"]')) el.textContent = formatDuration(el.dataset.seconds);
  for (const time of root.querySelectorAll("time[datetime]")) localizeTime(time);
}

/**
 * Call `refresh` every POLL_MS while `active()` holds, backing off after failures and pausing while
 * the tab is hidden. `onStatus` hears "live", "retrying" (with the error) and "stopped".
 */
function poller({ refresh, active, onStatus = () => {} }) {
  let timer = null;
  let failures = 0;
  let running = false;

  function schedule() {
    clearTimeout(timer);
    if (!active()) {
      onStatus("stopped");
      return;
    }
    const delay = failures ? backoff(failures - 1, POLL_MS, MAX_POLL_MS) : POLL_MS;
    timer = setTimeout(tick, delay);
  }

  async function tick() {
    if (running) return;
    if (!active()) {
      onStatus("stopped"); // finished meanwhile, e.g. cancelled from this page
      return;
    }
    if (document.visibilityState === "hidden") {
      timer = null;
      return; // visibilitychange resumes it
    }
    running = true;
    try {
      await refresh();
      failures = 0;
      onStatus("live");
    } catch (error) {
      failures += 1;
      onStatus("retrying", error);
    } finally {
      running = false;
    }
    schedule();
  }

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && timer === null && active()) tick();
  });
  schedule();
}

function setUpJobPage(root) {
  const url = root.dataset.url;
  const cancelUrl = root.dataset.cancelUrl;
  const live = root.querySelector("[data-live]");
  const cancel = root.querySelector("[data-cancel]");
  const actionError = root.querySelector("[data-action-error]");

  function apply(progress) {
    render(root, progress);
    if (cancel) cancel.hidden = isFinished(progress.state);
    if (isFinished(progress.state)) showLive("stopped");
  }

  function showLive(status, error) {
    if (!live) return;
    live.dataset.status = status;
    live.hidden = status === "stopped";
    if (status === "live") live.textContent = "Live";
    else if (status === "retrying") {
      const signedOut = error instanceof ApiError && error.unauthorized;
      live.textContent = signedOut ? "Signed out: reload the page" : "Reconnecting…";
    }
  }

  let gone = false;
  polish(root);
  if (!isFinished(root.dataset.state)) showLive("live");
  poller({
    refresh: async () => {
      try {
        const { data } = await request(url);
        apply(data);
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) {
          gone = true;
          actionError.textContent = "This job no longer exists: it was deleted.";
          actionError.hidden = false;
        }
        throw error;
      }
    },
    active: () => !gone && !isFinished(root.dataset.state),
    onStatus: showLive,
  });

  if (cancel && cancelUrl) {
    cancel.addEventListener("click", async () => {
      const question =
        "Cancel this job? Shards that have not finished are skipped; finished shards keep their predictions.";
      if (!window.confirm(question)) return;
      cancel.disabled = true;
      const label = cancel.textContent;
      cancel.textContent = "Cancelling…";
      actionError.hidden = true;
      try {
        const { data } = await request(cancelUrl, { method: "POST" });
        apply(data);
      } catch (error) {
        actionError.textContent = `The job was not cancelled: ${error.message}.`;
        actionError.hidden = false;
      } finally {
        cancel.disabled = false;
        cancel.textContent = label;
      }
    });
  }
}

function setUpJobList(list) {
  polish(list);
  const rows = () =>
    [...list.querySelectorAll("tr[data-job]")].filter((row) => !isFinished(row.dataset.state) && !row.dataset.gone);
  poller({
    refresh: async () => {
      for (const row of rows()) {
        try {
          const { data } = await request(row.dataset.url);
          render(row, data);
        } catch (error) {
          if (!(error instanceof ApiError && error.status === 404)) throw error;
          row.dataset.gone = "true"; // deleted meanwhile: nothing more to follow
        }
      }
    },
    active: () => rows().length > 0,
  });
}

function setUpJobForm(form) {
  const error = form.querySelector("[data-form-error]");
  const status = form.querySelector("[data-form-status]");
  const submit = form.querySelector('button[type="submit"]');
  const field = (name) => form.elements.namedItem(name);
  // Not form.dataset: a form's named controls shadow its properties, and one is called "dataset".
  const apiUrl = form.getAttribute("data-url");
  const jobUrl = form.getAttribute("data-job-url");

  const wanted = new URLSearchParams(window.location.search).get("dataset");
  const datasetSelect = field("dataset");
  if (wanted && [...datasetSelect.options].some((option) => option.value === wanted)) {
    datasetSelect.value = wanted;
    field("model").focus();
  }

  function showError(message, fieldName) {
    const heading = document.createElement("strong");
    heading.textContent = "The job was not started. ";
    const text = document.createElement("span");
    text.dataset.testid = "job-form-message";
    text.textContent = message;
    error.replaceChildren(heading, text);
    error.hidden = false;
    if (fieldName && field(fieldName)) {
      field(fieldName).setAttribute("aria-invalid", "true");
      field(fieldName).focus();
    }
  }

  function clearErrors() {
    error.hidden = true;
    error.replaceChildren();
    for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  }

  form.addEventListener("input", (event) => event.target.removeAttribute("aria-invalid"));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    const body = {
      model: field("model").value.trim(),
      weights: field("weights").value.trim() || "DEFAULT",
      dataset: datasetSelect.value,
      batch_size: Number(field("batch_size").value),
      shard_size: Number(field("shard_size").value),
    };
    const name = field("name").value.trim();
    if (name) body.name = name;
    if (!body.model) {
      showError("Enter a torchvision architecture, e.g. resnet50.", "model");
      return;
    }
    for (const key of ["batch_size", "shard_size"]) {
      if (!Number.isInteger(body[key]) || body[key] < 1) {
        showError(`${field(key).labels[0].textContent} must be a whole number of at least 1.`, key);
        return;
      }
    }

    submit.disabled = true;
    submit.textContent = "Starting…";
    status.textContent = "Creating the job and queueing its shards…";
    try {
      const { data } = await request(apiUrl, { method: "POST", body, timeout: START_TIMEOUT_MS });
      status.textContent = "Started: opening the job…";
      window.location.assign(fill(jobUrl, data.id));
    } catch (failure) {
      const data = failure instanceof ApiError && failure.data && typeof failure.data === "object" ? failure.data : {};
      const fieldName = Object.keys(data).find((key) => key !== "detail" && field(key));
      showError(failure.message, fieldName);
      status.textContent = "";
      submit.disabled = false;
      submit.textContent = "Start job";
    }
  });
}

for (const root of document.querySelectorAll("[data-job-page]")) setUpJobPage(root);
for (const list of document.querySelectorAll("[data-job-list]")) setUpJobList(list);
for (const form of document.querySelectorAll("[data-job-form]")) setUpJobForm(form);
