// A small SVG line chart of shares (0 to 1) over consecutive periods, drawn into an existing <svg>: grid, axis
// labels, one polyline per run of known values (a period without a value leaves a gap) and a dot per value with
// its title. A value without a neighbour on its line is labelled with its share, and a chart of a single period
// becomes bars from 0%, since a lone dot on a line chart reads as nothing. No plotting library: the app runs
// offline. Colours come from the stylesheet (line-chart classes).

import { el, fractionDomain } from "./plot.js";

const WIDTH = 720;
const HEIGHT = 240;
const MARGIN = { left: 46, right: 18, top: 14, bottom: 30 };
const MAX_X_LABELS = 8;
const BAR_WIDTH = 56;
const BAR_GAP = 12;
const VALUE_LABEL_OFFSET = 9;

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
  const singlePeriod = labels.length === 1;
  const [low, high] = singlePeriod ? [0, 1] : fractionDomain(series.flatMap((line) => line.values));
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
  const barsWidth = series.length * BAR_WIDTH + (series.length - 1) * BAR_GAP;
  series.forEach((line, number) => {
    const classes = (part) => `line-chart__${part}${line.variant ? ` line-chart__${part}--${line.variant}` : ""}`;
    // Labels of the first line sit above its points, those of a line compared with it below, so they never collide;
    // one that would leave the top of the chart goes below too.
    const valueLabel = (at, value, below = false) => {
      const above = y(value) - VALUE_LABEL_OFFSET;
      const labelY = below || above < top ? y(value) + VALUE_LABEL_OFFSET + 8 : above;
      return el("text", { class: classes("value"), x: at, y: labelY, "text-anchor": "middle" }, percent(value));
    };
    if (singlePeriod) {
      const value = line.values[0];
      if (value === null) return;
      const barLeft = x(0) - barsWidth / 2 + number * (BAR_WIDTH + BAR_GAP);
      const height = bottom - y(value);
      const bar = el("rect", { class: classes("bar"), x: barLeft, y: y(value), width: BAR_WIDTH, height });
      bar.append(el("title", {}, line.titles[0]));
      nodes.push(bar, valueLabel(barLeft + BAR_WIDTH / 2, value));
      return;
    }
    for (const run of runs(line.values)) {
      const points = run.map((index) => `${x(index).toFixed(1)},${y(line.values[index]).toFixed(1)}`).join(" ");
      nodes.push(el("polyline", { class: classes("line"), points }));
      if (run.length === 1) nodes.push(valueLabel(x(run[0]), line.values[run[0]], number > 0));
    }
    line.values.forEach((value, index) => {
      if (value === null) return;
      const dot = el("circle", { class: classes("dot"), cx: x(index), cy: y(value), r: 3.5 });
      dot.append(el("title", {}, line.titles[index]));
      nodes.push(dot);
    });
  });
  svg.replaceChildren(...nodes);
}
