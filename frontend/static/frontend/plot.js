// Small SVG plots for the results page: scatter plots (with bounds, y = x and a least-squares line, horizontal
// reference lines) and grouped bars, plus their download as SVG or PNG. No plotting library: the app runs
// offline. Every colour, font and stroke is an SVG presentation attribute, so that a downloaded file looks the
// same outside the page (no stylesheet there) and nothing needs an inline style.

const SVG_NS = "http://www.w3.org/2000/svg";
const WIDTH = 560;
const HEIGHT = 420;
const MARGIN = { left: 58, right: 18, bottom: 50 };
const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif";
const TEXT = "#1b2130";
const MUTED = "#647084";
const GRID = "#e1e4ea";
const CHAR_WIDTH = 6.6; // of the 11.5 px legend font, to lay the legend out before it is drawn
const LEGEND_ROW = 18;
const POINT_LABEL_FONT = 10.5;
const POINT_LABEL_CHAR = 6.2; // a generous width per character of that font, so that boxes never undercount
const POINT_LABEL_HEIGHT = 13;
// Reference lines closer than this (in pixels of an average plot) are one line to the eye: they are drawn
// interleaved and named together in the legend.
const LEVEL_MERGE_PX = 3;
const LEVEL_DASH = 6;
const LEVEL_GAP = 3;

export const COLORS = {
  model: "#3552d0",
  human: "#d9730d",
  ensemble: "#1b8f4e",
  identity: "#8791a3",
};

/** Shades of one colour for several series of one kind: the colour, then lighter and darker steps. */
export function shades(color, count) {
  const [r, g, b] = [1, 3, 5].map((at) => parseInt(color.slice(at, at + 2), 16));
  return Array.from({ length: count }, (_, i) => {
    const step = count > 1 ? i / (count - 1) - 0.5 : 0; // -0.5 (darker) .. 0.5 (lighter)
    const mix = (channel) => Math.round(step < 0 ? channel * (1 + step * 0.8) : channel + (255 - channel) * step * 0.9);
    return `#${[r, g, b].map((channel) => mix(channel).toString(16).padStart(2, "0")).join("")}`;
  });
}

/** The least-squares line y = slope * x + intercept through points [{x, y}]; null for fewer than two distinct x. */
export function linearFit(points) {
  const n = points.length;
  if (n < 2) return null;
  const meanX = points.reduce((sum, p) => sum + p.x, 0) / n;
  const meanY = points.reduce((sum, p) => sum + p.y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const p of points) {
    sxx += (p.x - meanX) ** 2;
    sxy += (p.x - meanX) * (p.y - meanY);
  }
  if (sxx === 0) return null;
  const slope = sxy / sxx;
  return { slope, intercept: meanY - slope * meanX };
}

/** About `count` round ticks between low and high (steps of 1, 2 or 5 times a power of ten). */
export function ticks(low, high, count = 6) {
  const span = high - low;
  if (!(span > 0)) return [low];
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  const first = Math.ceil(low / step - 1e-9) * step;
  const found = [];
  for (let value = first; value <= high + step * 1e-9; value += step) found.push(Number(value.toFixed(10)));
  return found;
}

/** [low, high] around values in [0, 1], padded and rounded out to 5 points, within [0, 1]. */
export function fractionDomain(values) {
  const finite = values.filter((v) => Number.isFinite(v));
  if (!finite.length) return [0, 1];
  const low = Math.max(0, Math.floor((Math.min(...finite) - 0.02) * 20) / 20);
  const high = Math.min(1, Math.ceil((Math.max(...finite) + 0.02) * 20) / 20);
  return high > low ? [low, high] : [Math.max(0, low - 0.05), Math.min(1, high + 0.05)];
}

const percent = (value) => `${Math.round(value * 1000) / 10}`;

/** An SVG element with attributes (undefined and null ones left out) and children: nodes, or one text. */
export function el(name, attributes = {}, children = []) {
  const node = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) node.setAttribute(key, String(value));
  }
  if (typeof children === "string") node.textContent = children;
  else for (const child of children) node.append(child);
  return node;
}

function text(content, x, y, attributes = {}) {
  const node = el("text", { x, y, "font-family": FONT, "font-size": 11, fill: TEXT, ...attributes });
  node.textContent = content;
  return node;
}

function segment(x1, y1, x2, y2, stroke, attributes = {}, children = []) {
  return el("line", { x1, y1, x2, y2, stroke, "stroke-width": 1, ...attributes }, children);
}

