// The results page. Everything comes from the results API in one request; the leaderboard (sortable by its
// headers, filterable), the plots, the humans' table and the mistake analysis are then drawn again in the page
// for each split, metric, averaging and filter chosen.

import { getJSON } from "./api.js";
import { guideLink, initGuidePanel } from "./guide-panel.js";
import { COLORS, barPlot, downloadPng, downloadSvg, position, scatterPlot, shades } from "./plot.js";

const SPLITS = ["all", "objects", "organisms", "dogs", "organisms_without_dogs"];
const SPLIT_LABELS = { organisms_without_dogs: "non-dog organisms" }; // short enough for a group of bars
const SUBSETS = ["all", "seen", "unseen", "fast", "slow"];
const BEST_MODELS = 3; // models beside the humans in the per-split bars, and named in the scatter plots
const GROUP_NAMES = { models: "Every model", humans: "Every human", both: "Both" };

const app = document.getElementById("results-app");
const reference = app.dataset.reference;
const compared = app.dataset.compared;
const $ = (id) => document.getElementById(id);

const state = {
  split: "all",
  metric: "multilabel",
  averaging: "image",
  kinds: new Set(["model", "human", "ensemble"]),
  filter: "",
  sort: { key: "reference", descending: true },
  mistakes: "models",
};
let results = null;
let loadedAt = 0; // performance.now() when the results arrived
const figures = new Map(); // key(...) -> score row
const drops = new Map(); // key(...) with the compared dataset -> drop row

const key = (predictor, dataset, split, metric, averaging, subset = "all") =>
  [predictor, dataset, split, metric, averaging, subset].join("\u0000");

const figure = (predictor, dataset, metric = state.metric, split = state.split, subset = "all") =>
  figures.get(key(predictor, dataset, split, metric, state.averaging, subset));

/** The multi-label metric of the plots and of the humans: the one chosen, strict for top-1 and top-5. */
const multilabelMetric = () => (state.metric.startsWith("multilabel") ? state.metric : "multilabel");

// --- formatting --------------------------------------------------------------------------------------------

const percent = (value) => (Math.round(value * 1000) / 10).toFixed(1);

/** 83.2, or 80.1–86.4 where only bounds are known, or — without a figure. */
function formatFigure(row) {
  if (!row || row.lower === null) return "—";
  return row.value !== null ? percent(row.value) : `${percent(row.lower)}–${percent(row.upper)}`;
}

function formatInterval(row) {
  return row && row.ci_low !== null ? `${percent(row.ci_low)}–${percent(row.ci_high)}` : "—";
}

function formatDrop(row) {
  if (!row || row.lower === null) return "—";
  const signed = (value) => `${value > 0 ? "+" : value < 0 ? "−" : ""}${percent(Math.abs(value))}`;
  return row.value !== null ? signed(row.value) : `${signed(row.lower)} to ${signed(row.upper)}`;
}

const formatCount = (row) => (row ? row.n.toLocaleString("en-US") : "—");

function node(tag, { className, text, title, attributes } = {}, children = []) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined) element.textContent = text;
  if (title) element.title = title;
  for (const [name, value] of Object.entries(attributes || {})) element.setAttribute(name, value);
  element.append(...children);
  return element;
}

const cell = (text, className = "table__figure") => node("td", { className, text });

// --- leaderboard ---------------------------------------------------------------------------------------------

function badges(predictor) {
  const found = [];
  if (predictor.simulated) found.push(node("span", { className: "badge badge--warn", text: "simulated" }));
  if (predictor.random_weights) found.push(node("span", { className: "badge badge--random", text: "random weights" }));
  if (predictor.kind === "model" && !predictor.votes) {
    found.push(node("span", { className: "badge badge--quiet", text: "does not vote" }));
  }
  return found;
}

