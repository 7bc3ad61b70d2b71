"use strict";
// One job: its proof, pages, deliveries, warnings and log from api/jobs/ID, the buttons that
// act on it, and live updates from ws (any event about it reloads the page's data).
import {
  ApiError,
  connectLive,
  deliveryClass,
  deliveryName,
  el,
  formatBytes,
  formatNumber,
  formatSeconds,
  getJson,
  inkBadge,
  inkBadges,
  jobStateText,
  operatorMessage,
  send,
  url,
} from "./common.js";
import {
  FINISHED,
  analysed,
  duplicateDetails,
  noProofText,
  notAnalysedText,
  relatedWords,
} from "./job_words.js";
import { gate, signInHint, startLine } from "./line.js";

// The page is <root>/jobs/ID, the root wherever the service is served.
const JOB_ID = Number(location.pathname.match(/\/jobs\/(\d+)$/)[1]);
const API = url(`api/jobs/${JOB_ID}`);
const RELOAD_AFTER_EVENT_MS = 250;

const buttons = {
  retry: document.getElementById("retry"),
  rerun: document.getElementById("rerun"),
  delete: document.getElementById("delete"),
};
const result = document.getElementById("action-result");
let detail = null;
let deleted = false;
let reloadTimer = null;

const byId = (id) => document.getElementById(id);
const jobLink = (id) => el("a", { href: url(`jobs/${id}`) }, `#${id}`);
// Millimetres as a prepress person writes them: 1030 × 770, 900.5 × 640.
const size = (pair) => (pair ? pair.map((mm) => Number(mm.toFixed(1))).join(" × ") : "—");

// --- what the job is -----------------------------------------------------------------------

function showHead(job) {
  document.title = `asyncpdf — #${job.id} ${job.name}`;
  byId("title").textContent = `#${job.id} ${job.name}`;
  const state = byId("state");
  state.textContent = deleted ? "deleted" : jobStateText(job);
  const warned = job.warnings > 0 && job.state === "done";
  state.className = `state-badge ${job.state}${warned ? " warned" : ""}`;
  showRelated(job);
}

// Filled when its answers come; a later render's answer wins over an earlier one's.
let relatedNumber = 0;
async function showRelated(job) {
  const number = ++relatedNumber;
  const related = [];
  if (job.rerun_of) related.push("Run again from ", jobLink(job.rerun_of), ". ");
  if (detail.rerun_by?.length) {
    related.push("Run again as ");
    detail.rerun_by.forEach((id, index) => related.push(index ? ", " : "", jobLink(id)));
    related.push(". ");
  }
  related.push(...await relatedWords(job, detail.rerun_by));
  if (number === relatedNumber) byId("related").replaceChildren(...related);
}

function showButtons(job) {
  const finished = FINISHED.has(job.state) && !deleted;
  buttons.retry.hidden = deleted || !detail.deliveries.some((d) => d.state === "failed");
  buttons.rerun.hidden = !finished;
  buttons.delete.hidden = !finished;
  byId("delete-note").hidden = !finished;
}

function fact(term, ...value) {
  return [el("dt", {}, term), el("dd", {}, ...value)];
}

function showSummary(job, artefacts) {
  const average = artefacts?.average_coverage;
  const plates = analysed(job) ? [
    fact("Order", job.order || "—"),
    fact("Bureau", job.bureau || "—"),
    fact("Presses", (job.presses || []).join(", ") || "—"),
    fact("Complects", String(job.complects)),
    fact("Plates", String(job.plates ?? "—")),
    fact("Inks", ...inkBadges(job.inks)),
    average && Object.keys(average).length
      ? fact("Average coverage", coverage(average)) : [],
  ] : [];
  const facts = [
    ...plates,
    fact("Size", formatBytes(job.size)),
    fact("Received", formatSeconds(job.created_at)),
    job.finished_at ? fact("Finished", formatSeconds(job.finished_at)) : [],
    job.subfolder ? fact("Sub-folder", job.subfolder) : [],
    job.imported ? fact("Imported", "yes: taken into the history without delivery") : [],
    job.error && job.state !== "duplicate"
      ? fact("Error", el("span", { className: "error-text" }, job.error)) : [],
  ];
  byId("summary").replaceChildren(...facts.flat());
  const checksum = el("p", {}, "SHA-256 ", el("code", { className: "hash" }, job.sha256 || "—"));
  byId("job-details").replaceChildren(el("summary", {}, "Details"), checksum,
    ...duplicateDetails(job));
}

