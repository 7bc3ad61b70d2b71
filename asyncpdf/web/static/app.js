"use strict";
// The history grid: filtered jobs from /api/jobs (the filters live in the URL), their
// totals, the header counters and the live log, kept current by ws.
import {
  ApiError,
  breakable,
  connectLive,
  deliveryClass,
  deliveryName,
  el,
  formatNumber,
  formatSeconds,
  formatShort,
  formatTime,
  formatWhen,
  getJson,
  inkBadges,
  jobStateText,
  localDay,
  setupTabs,
  url,
} from "./common.js";
import { selectBox, setupGridActions } from "./grid_actions.js";
import { onLine, startLine } from "./line.js";
import { loadLog, setupLog, showLog } from "./livelog.js";

const DEFAULT_LIMIT = 50;
const STATUS_EVERY_MS = 5000;
const REFRESH_AFTER_EVENT_MS = 1000;
const FILTERS = ["since", "until", "bureau", "press", "name"];
const COLUMNS = [
  "Proof", "Order", "Name", "Date", "Press", "Bureau",
  "Complects", "Plates", "Inks", "State", "Delivery",
];

const form = document.getElementById("filters");
const tbody = document.querySelector("#jobs tbody");
const proofPop = document.getElementById("proof-pop");
const rows = new Map(); // id → {row, job}
const known = { bureaus: new Set(), presses: new Set() };
let effective = null; // the filters the server applied to the rows shown
let hotfolderPath = "";
let loadNumber = 0;
let refreshTimer = null;

// --- the URL holds the view -------------------------------------------------------------

function query() {
  return new URLSearchParams(location.search);
}

function paging() {
  const params = query();
  return {
    limit: Number(params.get("limit")) || DEFAULT_LIMIT,
    offset: Number(params.get("offset")) || 0,
  };
}

function filterParams() {
  const kept = new URLSearchParams();
  for (const [key, value] of query()) {
    if (key !== "limit" && key !== "offset") kept.append(key, value);
  }
  return kept;
}

function go(params) {
  const search = params.toString();
  if (search === location.search.slice(1)) return;
  history.pushState(null, "", url(search ? `?${search}` : ""));
  view();
}

function paramsFromForm() {
  const data = new FormData(form);
  const params = new URLSearchParams();
  // An empty "since" is sent on purpose: it means no lower bound (not the last 60 days).
  params.set("since", data.get("since"));
  for (const key of ["until", "bureau", "press", "name"]) {
    const value = data.get(key).trim();
    if (value) params.set(key, value);
  }
  for (const state of data.get("state").split(",").filter(Boolean)) params.append("state", state);
  if (Number(data.get("limit")) !== DEFAULT_LIMIT) params.set("limit", data.get("limit"));
  return params;
}

// A bookmarked value the list does not offer (state=done&state=failed, limit=20) is added.
function choose(select, value, text) {
  if (![...select.options].some((option) => option.value === value)) {
    select.append(el("option", { value }, text));
  }
  select.value = value;
}

function fillForm() {
  const params = query();
  for (const key of FILTERS) form.elements[key].value = params.get(key) || "";
  const states = params.getAll("state").join(",");
  choose(form.elements.state, states, states.replaceAll(",", " or "));
  const limit = String(paging().limit);
  choose(form.elements.limit, limit, limit);
}

// --- which jobs belong in this view ---------------------------------------------------

function same(a, b) {
  return a.toLowerCase() === b.toLowerCase();
}

function contains(text, part) {
  return text.toLowerCase().includes(part.toLowerCase());
}

function matches(job) {
  if (!effective) return false;
  const day = localDay(new Date(job.created_at));
  const { since, until, bureau, press, state, name } = effective;
  if ((since && day < since) || (until && day > until)) return false;
  if (bureau && !(job.bureau && contains(job.bureau, bureau))) return false;
  if (press && !(job.presses || []).some((p) => same(p, press))) return false;
  if (state && state.length && !state.includes(job.state)) return false;
  if (name) {
    const excluded = name.startsWith("-");
    const part = (excluded ? name.slice(1) : name).toLowerCase();
    if (job.name.toLowerCase().includes(part) === excluded) return false;
  }
  return true;
}

// A live event may arrive before an older snapshot from the API: never go back in time.
function older(job, than) {
  return Date.parse(job.updated_at) < Date.parse(than.updated_at);
}

// --- rows --------------------------------------------------------------------------------

function thumbCell(job) {
  if (!job.links?.thumb) return [];
  const img = el("img", {
    className: "thumb",
    src: url(job.links.thumb),
    alt: `thumbnail of ${job.name}`,
    loading: "lazy",
  });
  if (job.links.proof) img.dataset.proof = url(job.links.proof);
  return [el("a", { href: url(job.links.page), tabIndex: -1 }, img)];
}

