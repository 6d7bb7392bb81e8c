// The agreement page: tables sortable by clicking their headers, and agreement with the consensus over time as a
// line chart (all reviewers, and one reviewer to compare with).

import { drawShareChart } from "./line-chart.js";
import { makeSortable } from "./sortable-table.js";

const dayFormat = new Intl.DateTimeFormat("en", { month: "short", day: "numeric", timeZone: "UTC" });
const fullDayFormat = new Intl.DateTimeFormat("en", { dateStyle: "medium", timeZone: "UTC" });

const shareText = (share) => `${Math.round(share * 1000) / 10}%`;

/** A chart line of agreed / compared votes per period, with a title per point naming the period. */
function series(entry, periodName, variant) {
  const values = entry.compared.map((compared, index) => (compared ? entry.agreed[index] / compared : null));
  const titles = values.map((value, index) =>
    value === null ? "" : `${entry.name}, ${periodName(index)}: ${shareText(value)} of ${entry.compared[index]} votes`,
  );
  return { name: entry.name, values, titles, variant };
}

function setUpChart() {
  const data = JSON.parse(document.getElementById("agreement-over-time").textContent);
  const svg = document.querySelector("[data-line-chart]");
  const legend = document.querySelector("[data-chart-legend]");
  const note = document.querySelector("[data-chart-note]");
  const choice = document.querySelector("[data-compare-reviewer]");
  const labels = data.starts.map((start) => dayFormat.format(new Date(start)));
  const periodName = (index) => {
    const day = fullDayFormat.format(new Date(data.starts[index]));
    return data.period === "week" ? `week of ${day}` : day;
  };
  const all = { name: "All reviewers", agreed: data.agreed, compared: data.compared };

  function draw() {
    const chosen = data.reviewers.find((entry) => entry.reviewer === choice.value);
    const entries = chosen ? [all, { ...chosen, name: chosen.reviewer }] : [all];
    const lines = entries.map((entry, index) => series(entry, periodName, index ? "compare" : undefined));
    drawShareChart(svg, { labels, series: lines });
    if (data.starts.length === 1) {
      const figures = entries.map(({ name, agreed, compared }) =>
        compared[0] ? `${name} ${shareText(agreed[0] / compared[0])} of ${compared[0]} votes` : `${name}: none`,
      );
      note.hidden = false;
      note.textContent = `One ${data.period} so far, ${periodName(0)}: ${figures.join("; ")}.`;
    }
    legend.replaceChildren(
      ...lines.map((line) => {
        const item = document.createElement("li");
        const dot = document.createElement("span");
        dot.className = `dot line-chart__key${line.variant ? ` line-chart__key--${line.variant}` : ""}`;
        item.append(dot, line.name);
        return item;
      }),
    );
  }

  choice.addEventListener("change", draw);
  draw();
}

for (const table of document.querySelectorAll("table[data-sortable]")) makeSortable(table);
if (document.getElementById("agreement-over-time")) setUpChart();