function tooltip(content) {
  const node = el("title");
  node.textContent = content;
  return node;
}

/** Legend entries [{name, color, mark: "dot" | "line" | "dash" | "bar"}] in rows that fit the width. */
function layoutLegend(entries, width) {
  const placed = [];
  let x = MARGIN.left;
  let row = 0;
  for (const entry of entries) {
    const itemWidth = 22 + entry.name.length * CHAR_WIDTH + 16;
    if (x + itemWidth > width - MARGIN.right && x > MARGIN.left) {
      row += 1;
      x = MARGIN.left;
    }
    placed.push({ ...entry, x, row });
    x += itemWidth;
  }
  return { placed, rows: entries.length ? row + 1 : 0 };
}

function legendMark({ x, color, colors, mark }, y) {
  if (colors) {
    // Lines drawn over each other: the legend shows their colours side by side, as the plot interleaves them.
    const width = 16 / colors.length;
    const stroke = { "stroke-width": 2 };
    return el("g", {}, colors.map((each, i) => segment(x + i * width, y, x + (i + 1) * width, y, each, stroke)));
  }
  if (mark === "line" || mark === "dash") {
    return segment(x, y, x + 16, y, color, { "stroke-width": 2, "stroke-dasharray": mark === "dash" ? "5 3" : null });
  }
  if (mark === "bar") return el("rect", { x: x + 2, y: y - 6, width: 12, height: 12, fill: color });
  return el("circle", { cx: x + 8, cy: y, r: 5, fill: color });
}

function drawLegend(svg, placed, top) {
  for (const entry of placed) {
    const y = top + entry.row * LEGEND_ROW;
    const label = text(entry.name, entry.x + 22, y, { "font-size": 11.5, "dominant-baseline": "middle" });
    svg.append(el("g", { "data-legend": entry.name }, [legendMark(entry, y), label]));
  }
}

/** The <svg> with its white background, title and legend, and the box left for the plot. */
function frame(title, legend) {
  const { placed, rows } = layoutLegend(legend, WIDTH);
  const svg = el("svg", {
    xmlns: SVG_NS,
    width: WIDTH,
    height: HEIGHT,
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    role: "img",
    "aria-label": title,
  });
  svg.append(el("rect", { x: 0, y: 0, width: WIDTH, height: HEIGHT, fill: "#ffffff" }));
  svg.append(text(title, MARGIN.left, 20, { "font-size": 14, "font-weight": 650 }));
  drawLegend(svg, placed, 40);
  const top = 34 + rows * LEGEND_ROW + 10;
  return { svg, plot: { left: MARGIN.left, right: WIDTH - MARGIN.right, top, bottom: HEIGHT - MARGIN.bottom } };
}

/** Grid lines and tick labels (percent) of x and y ({scale, ticks}; x may have none), axes and their labels. */
function axes(svg, plot, x, y, xLabel, yLabel) {
  const tick = { fill: MUTED, "text-anchor": "middle" };
  for (const value of y.ticks) {
    const at = y.scale(value);
    svg.append(segment(plot.left, at, plot.right, at, GRID));
    const label = { ...tick, "text-anchor": "end", "dominant-baseline": "middle" };
    svg.append(text(percent(value), plot.left - 8, at, label));
  }
  for (const value of x.ticks) {
    const at = x.scale(value);
    svg.append(segment(at, plot.top, at, plot.bottom, GRID));
    svg.append(text(percent(value), at, plot.bottom + 16, tick));
  }
  svg.append(segment(plot.left, plot.bottom, plot.right, plot.bottom, MUTED));
  svg.append(segment(plot.left, plot.top, plot.left, plot.bottom, MUTED));
  const axisLabel = { "font-size": 12, "text-anchor": "middle" };
  if (xLabel) svg.append(text(xLabel, (plot.left + plot.right) / 2, HEIGHT - 12, axisLabel));
  const middle = (plot.top + plot.bottom) / 2;
  svg.append(text(yLabel, 16, middle, { ...axisLabel, transform: `rotate(-90 16 ${middle})` }));
}

function linearScale([low, high], [from, to]) {
  return (value) => from + ((value - low) / (high - low)) * (to - from);
}

