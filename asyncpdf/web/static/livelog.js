"use strict";
// The grid's live log: the newest lines of every job, quiet by design. Lines only a job's own
// log keeps (level "detail": progress of quick transfers) are left out, long lines are cut
// with the full text a click away on the job's page, a filter shows all / warnings and errors
// / errors, and on a desktop the column can be widened (remembered in this browser).
import { el, formatSeconds, getJson, url } from "./common.js";

const MAX_LOG_LINES = 500;
const LONG_LINE = 120;
const WIDE_KEY = "asyncpdf.log.wide";
const LEVEL_KEY = "asyncpdf.log.level";

const logList = document.getElementById("log");
const levelSelect = document.getElementById("log-level");
const widen = document.getElementById("log-widen");

// "ink coverage: C 1.0% M 2.0% …" (hundreds of characters) as its start and a link.
function summary(line) {
  if (line.message.length <= LONG_LINE) return [` ${line.message}`];
  const cut = line.message.lastIndexOf(" ", LONG_LINE - 20);
  const start = line.message.slice(0, cut > 40 ? cut : LONG_LINE - 20);
  return [` ${start} … `,
    el("a", { href: url(`jobs/${line.job_id}`), className: "more", tabIndex: -1,
      title: line.message }, "full line")];
}

export function showLog(line) {
  if (line.level === "detail") return;
  const item = el("li", { className: line.level },
    `${formatSeconds(line.ts)} `,
    // Out of the tab order: the same job is one stop away in the grid, not 500 lines down.
    el("a", { href: url(`jobs/${line.job_id}`), tabIndex: -1 }, `#${line.job_id}`),
    ...summary(line));
  logList.prepend(item);
  while (logList.children.length > MAX_LOG_LINES) logList.lastChild.remove();
}

export async function loadLog() {
  const body = await getJson(url(`api/log?limit=${MAX_LOG_LINES}`));
  logList.replaceChildren();
  body.log.forEach(showLog);
}

function setLevel(level) {
  logList.dataset.level = level;
  levelSelect.value = level;
  localStorage.setItem(LEVEL_KEY, level);
}

function setWide(wide) {
  document.body.classList.toggle("log-wide", wide);
  widen.textContent = wide ? "Narrower" : "Wider";
  widen.setAttribute("aria-pressed", String(wide));
  localStorage.setItem(WIDE_KEY, wide ? "yes" : "no");
}

export function setupLog() {
  setLevel(localStorage.getItem(LEVEL_KEY) || "all");
  setWide(localStorage.getItem(WIDE_KEY) === "yes");
  levelSelect.addEventListener("change", () => setLevel(levelSelect.value));
  widen.addEventListener("click", () => setWide(!document.body.classList.contains("log-wide")));
}