function predictorCell(predictor) {
  const head = node("div", { className: "title-with-badges" }, [
    node("span", { className: "table__strong", text: predictor.name }),
    ...badges(predictor),
  ]);
  const td = node("td", {}, [head]);
  if (predictor.voters) {
    const who = predictor.of === "model" ? "models" : "humans";
    td.append(node("p", { className: "muted small table__note", text: `${predictor.voters} ${who} vote` }));
  }
  return td;
}

/** A figure's place in a sort: its value, or the middle of its bounds; null (last) without one. */
const sortValue = (row) => position(row)?.at ?? null;

function leaderboardEntries() {
  const filter = state.filter.trim().toLowerCase();
  const entries = results.predictors
    .filter((p) => state.kinds.has(p.kind) && (!filter || p.name.toLowerCase().includes(filter)))
    .map((predictor) => {
      const ref = figure(predictor.name, reference);
      const other = compared ? figure(predictor.name, compared) : null;
      const drop = compared
        ? drops.get(key(predictor.name, compared, state.split, state.metric, state.averaging))
        : null;
      return { predictor, ref, other, drop };
    })
    .filter((entry) => entry.ref || entry.other);
  const { key: sortKey, descending } = state.sort;
  const value = {
    name: (e) => e.predictor.name.toLowerCase(),
    kind: (e) => e.predictor.kind,
    reference: (e) => sortValue(e.ref),
    reference_n: (e) => e.ref?.n ?? null,
    compared: (e) => sortValue(e.other),
    compared_n: (e) => e.other?.n ?? null,
    drop: (e) => sortValue(e.drop),
  }[sortKey];
  return entries.sort((a, b) => {
    const [x, y] = [value(a), value(b)];
    if (x === null || y === null) return (x === null) - (y === null); // figures first, whichever the order
    const order = x < y ? -1 : x > y ? 1 : 0;
    return (descending ? -order : order) || a.predictor.name.localeCompare(b.predictor.name);
  });
}

function renderLeaderboard() {
  const body = $("leaderboard-rows");
  const entries = leaderboardEntries();
  body.replaceChildren(
    ...entries.map(({ predictor, ref, other, drop }, index) => {
      const tr = node("tr", { attributes: { "data-predictor": predictor.name, "data-kind": predictor.kind } });
      const refFigure = cell(formatFigure(ref));
      refFigure.dataset.figure = "reference";
      tr.append(cell(String(index + 1)), predictorCell(predictor), cell(predictor.kind, ""));
      tr.append(refFigure, cell(formatInterval(ref), "table__figure muted"), cell(formatCount(ref)));
      if (compared) {
        tr.append(cell(formatFigure(other)), cell(formatInterval(other), "table__figure muted"));
        tr.append(cell(formatCount(other)), cell(formatDrop(drop)));
      }
      return tr;
    }),
  );
  $("leaderboard-empty").hidden = entries.length > 0;
  for (const th of document.querySelectorAll(".results-table th[data-sort]")) {
    const sorted = th.dataset.sort === state.sort.key;
    if (sorted) th.setAttribute("aria-sort", state.sort.descending ? "descending" : "ascending");
    else th.removeAttribute("aria-sort");
  }
}

function voteNote() {
  const models = results.predictors.filter((p) => p.kind === "model");
  const voting = models.filter((p) => p.votes).length;
  const left = models.length - voting;
  const unmarked = "not marked simulated or random weights";
  const without = left ? ` ${left} marked simulated or random weights do not vote.` : "";
  if (voting >= 2) return `Model majority vote: the ${voting} models ${unmarked} vote.${without}`;
  if (models.length) return `No model majority vote: it needs two models ${unmarked}.${without}`;
  return "";
}

// --- plots ---------------------------------------------------------------------------------------------------

const ofKind = (kind) => results.predictors.filter((p) => p.kind === kind);
const metricLabel = (metric) =>
  ({ multilabel: "multi-label", multilabel_lenient: "lenient multi-label", top1: "top-1", top5: "top-5" })[metric];