// "Already sent as #12 on 3 Mar 14:05": a duplicate is no fault, and its first job is a click away.
function duplicateNote(job) {
  const when = job.duplicate_of_at ? ` ${formatWhen(job.duplicate_of_at)}` : "";
  return el("small", { className: "note duplicate-note" }, " Already sent as ",
    el("a", { href: url(`jobs/${job.duplicate_of}`) }, `#${job.duplicate_of}`), when);
}

function nameCell(job) {
  const parts = [el("a", { href: url(`jobs/${job.id}`), className: "job-link" }, breakable(job.name))];
  if (job.subfolder) parts.push(el("small", { className: "note" }, ` in ${job.subfolder}/`));
  if (job.rerun_of) parts.push(el("small", { className: "note" }, ` rerun of #${job.rerun_of}`));
  if (job.duplicate_of) parts.push(duplicateNote(job));
  if (job.error && job.state !== "duplicate") {
    parts.push(el("small", { className: "error-text", title: job.error }, job.error));
  }
  return parts;
}

function deliveryCell(job) {
  if (job.imported && job.state === "done" && !(job.deliveries || []).length) {
    return [el("span", { className: "delivery imported-mark" }, "imported: not sent")];
  }
  return (job.deliveries || []).map((delivery) => {
    const title = [
      `${delivery.attempts} attempt(s)`,
      delivery.error,
    ].filter(Boolean).join(": ");
    return el(
      "span",
      { className: deliveryClass(delivery), title },
      `${deliveryName(delivery.kind, job.bureau)}: ${delivery.state}`,
    );
  });
}

// "failed, fixed by #24": the rerun that delivered the file a click away.
function stateText(job) {
  if (!job.fixed_by) return el("span", { className: "state-text" }, jobStateText(job));
  return el("span", { className: "state-text fixed-note" }, `${job.state}, fixed by `,
    el("a", { href: url(`jobs/${job.fixed_by}`) }, `#${job.fixed_by}`));
}

// Counts that mean nothing for a file that was never read (a rejected one) are left out.
function count(job, value) {
  return job.state === "rejected" || value === null || value === undefined ? [] : [value];
}

function cellsOf(job) {
  return [
    thumbCell(job),
    [job.order || ""],
    nameCell(job),
    [el("time", { dateTime: job.created_at, title: formatSeconds(job.created_at) },
      formatShort(job.created_at))],
    [(job.presses || []).join(", ")],
    [job.bureau || ""],
    count(job, job.complects),
    count(job, job.plates),
    inkBadges(job.inks),
    [stateText(job), selectBox(job)],
    deliveryCell(job),
  ];
}

function fill(row, job) {
  const warned = job.warnings > 0 && job.state === "done";
  row.className = [warned ? "done warned" : job.state, job.imported ? "imported" : "",
    job.fixed_by ? "fixed" : ""].filter(Boolean).join(" ");
  cellsOf(job).forEach((content, index) =>
    row.children[index].replaceChildren(...content.filter((part) => part !== null)));
  row.querySelector("[data-label=State]").title = warned
    ? `${job.warnings} warning(s): see the job's page`
    : "";
}

function makeRow(job) {
  const row = el("tr", { dataset: { id: job.id } });
  for (const label of COLUMNS) row.append(el("td", { dataset: { label } }));
  fill(row, job);
  return row;
}

// `live`: a snapshot from an event, which knows nothing of a later rerun that fixed the job
// (the rerun's own change does not touch this job's row): what the API said of that is kept.
function show(job, live = false) {
  const entry = rows.get(job.id);
  if (entry && live && !job.fixed_by && entry.job.fixed_by) {
    job = { ...job, fixed_by: entry.job.fixed_by };
  }
  if (entry) {
    // Unchanged rows are left alone, so their thumbnails do not flicker.
    if (older(job, entry.job) || JSON.stringify(job) === JSON.stringify(entry.job)) {
      return entry.row;
    }
    fill(entry.row, job);
    entry.job = job;
    return entry.row;
  }
  const row = makeRow(job);
  rows.set(job.id, { row, job });
  return row;
}

function remove(id) {
  rows.get(id)?.row.remove();
  rows.delete(id);
  showEmpty();
}

// A new job that belongs on the first page goes in by number (newest first); the page keeps
// its length.
function insertLive(job) {
  const { limit, offset } = paging();
  const ids = [...rows.keys()];
  if (offset !== 0 || !matches(job)) return;
  if (ids.length >= limit && job.id < Math.min(...ids)) return;
  const row = show(job, true);
  const before = [...tbody.children].find((other) => Number(other.dataset.id) < job.id);
  tbody.insertBefore(row, before || null);
  while (tbody.children.length > limit) remove(Number(tbody.lastElementChild.dataset.id));
  showEmpty();
}

