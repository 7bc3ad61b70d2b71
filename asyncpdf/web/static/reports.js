"use strict";
// A year's report: the four charts the server draws as SVG, the monthly figures from
// api/reports as a table, the report's warnings and the CSV exports. The year is in the URL.
import { el, formatNumber, getJson, inkBadge, localDay, url } from "./common.js";
import { startLine } from "./line.js";

const yearSelect = document.getElementById("year");
const charts = document.querySelectorAll("#charts [data-chart]");
let loadNumber = 0;

function wantedYear() {
  return new URLSearchParams(location.search).get("year");
}

// The charts are our own server's escaped SVG; parsed as XML, so it is never read as HTML.
async function drawChart(figure, year) {
  const response = await fetch(url(`reports/${year}/${figure.dataset.chart}.svg`));
  if (!response.ok) throw new Error(`the ${figure.dataset.chart} chart: ${response.status}`);
  const parsed = new DOMParser().parseFromString(await response.text(), "image/svg+xml");
  const svg = parsed.documentElement;
  if (svg.localName !== "svg") throw new Error(`the ${figure.dataset.chart} chart is not SVG`);
  figure.replaceChildren(document.importNode(svg, true));
}

function showYears(years, year) {
  const all = [...new Set([...years, new Date().getFullYear(), year])].sort((a, b) => b - a);
  yearSelect.replaceChildren(...all.map((y) => el("option", { value: String(y) }, String(y))));
  yearSelect.value = String(year);
}

function monthName(label) {
  const [year, month] = label.split("-").map(Number);
  return new Date(year, month - 1, 1).toLocaleString(undefined, { month: "long" });
}

// A month with jobs links to them (done) in the grid.
function monthLink(label, plates) {
  if (!plates) return monthName(label);
  const [year, month] = label.split("-").map(Number);
  const since = localDay(new Date(year, month - 1, 1));
  const until = localDay(new Date(year, month, 0));
  return el("a", { href: url(`?since=${since}&until=${until}&state=done`) }, monthName(label));
}

const money = (value, currency) => `${formatNumber(value, 2)}${currency ? ` ${currency}` : ""}`;

// Columns: month, plates, m², plates of each press, cost of each bureau, and the whole cost.
function columns(report) {
  const cost = (i) => report.bureaus.reduce((sum, b) => sum + report.cost_by_bureau[b][i], 0);
  return [
    { label: "Month", value: (i) => monthLink(report.months[i], report.plates[i]), total: "Year" },
    { label: "Plates", value: (i) => formatNumber(report.plates[i]),
      total: formatNumber(report.totals.plates) },
    { label: "m²", value: (i) => formatNumber(report.area_m2[i], 2),
      total: formatNumber(report.totals.area_m2, 2) },
    ...report.presses.map((press) => {
      const values = report.plates_by_press[press];
      return { label: `${press} plates`, value: (i) => formatNumber(values[i]),
        total: formatNumber(values.reduce((a, b) => a + b, 0)) };
    }),
    ...report.bureaus.map((bureau) => {
      const values = report.cost_by_bureau[bureau];
      return { label: `${bureau} cost${report.currency ? ` (${report.currency})` : ""}`, value: (i) => formatNumber(values[i], 2),
        total: formatNumber(values.reduce((a, b) => a + b, 0), 2) };
    }),
    { label: report.currency ? `Cost (${report.currency})` : "Cost",
      value: (i) => formatNumber(cost(i), 2),
      total: formatNumber(report.totals.cost, 2) },
  ];
}

function showTable(report) {
  const table = document.getElementById("monthly");
  const cols = columns(report);
  const row = (text) => el("tr", {}, cols.map((col, i) => (i === 0
    ? el("th", { scope: "row" }, text(col))
    : el("td", { dataset: { label: col.label } }, text(col)))));
  const heads = cols.map((col) => el("th", { scope: "col" }, col.label));
  table.tHead.replaceChildren(el("tr", {}, heads));
  // A month without jobs is only a line of zeros: a phone leaves it out.
  table.tBodies[0].replaceChildren(...report.months.map((_, i) => {
    const line = row((col) => col.value(i));
    line.classList.toggle("empty-month", report.plates[i] === 0);
    return line;
  }));
  table.tFoot.replaceChildren(row((col) => col.total));
}