function scatterOver(xOf, yOf, predictors) {
  return predictors
    .map((p) => ({ label: p.name, x: position(xOf(p)), y: position(yOf(p)) }))
    .filter((point) => point.x && point.y);
}

function levelsOf(predictors, colors, dataset, metric) {
  return predictors
    .map((p, i) => ({ name: p.name, color: colors[i], y: position(figure(p.name, dataset, metric)) }))
    .filter((level) => level.y);
}

function againstOriginal(originalMetric) {
  const metric = multilabelMetric();
  const humans = ofKind("human");
  const ensembles = ofKind("ensemble");
  const colors = [...shades(COLORS.human, humans.length), ...shades(COLORS.ensemble, ensembles.length)];
  return scatterPlot({
    title: `${metricLabel(metric)} vs ${metricLabel(originalMetric)} accuracy, ${reference} (${state.split})`,
    xLabel: `${metricLabel(originalMetric)} accuracy (%)`,
    yLabel: `${metricLabel(metric)} accuracy (%)`,
    series: [
      {
        name: "models",
        color: COLORS.model,
        points: scatterOver(
          (p) => figure(p.name, reference, originalMetric),
          (p) => figure(p.name, reference, metric),
          ofKind("model"),
        ),
        labelBest: BEST_MODELS,
      },
    ],
    levels: levelsOf([...humans, ...ensembles], colors, reference, metric),
    identity: true,
  });
}

function acrossDatasets() {
  const metric = multilabelMetric();
  const series = [
    ["models", COLORS.model, "model"],
    ["humans", COLORS.human, "human"],
    ["majority votes", COLORS.ensemble, "ensemble"],
  ].map(([name, color, kind]) => ({
    name,
    color,
    points: scatterOver(
      (p) => figure(p.name, reference, metric),
      (p) => figure(p.name, compared, metric),
      ofKind(kind),
    ),
    labelBest: kind === "model" ? BEST_MODELS : 0,
  }));
  return scatterPlot({
    title: `${reference} vs ${compared}, ${metricLabel(metric)} accuracy (${state.split})`,
    xLabel: `${reference} (%)`,
    yLabel: `${compared} (%)`,
    series: series.filter((s) => s.points.length),
    identity: true,
    fit: { name: "linear fit (models)", color: COLORS.model, of: "models" },
  });
}

function perSplit() {
  const metric = multilabelMetric();
  const valueOn = (p, split) => position(figure(p.name, reference, metric, split));
  const best = ofKind("model")
    .filter((p) => valueOn(p, "all"))
    .sort((a, b) => valueOn(b, "all").at - valueOn(a, "all").at)
    .slice(0, BEST_MODELS);
  const humans = ofKind("human");
  const ensembles = ofKind("ensemble");
  const chosen = [
    ...humans.map((p, i) => [p, shades(COLORS.human, humans.length)[i]]),
    ...best.map((p, i) => [p, shades(COLORS.model, best.length)[i]]),
    ...ensembles.map((p, i) => [p, shades(COLORS.ensemble, ensembles.length)[i]]),
  ];
  return barPlot({
    title: `Per split, ${reference}: humans, best models, votes`,
    yLabel: `${metricLabel(metric)} accuracy (%)`,
    groups: SPLITS.map((split) => SPLIT_LABELS[split] || split),
    series: chosen
      .map(([p, color]) => ({ name: p.name, color, values: SPLITS.map((split) => valueOn(p, split)) }))
      .filter((s) => s.values.some(Boolean)),
  });
}