function upsert(job) {
  if (!rows.has(job.id)) insertLive(job);
  else if (matches(job)) show(job, true);
  else remove(job.id);
  refreshSoon();
}

// --- totals, range, empty grid -----------------------------------------------------------

const money = (value, currency) => `${formatNumber(value, 2)}${currency ? ` ${currency}` : ""}`;

function totalsLine(title, items, key, currency) {
  const parts = items.map((item) =>
    el("li", { className: item.in_reports === false ? "apart" : "" },
      `${item[key] || "—"}: ${formatNumber(item.plates)} plates`,
      el("span", { className: "cost" }, ` (${money(item.cost, currency)})`),
      item.in_reports === false ? el("span", { className: "cost" }, ", not in the totals") : ""));
  const heading = el("strong", {}, `${title}:`);
  return el("div", { className: "totals-line" }, heading, el("ul", {}, parts));
}

function showTotals(totals) {
  const box = document.getElementById("totals");
  if (!totals) {
    box.replaceChildren();
    return;
  }
  box.replaceChildren(
    el("div", { className: "totals-line" },
      el("strong", {}, "Total: "),
      `${formatNumber(totals.plates)} plates, cost ${money(totals.cost, totals.currency)}`),
    totalsLine("By press", totals.by_press || [], "press", totals.currency),
    totalsLine("By bureau", totals.by_bureau || [], "bureau", totals.currency),
  );
}

function remember(set, names, listId) {
  const before = set.size;
  names.filter(Boolean).forEach((name) => set.add(name));
  if (set.size === before) return;
  const options = [...set].sort().map((value) => el("option", { value }));
  document.getElementById(listId).replaceChildren(...options);
}

function showRange(body) {
  const first = body.jobs.length ? body.offset + 1 : 0;
  const last = body.offset + body.jobs.length;
  document.getElementById("range").textContent = `${first}–${last} of ${body.total}`;
  document.getElementById("prev").disabled = body.offset === 0;
  document.getElementById("next").disabled = last >= body.total;
}

function showEmpty() {
  const empty = document.getElementById("empty");
  empty.hidden = rows.size > 0 || effective === null; // not before the first answer
  if (empty.hidden) return;
  const where = hotfolderPath ? el("code", {}, hotfolderPath) : "the hotfolder";
  const filtered = filterParams().toString() ? " (or clear the filters to see more)" : "";
  empty.replaceChildren("No jobs here yet. Drop PDF files into ", where,
    ` and they appear here as they are taken${filtered}.`);
}

function nameFilterText(name) {
  return name.startsWith("-") ? `name without “${name.slice(1)}”` : `name with “${name}”`;
}

function describeFilters() {
  if (!effective) return "";
  const { since, until, bureau, press, state, name } = effective;
  return [
    since || until ? `${since || "…"} to ${until || "today"}` : "all dates",
    bureau && `bureau ${bureau}`,
    press && `press ${press}`,
    state?.length && `state ${state.join(" or ")}`,
    name && nameFilterText(name),
  ].filter(Boolean).join(", ");
}

function render(body) {
  effective = body.filters || {};
  for (const key of ["since", "until"]) {
    const input = form.elements[key];
    if (document.activeElement !== input) input.value = effective[key] || "";
  }
  const ids = new Set(body.jobs.map((job) => job.id));
  for (const id of [...rows.keys()]) if (!ids.has(id)) remove(id);
  tbody.replaceChildren(...body.jobs.map(show));
  showRange(body);
  showTotals(body.totals);
  showEmpty();
  remember(known.bureaus, (body.totals?.by_bureau || []).map((b) => b.bureau), "bureaus");
  remember(known.presses, (body.totals?.by_press || []).map((p) => p.press), "presses");
  const filters = filterParams().toString();
  document.getElementById("export").href = url(`api/jobs.csv${filters ? `?${filters}` : ""}`);
  const printed = formatTime(new Date().toISOString());
  document.getElementById("print-summary").textContent =
    `Jobs: ${describeFilters()}; ${body.total} job(s); printed ${printed}`;
}

function showGridError(message) {
  const box = document.getElementById("grid-error");
  box.textContent = message;
  box.hidden = !message;
}