function showDownloads(job, analysis, artefacts) {
  // Retention may have removed the original from done/: said, not a dead link.
  const links = [
    job.original_removed_at
      ? el("span", {}, `Original removed by retention on ${formatSeconds(job.original_removed_at)}`)
      : el("a", { href: `${API}/original`, download: "" }, "Original PDF"),
  ];
  const pressPreviews = Object.keys(artefacts?.press_previews || {});
  const hasPreview = Boolean(artefacts?.preview || pressPreviews.length);
  const presses = analysis?.presses || [];
  if (hasPreview && presses.length) {
    for (const press of presses) {
      const href = `${API}/preview.pdf?press=${encodeURIComponent(press)}`;
      links.push(el("a", { href }, `Press preview: ${press}`));
    }
  } else if (hasPreview) {
    links.push(el("a", { href: `${API}/preview.pdf` }, "Press preview"));
  }
  byId("downloads").replaceChildren(...links.map((link) => el("li", {}, link)));
}

// The job's warnings: the log's warning lines and what the preview step noted.
function showWarnings(log, artefacts) {
  const texts = [
    ...log.filter((line) => line.level === "warning").map((line) => line.message),
    ...(artefacts?.warnings || []),
  ];
  const items = [...new Set(texts)].map((text) => el("li", {}, text));
  const none = el("li", { className: "none" }, "None.");
  byId("warnings").replaceChildren(...(items.length ? items : [none]));
}

// --- the proofs: one per sheet, paged by buttons, arrow keys, swipes and the strip ------------

const SWIPE_PX = 40;
const proofs = { count: 0, sheet: 1, swiped: false };
const proofSrc = (sheet) => `${API}/proof.jpg?sheet=${sheet}`;

// Older records have one proof (`proof`); newer ones one per sheet (`proofs`).
function showProofs(artefacts) {
  const count = artefacts?.proofs?.length || (artefacts?.proof ? 1 : 0);
  if (count !== proofs.count) {
    proofs.count = count;
    proofs.sheet = Math.min(proofs.sheet, Math.max(count, 1));
    const thumbs = Array.from({ length: count }, (_, index) =>
      el("li", {},
        el("button", { type: "button", title: `Sheet ${index + 1}`, dataset: { sheet: index + 1 } },
          el("img", { src: proofSrc(index + 1), alt: `sheet ${index + 1}`, loading: "lazy",
            draggable: false }))));
    byId("proof-strip").replaceChildren(...thumbs);
  }
  byId("proof-pager").hidden = count < 2;
  byId("proof-strip").hidden = count < 2;
  showSheet(proofs.sheet);
}

function showSheet(sheet) {
  const { count } = proofs;
  const link = byId("proof-link");
  link.hidden = count === 0;
  byId("proof-caption").textContent = count ? "Click for full size." : noProofText(detail.job);
  if (!count) return;
  proofs.sheet = Math.min(Math.max(sheet, 1), count);
  const src = proofSrc(proofs.sheet);
  const image = byId("proof");
  if (image.getAttribute("src") !== src) {
    image.src = src;
    image.alt = `proof of sheet ${proofs.sheet}`;
    link.href = src;
  }
  byId("proof-sheet").textContent = `Sheet ${proofs.sheet} of ${count}`;
  byId("proof-prev").disabled = proofs.sheet === 1;
  byId("proof-next").disabled = proofs.sheet === count;
  for (const button of byId("proof-strip").querySelectorAll("button")) {
    const current = Number(button.dataset.sheet) === proofs.sheet;
    button.classList.toggle("current", current);
    if (current) button.setAttribute("aria-current", "true");
    else button.removeAttribute("aria-current");
  }
}