function plotFigure(name, svg, hasData) {
  const filename = `${name}-${reference}${compared && name === "datasets" ? `-${compared}` : ""}-${state.split}`;
  const figureElement = node("figure", { className: "plot", attributes: { "data-plot": name } });
  if (!hasData) {
    const empty = `${svg.getAttribute("aria-label")}: no figures yet.`;
    figureElement.append(node("p", { className: "muted small", text: empty }));
    return figureElement;
  }
  const button = (format, download) => {
    const attributes = { type: "button", "data-download": format };
    const element = node("button", { className: "btn btn--ghost btn--small", text: format.toUpperCase(), attributes });
    element.addEventListener("click", () => download(svg, `${filename}.${format}`));
    return element;
  };
  const actions = [button("svg", downloadSvg), button("png", downloadPng)];
  figureElement.append(svg, node("figcaption", { className: "plot__actions" }, actions));
  return figureElement;
}

const hasMarks = (svg) => svg.querySelector("[data-label]") !== null;

function renderPlots() {
  const plots = [
    ["top1", againstOriginal("top1")],
    ["top5", againstOriginal("top5")],
    ...(compared ? [["datasets", acrossDatasets()]] : []),
    ["splits", perSplit()],
  ];
  $("plots").replaceChildren(...plots.map(([name, svg]) => plotFigure(name, svg, hasMarks(svg))));
}

// --- humans ----------------------------------------------------------------------------------------------------

function subsetCell(row) {
  const td = cell(formatFigure(row));
  if (row) td.append(node("span", { className: "table__caption", text: ` (${row.n})` }));
  return td;
}

function renderHumans() {
  const metric = multilabelMetric();
  const rows = [];
  for (const human of ofKind("human")) {
    for (const dataset of [reference, compared].filter(Boolean)) {
      if (!figure(human.name, dataset, metric)) continue;
      const tr = node("tr", { attributes: { "data-predictor": human.name, "data-dataset": dataset } });
      tr.append(predictorCell(human), cell(dataset, ""));
      const median = human.median_seconds;
      tr.append(cell(median === null || median === undefined ? "—" : median.toFixed(1)));
      for (const subset of SUBSETS) tr.append(subsetCell(figure(human.name, dataset, metric, state.split, subset)));
      rows.push(tr);
    }
  }
  $("humans-rows").replaceChildren(...rows);
  $("humans-empty").hidden = rows.length > 0;
}

// --- mistakes ------------------------------------------------------------------------------------------------

function labelList(title, classes, verdict) {
  if (!classes.length) return null;
  const list = node("ul", { className: "mistake__labels", attributes: { "aria-label": title } });
  for (const c of classes) {
    const item = node("li", { className: `mistake__label v-${verdict}`, title: `${title}: ${c.wnid}` });
    item.append(guideLink(c.wnid, c.label));
    if (c.count !== undefined) item.append(node("span", { className: "mistake__count", text: ` ×${c.count}` }));
    list.append(item);
  }
  return node("div", { className: "mistake__row" }, [node("span", { className: "mistake__key", text: title }), list]);
}

function mistakeCard(image) {
  const attributes = { src: image.display_url, alt: image.file_name, loading: "lazy" };
  const picture = node("img", { className: "mistake__image", attributes });
  const rows = [
    labelList("original", [image.original], "original"),
    labelList("correct", image.correct, "correct"),
    labelList("wrong", image.wrong, "wrong"),
    labelList("unclear", image.unclear, "unclear"),
    labelList("models said", image.models_said, "said"),
    labelList("humans said", image.humans_said, "said"),
  ].filter(Boolean);
  return node("li", { className: "mistake", attributes: { "data-image": String(image.id) } }, [
    picture,
    node("div", { className: "mistake__body" }, [
      node("p", { className: "mistake__name muted small", text: `${image.dataset} · ${image.file_name}` }),
      ...rows,
    ]),
  ]);
}

function renderMistakeTabs() {
  const tabs = results.mistakes.groups.map((group) => {
    const input = node("input", { attributes: { type: "radio", name: "mistake-group", value: group.group } });
    input.checked = group.group === state.mistakes;
    input.addEventListener("change", () => {
      state.mistakes = group.group;
      renderMistakes();
    });
    return node("label", { className: "segmented__option" }, [input, `${GROUP_NAMES[group.group]} (${group.count})`]);
  });
  $("mistake-tabs").replaceChildren(...tabs);
}