/** A value or the middle of its bounds, with whether it is only known within bounds: {at, low, high, bounded}. */
export function position(figure) {
  if (!figure || figure.lower === null || figure.lower === undefined) return null;
  if (figure.value !== null && figure.value !== undefined) {
    return { at: figure.value, low: figure.value, high: figure.value, bounded: false };
  }
  return { at: (figure.lower + figure.upper) / 2, low: figure.lower, high: figure.upper, bounded: true };
}

function describe(place) {
  return place.bounded ? `${percent(place.low)}–${percent(place.high)}%` : `${percent(place.at)}%`;
}

function describeLine({ slope, intercept }) {
  return `y = ${slope.toFixed(3)} x ${intercept < 0 ? "−" : "+"} ${Math.abs(intercept).toFixed(3)}`;
}

/** A point with its bounds as thin bars, hollow when only bounds are known. */
function marker(point, color, xs, ys) {
  const { x, y } = point;
  const bar = { opacity: 0.6 };
  const parts = [];
  if (x.bounded) parts.push(segment(xs(x.low), ys(y.at), xs(x.high), ys(y.at), color, bar));
  if (y.bounded) parts.push(segment(xs(x.at), ys(y.low), xs(x.at), ys(y.high), color, bar));
  const fill = x.bounded || y.bounded ? "#ffffff" : color;
  parts.push(el("circle", { cx: xs(x.at), cy: ys(y.at), r: 4.5, fill, stroke: color, "stroke-width": 1.5 }));
  return parts;
}

/** Levels ([{name, color, y: position}]) in groups of those at most `tolerance` apart, lowest first. */
export function groupLevels(levels, tolerance) {
  const groups = [];
  for (const level of [...levels].sort((a, b) => a.y.at - b.y.at)) {
    const last = groups[groups.length - 1];
    if (last && level.y.at - last[last.length - 1].y.at <= tolerance) last.push(level);
    else groups.push([level]);
  }
  return groups;
}

/** The box of a point label whose text starts at x (anchor start), middle on y. */
function labelBox(name, x, y, anchor) {
  const width = name.length * POINT_LABEL_CHAR;
  const left = anchor === "end" ? x - width : anchor === "middle" ? x - width / 2 : x;
  return { left, right: left + width, top: y - POINT_LABEL_HEIGHT / 2, bottom: y + POINT_LABEL_HEIGHT / 2 };
}

const clamp = (value, low, high) => Math.min(high, Math.max(low, value));

/** A line from a point to the nearest edge of its label's box. */
const leaderTo = (point, box) => ({
  x1: point.x,
  y1: point.y,
  x2: clamp(point.x, box.left, box.right),
  y2: clamp(point.y, box.top, box.bottom),
});

const overlaps = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;

/**
 * Names beside the given points ([{name, x, y}] in pixels, most important first), each at the first of a few
 * places around its point, nearest first, that stays inside `plot` and clear of the labels placed before it and
 * of the points (`obstacles`, in pixels). A label set off from its point gets a thin leader line. Returns
 * [{name, x, y, anchor, box, leader}]; a label with no free place is left out (its point keeps its hover title).
 */
export function placePointLabels(points, plot, obstacles = points) {
  const placed = [];
  const around = [
    [1, 0, "start"],
    [-1, 0, "end"],
    [0, -1, "middle"],
    [0, 1, "middle"],
    [1, -1, "start"],
    [1, 1, "start"],
    [-1, -1, "end"],
    [-1, 1, "end"],
  ];
  const dots = obstacles.map((p) => ({ left: p.x - 5, right: p.x + 5, top: p.y - 5, bottom: p.y + 5 }));
  for (const point of points) {
    let found = null;
    for (const distance of [8, 20, 34]) {
      for (const [dx, dy, anchor] of around) {
        const x = point.x + dx * distance;
        const y = point.y + dy * (distance + (dx === 0 ? 4 : 0));
        const box = labelBox(point.name, x, y, anchor);
        const inside =
          box.left >= plot.left && box.right <= plot.right && box.top >= plot.top && box.bottom <= plot.bottom;
        if (inside && !placed.some((other) => overlaps(box, other.box)) && !dots.some((dot) => overlaps(box, dot))) {
          found = { name: point.name, x, y, anchor, box, leader: distance > 8 ? leaderTo(point, box) : null };
          break;
        }
      }
      if (found) break;
    }
    if (found) placed.push(found);
  }
  return placed;
}