function turn(step) {
  showSheet(proofs.sheet + step);
  byId("proof-strip").querySelector(".current")?.scrollIntoView({ block: "nearest", inline: "nearest" });
}

function watchProofs() {
  byId("proof-prev").addEventListener("click", () => turn(-1));
  byId("proof-next").addEventListener("click", () => turn(1));
  byId("proof-strip").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-sheet]");
    if (button) showSheet(Number(button.dataset.sheet));
  });
  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey || proofs.count < 2) return;
    if (event.target.closest?.("input, textarea, select, [contenteditable]")) return;
    if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
      event.preventDefault();
      turn(event.key === "ArrowLeft" ? -1 : 1);
    }
  });
  // A sideways swipe (or drag) over the proof turns the sheet; an upright one scrolls.
  const viewer = byId("proof-viewer");
  let start = null;
  viewer.addEventListener("pointerdown", (event) => {
    start = { x: event.clientX, y: event.clientY, id: event.pointerId };
  });
  viewer.addEventListener("pointercancel", () => { start = null; });
  viewer.addEventListener("pointerup", (event) => {
    if (!start || event.pointerId !== start.id) return;
    const dx = event.clientX - start.x;
    const dy = event.clientY - start.y;
    start = null;
    if (Math.abs(dx) >= SWIPE_PX && Math.abs(dx) > 2 * Math.abs(dy)) {
      proofs.swiped = true;
      turn(dx < 0 ? 1 : -1);
    }
  });
  // A swipe that ends on the proof is not a click for full size.
  viewer.addEventListener("click", (event) => {
    if (proofs.swiped) event.preventDefault();
    proofs.swiped = false;
  }, true);
}

// --- deliveries and pages -------------------------------------------------------------------

function receipt(delivery) {
  if (delivery.state === "sent") {
    const seconds = delivery.seconds === null ? "" : `, ${formatNumber(delivery.seconds, 2)} s`;
    return `${delivery.remote_name || ""} (${formatBytes(delivery.bytes)}${seconds})`;
  }
  const next = delivery.next_attempt_at && `next try ${formatSeconds(delivery.next_attempt_at)}`;
  return [delivery.error, next].filter(Boolean).join("; ");
}

function cell(label, ...content) {
  return el("td", { dataset: { label } }, ...content);
}

function showDeliveries(job, deliveries) {
  const rows = deliveries.map((delivery) =>
    el("tr", { className: deliveryClass(delivery) },
      cell("Delivery", deliveryName(delivery.kind, job.bureau),
        delivery.kind === "bureau" ? " (plates)" : " (preview)"),
      cell("State", delivery.state),
      cell("Target", el("code", {}, delivery.target)),
      cell("Receipt or error", receipt(delivery)),
      cell("Attempts", String(delivery.attempts))));
  const none = job.imported ? "None: an imported job is recorded, not sent." : "No deliveries.";
  const empty = el("tr", {}, el("td", { colSpan: 5 }, none));
  byId("deliveries").tBodies[0].replaceChildren(...(rows.length ? rows : [empty]));
}

function coverage(percentages) {
  if (!percentages) return "—";
  return el("ul", { className: "coverage" },
    Object.entries(percentages).map(([ink, percent]) =>
      el("li", {}, inkBadge(ink), ` ${formatNumber(percent, 1)} %`)));
}

function marks(page) {
  if (!page.marks?.length) return "—";
  return el("ul", { className: "marks" }, page.marks.map((mark) =>
    el("li", {}, el("strong", {}, mark.text ? `${mark.name}: ` : mark.name), mark.text)));
}