function mistakesCaption(group) {
  const { members } = results.mistakes;
  if (!results.decided_items) return "Nothing reviewed yet: no prediction is known to be wrong.";
  if (group.group !== "humans" && !members.models) {
    return "No voting models: every model is marked simulated or random weights.";
  }
  if (group.group !== "models" && !members.humans) return "No human predictions yet.";
  if (!group.count) return "No such image.";
  const images = `${group.count} image${group.count === 1 ? "" : "s"}`;
  const shown = group.images.length < group.count ? `the first ${group.images.length} of ${images}` : images;
  return `Showing ${shown} (${members.models} voting models, ${members.humans} humans).`;
}

function renderMistakes() {
  const group = results.mistakes.groups.find((g) => g.group === state.mistakes);
  $("mistakes-caption").textContent = mistakesCaption(group);
  $("mistakes").replaceChildren(...group.images.map(mistakeCard));
}

// --- the page ------------------------------------------------------------------------------------------------

function render() {
  renderLeaderboard();
  renderPlots();
  renderHumans();
}

function bindControls() {
  const selects = { "split-select": "split", "metric-select": "metric", "averaging-select": "averaging" };
  for (const [id, field] of Object.entries(selects)) {
    $(id).value = state[field];
    $(id).addEventListener("change", (event) => {
      state[field] = event.target.value;
      render();
    });
  }
  for (const box of document.querySelectorAll(".results-kinds input[name=kind]")) {
    box.addEventListener("change", () => {
      if (box.checked) state.kinds.add(box.value);
      else state.kinds.delete(box.value);
      renderLeaderboard();
    });
  }
  $("name-filter").addEventListener("input", (event) => {
    state.filter = event.target.value;
    renderLeaderboard();
  });
  for (const th of document.querySelectorAll(".results-table th[data-sort]")) {
    th.querySelector("button").addEventListener("click", () => {
      const sortKey = th.dataset.sort;
      const textual = sortKey === "name" || sortKey === "kind";
      state.sort = {
        key: sortKey,
        descending: state.sort.key === sortKey ? !state.sort.descending : !textual,
      };
      renderLeaderboard();
    });
  }
}

/** "Figures from N s ago": the figures may come from the server's cache, computed before this request. */
function showAge() {
  const seconds = Math.round(results.age_seconds + (performance.now() - loadedAt) / 1000);
  $("results-age").textContent = `Figures from ${seconds.toLocaleString("en-US")} s ago`;
  $("results-age").title = `Computed at ${new Date(results.computed_at).toLocaleString()}`;
}

async function start() {
  initGuidePanel();
  try {
    ({ data: results } = await getJSON(app.dataset.resultsUrl));
    loadedAt = performance.now();
  } catch (error) {
    $("results-error").textContent = `Could not load the results: ${error.message}.`;
    $("results-error").hidden = false;
    $("results-loading").hidden = true;
    app.dataset.state = "error";
    return;
  }
  $("results-loading").hidden = true;
  if (!results.rows.length) {
    $("no-scores").hidden = false;
    app.dataset.state = "empty";
    return;
  }
  for (const row of results.rows) {
    figures.set(key(row.predictor, row.dataset, row.split, row.metric, row.averaging, row.subset), row);
  }
  for (const row of results.drops) {
    drops.set(key(row.predictor, row.dataset, row.split, row.metric, row.averaging, row.subset), row);
  }
  $("nothing-reviewed").hidden = results.decided_items > 0;
  showAge();
  setInterval(showAge, 1000);
  $("vote-note").textContent = voteNote();
  bindControls();
  render();
  renderMistakeTabs();
  renderMistakes();
  $("results-body").hidden = false;
  app.dataset.state = "ready";
}

start();
