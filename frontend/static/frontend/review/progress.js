// The progress in the bar: the reviewer's own counts follow each verdict's answer at once; the dataset's
// figures come from the progress API, throttled while verdicts are saved.

import { request } from "../api.js";
import { config, els } from "./page.js";

let progress = null; // the figures shown
let ownCounts = null; // the reviewer's counts in the latest verdict's answer
let countedSaves = 0; // how many verdict answers carried them

export async function loadProgress() {
  const countedBefore = countedSaves;
  try {
    const { data } = await request(config.progressUrl);
    // A save answered while this was on its way knows the reviewer's counts better.
    renderProgress(countedBefore === countedSaves ? data : { ...data, ...ownCounts });
  } catch {
    // Progress is informative only; the next save refreshes it.
  }
}

export const refreshProgress = throttle(loadProgress, 1500);

export function showOwnCounts(counts) {
  countedSaves += 1;
  ownCounts = counts;
  if (progress) renderProgress({ ...progress, ...counts });
}

function throttle(fn, wait) {
  let last = 0;
  let timer = null;
  return () => {
    const now = Date.now();
    const run = () => {
      last = Date.now();
      timer = null;
      fn();
    };
    if (now - last >= wait && !timer) run();
    else if (!timer) timer = setTimeout(run, wait - (now - last));
  };
}

function renderProgress(p) {
  progress = p;
  const pct = p.items ? (100 * p.reviewed_items) / p.items : 0;
  const shown = pct > 0 && pct < 1 ? pct.toFixed(1) : Math.floor(pct);
  const fmt = (n) => Number(n).toLocaleString("en-US");
  els.progress.querySelector(".progress__text").innerHTML = "";
  const text = els.progress.querySelector(".progress__text");
  const you = document.createElement("span");
  you.dataset.testid = "my-items";
  you.textContent = `You: ${fmt(p.my_items)} item${p.my_items === 1 ? "" : "s"}`;
  const sep = document.createElement("span");
  sep.className = "progress__sep";
  sep.textContent = " · ";
  const all = document.createElement("span");
  all.dataset.testid = "dataset-items";
  // Where several reviewers decide blind, the figures are one's own answers (the labels would tell the others').
  const whose = p.figures_of === "you" ? "Your answers" : "Dataset";
  all.textContent = `${whose}: ${fmt(p.reviewed_items)}/${fmt(p.items)} items (${shown}%)`;
  text.append(you, sep, all);
  const meter = els.progress.querySelector(".meter");
  meter.setAttribute("aria-valuenow", String(Math.round(pct)));
  meter.querySelector(".meter__bar").style.width = `${pct}%`;
  const done = p.figures_of === "you" ? "images with all your answers" : "images fully reviewed";
  els.progress.title = `${fmt(p.done_images)} of ${fmt(p.images)} ${done}; you reviewed ${fmt(p.my_items)} items on ${fmt(p.my_images)} images`;
}
