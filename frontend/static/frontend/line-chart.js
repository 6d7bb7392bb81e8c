// A small SVG line chart of shares (0 to 1) over consecutive periods, drawn into an existing <svg>: grid, axis
// labels, one polyline per run of known values (a period without a value leaves a gap) and a dot per value with
// its title. No plotting library: the app runs offline. Colours come from the stylesheet (line-chart classes).

import { el, fractionDomain } from "./plot.js";

const WIDTH = 720;
const HEIGHT = 240;
const MARGIN = { left: 46, right: 18, top: 14, bottom: 30 };
const MAX_X_LABELS = 8;

/** Runs of consecutive indexes whose value is known. */
function runs(values) {
  const found = [];
  let current = [];
  values.forEach((value, index) => {
    if (value === null) {
      if (current.length) found.push(current);
      current = [];
    } else current.push(index);
  });
  if (current.length) found.push(current);
  return found;
}

const percent = (share) => `${Math.round(share * 100)}%`;

/**
 * Draw `series` ([{values: [share or null per label], titles: [text per label], variant}]) over `labels` (one
 * per period, already formatted) into `svg`, replacing what it held. `variant` names a line-chart__line--*
 * modifier class (none for the main colour).
 */
export function drawShareChart(svg, { labels, series }) {
  svg.setAttribute("viewBox", `0 0 ${WIDTH} ${HEIGHT}`);
  const [low, high] = fractionDomain(series.flatMap((line) => line.values));
  const left = MARGIN.left;
  const right = WIDTH - MARGIN.right;
  const top = MARGIN.top;
  const bottom = HEIGHT - MARGIN.bottom;
  const x = (index) => (labels.length > 1 ? left + ((right - left) * index) / (labels.length - 1) : (left + right) / 2);
  const y = (share) => bottom - ((bottom - top) * (share - low)) / (high - low);

  const nodes = [];
  const step = high - low > 0.5 ? 0.2 : 0.1;
  for (let share = low; share <= high + 1e-9; share += step) {
    nodes.push(el("line", { class: "line-chart__grid", x1: left, x2: right, y1: y(share), y2: y(share) }));
    nodes.push(
      el("text", { class: "line-chart__axis", x: left - 8, y: y(share), "text-anchor": "end", "dominant-baseline": "middle" }, percent(share)),
    );
  }
  const every = Math.ceil(labels.length / MAX_X_LABELS);
  labels.forEach((label, index) => {
    if (index % every === 0) {
      nodes.push(el("text", { class: "line-chart__axis", x: x(index), y: HEIGHT - 8, "text-anchor": "middle" }, label));
    }
  });
  for (const line of series) {
    const classes = (part) => `line-chart__${part}${line.variant ? ` line-chart__${part}--${line.variant}` : ""}`;
    for (const run of runs(line.values)) {
      const points = run.map((index) => `${x(index).toFixed(1)},${y(line.values[index]).toFixed(1)}`).join(" ");
      nodes.push(el("polyline", { class: classes("line"), points }));
    }
    line.values.forEach((value, index) => {
      if (value === null) return;
      const dot = el("circle", { class: classes("dot"), cx: x(index), cy: y(value), r: 3.5 });
      dot.append(el("title", {}, line.titles[index]));
      nodes.push(dot);
    });
  }
  svg.replaceChildren(...nodes);
}