/**
 * A scatter plot. series: [{name, color, points: [{label, x, y}], labelBest}], x and y positions as position()
 * gives; the labelBest points highest on y carry their name. levels: horizontal lines [{name, color, y: position}]
 * (e.g. humans, who have no top-1), those at the same height interleaved and named together; identity: draw
 * y = x; fit: {name, color, of: series name} draws the least-squares line through that series' points.
 * Returns the <svg>; its points and lines carry data-label (or data-line) and a <title>, named points a
 * data-point-label text.
 */
export function scatterPlot({ title, xLabel, yLabel, series, levels = [], identity = false, fit = null }) {
  const points = series.flatMap((s) => s.points);
  const xDomain = fractionDomain(points.flatMap((p) => [p.x.low, p.x.high]));
  const yDomain = fractionDomain([...points, ...levels.map((l) => ({ y: l.y }))].flatMap((p) => [p.y.low, p.y.high]));
  // With y = x both axes share one domain, so that the line is the diagonal.
  const [xRange, yRange] = identity ? Array(2).fill(fractionDomain([...xDomain, ...yDomain])) : [xDomain, yDomain];
  const fitted = series.find((s) => fit && s.name === fit.of)?.points || [];
  const line = fit && linearFit(fitted.map((p) => ({ x: p.x.at, y: p.y.at })));
  const typicalHeight = HEIGHT - MARGIN.bottom - 80;
  const levelGroups = groupLevels(levels, ((yRange[1] - yRange[0]) * LEVEL_MERGE_PX) / typicalHeight);
  const legend = [
    ...series.map((s) => ({ name: s.name, color: s.color, mark: "dot" })),
    ...levelGroups.map((group) =>
      group.length === 1
        ? { name: group[0].name, color: group[0].color, mark: "dash" }
        : { name: group.map((l) => l.name).join(" = "), colors: group.map((l) => l.color), mark: "dash" },
    ),
    ...(line ? [{ name: fit.name, color: fit.color, mark: "dash" }] : []),
    ...(identity ? [{ name: "y = x", color: COLORS.identity, mark: "line" }] : []),
  ];
  const { svg, plot } = frame(title, legend);
  const xs = linearScale(xRange, [plot.left, plot.right]);
  const ys = linearScale(yRange, [plot.bottom, plot.top]);
  axes(svg, plot, { scale: xs, ticks: ticks(...xRange) }, { scale: ys, ticks: ticks(...yRange) }, xLabel, yLabel);

  const clip = `clip-${Math.random().toString(36).slice(2)}`;
  const box = { x: plot.left, y: plot.top, width: plot.right - plot.left, height: plot.bottom - plot.top };
  svg.append(el("clipPath", { id: clip }, [el("rect", box)]));
  const inside = el("g", { "clip-path": `url(#${clip})` });
  svg.append(inside);
  const [low, high] = xRange;
  if (identity) {
    const diagonal = { "stroke-width": 1.5, "data-line": "identity" };
    inside.append(segment(xs(low), ys(low), xs(high), ys(high), COLORS.identity, diagonal));
  }
  if (line) {
    const dashed = { "stroke-width": 1.5, "stroke-dasharray": "6 4", "data-line": "fit" };
    const [y1, y2] = [low, high].map((x) => ys(line.slope * x + line.intercept));
    const hint = tooltip(`${fit.name}: ${describeLine(line)}`);
    inside.append(segment(xs(low), y1, xs(high), y2, fit.color, dashed, [hint]));
  }
  for (const group of levelGroups) {
    // Lines at one height take turns along it: dashes of each colour in a row, so that none hides another.
    const period = group.length * (LEVEL_DASH + LEVEL_GAP);
    const names = group.map((level) => `${level.name} ${describe(level.y)}`).join(", ");
    group.forEach((level, i) => {
      const at = ys(level.y.at);
      const dashed = {
        "stroke-width": 1.5,
        "stroke-dasharray": group.length === 1 ? "5 3" : `${LEVEL_DASH} ${period - LEVEL_DASH}`,
        "stroke-dashoffset": group.length === 1 ? null : -i * (LEVEL_DASH + LEVEL_GAP),
        "data-label": level.name,
        "data-level-group": group.length,
      };
      const hint = tooltip(group.length === 1 ? `${level.name}: ${describe(level.y)}` : `At one height: ${names}`);
      inside.append(segment(plot.left, at, plot.right, at, level.color, dashed, [hint]));
    });
  }
  for (const s of series) {
    for (const p of s.points) {
      const hint = tooltip(`${p.label}: ${xLabel} ${describe(p.x)}, ${yLabel} ${describe(p.y)}`);
      inside.append(el("g", { "data-label": p.label, "data-series": s.name }, [hint, ...marker(p, s.color, xs, ys)]));
    }
  }
  const pixels = (p) => ({ name: p.label, x: xs(p.x.at), y: ys(p.y.at) });
  const best = series.flatMap((s) =>
    [...s.points]
      .sort((a, b) => b.y.at - a.y.at)
      .slice(0, s.labelBest || 0)
      .map(pixels),
  );
  for (const label of placePointLabels(best, plot, points.map(pixels))) {
    // A white halo keeps the name readable where a line crosses it.
    const name = text(label.name, label.x, label.y, {
      "font-size": POINT_LABEL_FONT,
      "text-anchor": label.anchor,
      "dominant-baseline": "middle",
      stroke: "#ffffff",
      "stroke-width": 3,
      "paint-order": "stroke",
      "data-point-label": label.name,
    });
    if (label.leader) {
      const { x1, y1, x2, y2 } = label.leader;
      svg.append(segment(x1, y1, x2, y2, MUTED, { "stroke-width": 0.75, "data-leader": label.name }));
    }
    svg.append(name);
  }
  return svg;
}