function showPages(analysis, artefacts) {
  const rows = (analysis?.pages || []).map((page, index) =>
    el("tr", {},
      cell("Page", String(index + 1)),
      cell("Press", page.press || "—"),
      cell("Plate (mm)", size(page.plate_mm)),
      cell("Inks", ...inkBadges(page.inks)),
      cell("Paper (mm)", size(page.paper_mm)),
      cell("Ink coverage", coverage(artefacts?.ink_coverage?.[index])),
      cell("Marks", marks(page))));
  const empty = el("tr", {}, el("td", { colSpan: 7 }, notAnalysedText(detail.job)));
  byId("pages").tBodies[0].replaceChildren(...(rows.length ? rows : [empty]));
}

function showLog(log) {
  byId("job-log").replaceChildren(...log.map((line) => el("li", { className: line.level },
    `${formatSeconds(line.ts)} ${line.level}: ${line.message}`)));
}

function render() {
  const { job, analysis, artefacts, deliveries, log } = detail;
  showHead(job);
  showButtons(job);
  showProofs(artefacts);
  showSummary(job, artefacts);
  showDownloads(job, analysis, artefacts);
  showWarnings(log, artefacts);
  showDeliveries(job, deliveries);
  showPages(analysis, artefacts);
  showLog(log);
}

async function load() {
  try {
    detail = await getJson(API);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) throw error;
    showGone(`There is no job #${JOB_ID}: its record was deleted, or it never was.`);
    return;
  }
  render();
}

function showGone(message) {
  deleted = true;
  if (detail) render();
  else byId("title").textContent = `Job #${JOB_ID}`;
  Object.values(buttons).forEach((button) => { button.hidden = true; });
  byId("delete-note").hidden = true;
  showResult(message, false);
}

// --- actions ---------------------------------------------------------------------------------

function showResult(message, refused) {
  result.textContent = message;
  result.classList.toggle("refused", refused);
}

// A refusal (no login, a foreign page, a job not in a state for it) says the server's reason.
async function act(button, method, url, then) {
  button.disabled = true;
  showResult("", false);
  try {
    await then(await send(method, url));
  } catch (error) {
    showResult(`Not done: ${operatorMessage(error)}`, true);
  } finally {
    button.disabled = false;
  }
}

buttons.retry.addEventListener("click", () =>
  act(buttons.retry, "POST", `${API}/retry`, async (body) => {
    const names = body.retried.map((kind) => deliveryName(kind, detail.job.bureau));
    showResult(`Sending again: ${names.join(", ")}.`, false);
    await load();
  }));

buttons.rerun.addEventListener("click", () =>
  act(buttons.rerun, "POST", `${API}/rerun`, async (body) => {
    location.assign(url(body.page));
  }));

buttons.delete.addEventListener("click", () => {
  const question = `Delete the record of job #${JOB_ID} and its previews?\n` +
    "The original file is kept.";
  if (!confirm(question)) return;
  act(buttons.delete, "DELETE", API, async () => {
    location.assign(url());
  });
});

// --- live --------------------------------------------------------------------------------------

function reloadSoon() {
  if (reloadTimer) return;
  reloadTimer = setTimeout(() => {
    reloadTimer = null;
    load().catch(() => {});
  }, RELOAD_AFTER_EVENT_MS);
}

function onEvent(event) {
  if (deleted) return;
  if (event.type === "deleted" && event.job_id === JOB_ID) {
    showGone("This record was deleted.");
  } else if (event.type === "log" && event.job_id === JOB_ID) {
    reloadSoon();
  } else if (event.type === "job" && (event.job.id === JOB_ID || event.job.rerun_of === JOB_ID)) {
    reloadSoon();
  }
}

// Acting on the job needs a login: the buttons say so until there is one.
function gateButtons() {
  gate(buttons.retry, "retry failed deliveries");
  gate(buttons.rerun, "run this file again");
  gate(buttons.delete, "delete this record");
  signInHint(byId("job-signin"), "retry, run again or delete");
}

startLine();
gateButtons();
watchProofs();
connectLive({ refresh: load, onEvent });