// --- ink use: per press, a row per ink (in ink order), a column per month -------------------

function showInkUse(report) {
  const presses = Object.entries(report.ink_m2_by_press || {});
  const tables = presses.map(([press, inks]) => {
    const heads = ["Ink", "Year", ...report.months.map(monthName)];
    const rows = Object.entries(inks).map(([ink, values]) => el("tr", {},
      el("th", { scope: "row" }, inkBadge(ink)),
      el("td", { dataset: { label: "Year" } },
        formatNumber(values.reduce((a, b) => a + b, 0), 2)),
      ...values.map((value, i) => el("td", { dataset: { label: heads[i + 2] } },
        formatNumber(value, 2)))));
    return el("table", { className: "cards monthly ink-use" },
      el("caption", {}, `${press}, m²`),
      el("thead", {}, el("tr", {}, heads.map((head) => el("th", { scope: "col" }, head)))),
      el("tbody", {}, ...rows));
  });
  const none = el("p", { className: "note" }, "No ink measured on this year's jobs.");
  document.getElementById("ink-use").replaceChildren(...(tables.length ? tables : [none]));
}

function showReport(report) {
  const year = report.year;
  document.title = `asyncpdf — reports ${year}`;
  document.getElementById("report-title").textContent = `Reports ${year}`;
  document.getElementById("csv-report").href = url(`api/reports.csv?year=${year}`);
  document.getElementById("csv-jobs").href =
    url(`api/jobs.csv?since=${year}-01-01&until=${year}-12-31&state=done`);
  const { plates, area_m2: area, cost } = report.totals;
  document.getElementById("report-totals").textContent =
    `${year}: ${formatNumber(plates)} plates, ${formatNumber(area, 2)} m², ` +
    `cost ${money(cost, report.currency)}`;
  showApart(report);
  const warnings = document.getElementById("report-warnings");
  warnings.replaceChildren(...report.warnings.map((text) => el("li", {}, text)));
  warnings.hidden = report.warnings.length === 0;
  showTable(report);
  showInkUse(report);
}

// Bureaus kept out of the figures (a test bureau), with what they would have added.
function showApart(report) {
  const box = document.getElementById("report-apart");
  box.hidden = report.apart.length === 0;
  box.replaceChildren("Not in these figures: ", ...report.apart.flatMap((entry, index) => [
    index ? "; " : "",
    el("strong", {}, entry.bureau),
    ` ${formatNumber(entry.plates)} plates, ${formatNumber(entry.area_m2, 2)} m², ` +
      `cost ${money(entry.cost, report.currency)}`,
  ]), ".");
}

function showError(message) {
  const box = document.getElementById("report-error");
  box.textContent = message;
  box.hidden = !message;
}

async function load() {
  const number = ++loadNumber;
  const asked = wantedYear();
  let report = await getJson(url(`api/reports${asked ? `?year=${encodeURIComponent(asked)}` : ""}`));
  // With no year asked for, a shop with nothing done this year yet sees its latest year.
  const latest = report.years.at(-1);
  if (!asked && latest && !report.years.includes(report.year)) {
    report = await getJson(url(`api/reports?year=${latest}`));
  }
  if (number !== loadNumber) return;
  showYears(report.years, report.year);
  showReport(report);
  await Promise.all([...charts].map((figure) => drawChart(figure, report.year)));
}

function view() {
  showError("");
  load().catch((error) => showError(`The report could not be loaded: ${error.message}`));
}

yearSelect.addEventListener("change", () => {
  history.pushState(null, "", url(`reports?year=${yearSelect.value}`));
  view();
});
window.addEventListener("popstate", view);
document.getElementById("print").addEventListener("click", () => window.print());

startLine();
view();