/**
 * Grouped bars: groups (x axis categories), series [{name, color, values: [position or null per group]}].
 * A bar stands up to the value, or to the lower bound with a light box on top up to the upper bound.
 */
export function barPlot({ title, yLabel, groups, series }) {
  const { svg, plot } = frame(title, series.map((s) => ({ name: s.name, color: s.color, mark: "bar" })));
  const highest = Math.max(0.05, ...series.flatMap((s) => s.values.filter(Boolean).map((v) => v.high)));
  const yRange = [0, Math.min(1, Math.ceil((highest + 0.02) * 10) / 10)];
  const ys = linearScale(yRange, [plot.bottom, plot.top]);
  axes(svg, plot, { ticks: [] }, { scale: ys, ticks: ticks(...yRange) }, null, yLabel);
  const groupWidth = (plot.right - plot.left) / Math.max(1, groups.length);
  const barWidth = Math.min(26, (groupWidth - 14) / Math.max(1, series.length));
  groups.forEach((group, g) => {
    const start = plot.left + g * groupWidth + (groupWidth - barWidth * series.length) / 2;
    const middle = plot.left + (g + 0.5) * groupWidth;
    svg.append(text(group, middle, plot.bottom + 16, { fill: MUTED, "text-anchor": "middle" }));
    series.forEach((s, i) => {
      const value = s.values[g];
      if (!value) return;
      const x = start + i * barWidth;
      const width = barWidth - 2;
      const bar = el("g", { "data-label": s.name, "data-group": group }, [
        tooltip(`${s.name}, ${group}: ${describe(value)}`),
        el("rect", { x, y: ys(value.low), width, height: ys(0) - ys(value.low), fill: s.color }),
      ]);
      if (value.bounded) {
        const height = ys(value.low) - ys(value.high);
        const light = { fill: s.color, "fill-opacity": 0.3, stroke: s.color, "stroke-width": 1 };
        bar.append(el("rect", { x, y: ys(value.high), width, height, ...light }));
      }
      svg.append(bar);
    });
  });
  return svg;
}

function save(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function svgText(svg) {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(svg)}`;
}

export function downloadSvg(svg, filename) {
  save(new Blob([svgText(svg)], { type: "image/svg+xml" }), filename);
}

/** The plot as a PNG: the SVG drawn onto a canvas at `scale` times its size. The SVG goes in as a data: URL, which
 * the page's Content-Security-Policy allows for images (a blob: URL it does not). */
export function pngBlob(svg, scale = 2) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => {
      const canvas = document.createElement("canvas");
      canvas.width = WIDTH * scale;
      canvas.height = HEIGHT * scale;
      const context = canvas.getContext("2d");
      context.scale(scale, scale);
      context.drawImage(image, 0, 0, WIDTH, HEIGHT);
      canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("the canvas gave no PNG"))), "image/png");
    };
    image.onerror = () => reject(new Error("the SVG could not be drawn"));
    image.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svgText(svg))}`;
  });
}

export async function downloadPng(svg, filename, scale = 2) {
  save(await pngBlob(svg, scale), filename);
}