// A view the server refuses (a date it cannot read) says why; a service that cannot be
// reached throws, and the offline banner says so.
async function load() {
  const number = ++loadNumber;
  const params = query();
  if (!params.has("limit")) params.set("limit", String(DEFAULT_LIMIT));
  let body;
  try {
    body = await getJson(url(`api/jobs?${params}`));
  } catch (error) {
    if (!(error instanceof ApiError) || error.status >= 500) throw error;
    if (number === loadNumber) showGridError(`This view cannot be shown: ${error.message}`);
    return;
  }
  if (number !== loadNumber) return; // an answer to an older view is dropped
  render(body);
  showGridError("");
}

function view() {
  load().catch(() => {});
}

// Totals and counts follow the live rows without a query per event.
function refreshSoon() {
  if (refreshTimer) return;
  refreshTimer = setTimeout(() => {
    refreshTimer = null;
    view();
    loadStatus();
  }, REFRESH_AFTER_EVENT_MS);
}

// --- status: counters and the hotfolder -----------------------------------------------

function showStatus(body) {
  const counters = body.counters || {};
  document.getElementById("count-waiting").textContent = counters.waiting ?? "–";
  document.getElementById("count-in-work").textContent = counters.in_work ?? "–";
  document.getElementById("count-failed-today").textContent = counters.failed_today ?? "–";
  document.getElementById("count-failed-today").parentElement.classList.toggle(
    "alarm",
    counters.failed_today > 0,
  );
  if (hotfolderPath !== (body.hotfolder || "")) {
    hotfolderPath = body.hotfolder || "";
    showEmpty();
  }
  // What sits in the hotfolder and is not being worked on, and why (nothing is ignored silently).
  const items = [
    ...(body.holding ? [`Waiting in the hotfolder: ${body.holding}`] : []),
    ...(body.not_taken || []).map((entry) => `${entry.name}: ${entry.reason}`),
    ...(body.failed_claims || []).map(
      (entry) => `${entry.name}: could not be taken yet (${entry.error})`,
    ),
  ].map((text) => el("li", {}, text));
  document.getElementById("not-taken").replaceChildren(...items);
  document.getElementById("hotfolder").hidden = items.length === 0;
}

async function loadStatus() {
  try {
    showStatus(await getJson(url("api/status")));
  } catch {
    // The service is away; the offline banner already says so.
  }
}

function onEvent(event) {
  if (event.type === "log") showLog(event);
  else if (event.type === "job") upsert(event.job);
  else if (event.type === "deleted") {
    remove(event.job_id);
    refreshSoon();
  }
}

// Called at start, after a reconnect, and (with reset) when the missed events are gone.
async function refresh(reset) {
  const loads = [load(), loadStatus()];
  if (reset) loads.push(loadLog());
  await Promise.all(loads);
}

// --- the proof, larger, over the thumbnail under the pointer ---------------------------------

function showProof(event) {
  const thumb = event.target.closest("img.thumb");
  if (!thumb?.dataset.proof) return;
  proofPop.src = thumb.dataset.proof;
  const box = thumb.getBoundingClientRect();
  const room = window.innerWidth - box.right;
  proofPop.style.top = `${Math.max(8, Math.min(box.top, window.innerHeight - 340))}px`;
  proofPop.style.left = room > 360 ? `${box.right + 8}px` : "";
  proofPop.style.right = room > 360 ? "" : "8px";
  proofPop.hidden = false;
}

function hideProof(event) {
  if (event.target.closest("img.thumb")) proofPop.hidden = true;
}

// --- wiring --------------------------------------------------------------------------------

function page(step) {
  const { limit, offset } = paging();
  const params = query();
  params.set("offset", String(Math.max(0, offset + step * limit)));
  if (params.get("offset") === "0") params.delete("offset");
  go(params);
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  go(paramsFromForm());
});
form.addEventListener("change", () => go(paramsFromForm()));
document.getElementById("clear").addEventListener("click", () => {
  history.pushState(null, "", url());
  fillForm();
  view();
});
document.getElementById("prev").addEventListener("click", () => page(-1));
document.getElementById("next").addEventListener("click", () => page(1));
document.getElementById("print").addEventListener("click", () => window.print());
window.addEventListener("popstate", () => {
  fillForm();
  view();
});
tbody.addEventListener("mouseover", showProof);
tbody.addEventListener("mouseout", hideProof);

setupTabs();
setupLog();
startLine();
setupGridActions({ rows: () => [...rows.values()].map((entry) => entry.job), refresh: view });
// Signing in or out changes which controls a row has.
let signedInAs;
onLine((line) => {
  if (line.user === signedInAs) return;
  signedInAs = line.user;
  rows.forEach((entry) => fill(entry.row, entry.job));
});
fillForm();
connectLive({ refresh, onEvent });
setInterval(loadStatus, STATUS_EVERY_MS);
