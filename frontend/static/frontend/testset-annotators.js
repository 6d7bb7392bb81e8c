// The annotator-quality page of a test set: the table sortable by its headers, and accuracy on controls per day as
// a line chart (all annotators, and one annotator to compare with: chosen in the select or by clicking a name).

import { drawShareChart } from "./line-chart.js";
import { makeSortable } from "./sortable-table.js";

const DAY_MS = 24 * 60 * 60 * 1000;
const dayFormat = new Intl.DateTimeFormat("en", { month: "short", day: "numeric", timeZone: "UTC" });
const fullDayFormat = new Intl.DateTimeFormat("en", { dateStyle: "medium", timeZone: "UTC" });
const shareText = (share) => `${Math.round(share * 1000) / 10}%`;

/** Every calendar day (ISO dates, UTC) from the first to the last day anyone answered. */
function calendarDays(people) {
  const answered = people.flatMap((person) => person.days.map((day) => Date.parse(day.day)));
  const days = [];
  for (let time = Math.min(...answered); time <= Math.max(...answered); time += DAY_MS) {
    days.push(new Date(time).toISOString().slice(0, 10));
  }
  return days;
}

/** {day: {controls, right}} summed over `people`. */
function tallies(people) {
  const byDay = {};
  for (const person of people) {
    for (const day of person.days) {
      const tally = (byDay[day.day] ??= { controls: 0, right: 0 });
      tally.controls += day.controls;
      tally.right += day.controls_right;
    }
  }
  return byDay;
}

/** A chart line of controls answered right per day, with a title per point naming the day. */
function series(name, byDay, days, variant) {
  const values = days.map((day) => (byDay[day]?.controls ? byDay[day].right / byDay[day].controls : null));
  const titles = values.map((value, index) =>
    value === null
      ? ""
      : `${name}, ${fullDayFormat.format(new Date(days[index]))}: ${shareText(value)} of ${byDay[days[index]].controls} controls`,
  );
  return { name, values, titles, variant };
}

function setUpChart() {
  const people = JSON.parse(document.getElementById("annotator-quality").textContent);
  const svg = document.querySelector("[data-line-chart]");
  const legend = document.querySelector("[data-chart-legend]");
  const note = document.querySelector("[data-chart-note]");
  const choice = document.querySelector("[data-compare-annotator]");
  const days = calendarDays(people);
  const labels = days.map((day) => dayFormat.format(new Date(day)));
  const everyone = tallies(people);

  function draw() {
    const chosen = people.find((person) => person.annotator === choice.value);
    const lines = [series("All annotators", everyone, days)];
    if (chosen) lines.push(series(chosen.annotator, tallies([chosen]), days, "compare"));
    const known = lines[0].values.some((value) => value !== null);
    svg.hidden = !known;
    note.hidden = known && days.length > 1;
    if (!known) note.textContent = "No control answered yet: tasks without controls give no accuracy.";
    else if (days.length === 1) {
      note.textContent = `One day so far, ${fullDayFormat.format(new Date(days[0]))}.`;
    }
    if (known) drawShareChart(svg, { labels, series: lines });
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
  for (const button of document.querySelectorAll("[data-show-annotator]")) {
    button.addEventListener("click", () => {
      const name = button.dataset.showAnnotator;
      if (![...choice.options].some((option) => option.value === name)) return;
      choice.value = name;
      draw();
      svg.scrollIntoView({ behavior: "smooth", block: "center" });
    });
  }
  draw();
}

for (const table of document.querySelectorAll("table[data-sortable]")) makeSortable(table);
if (document.getElementById("annotator-quality")) setUpChart();
