"use strict";
// Acting from the grid, for a signed-in user: upload PDFs (dropped on the page or picked) to
// POST api/jobs, each with its progress and the server's answer; and select jobs whose
// deliveries failed and retry them all at once.
import { deliveryName, el, operatorMessage, send, url } from "./common.js";
import { gate, signedIn, signInHint } from "./line.js";

const selected = new Set(); // ids of jobs chosen for a retry
const uploads = document.getElementById("uploads");
const picker = document.getElementById("upload-file");
const pickButton = document.getElementById("upload-pick");
const retryButton = document.getElementById("retry-selected");
const result = document.getElementById("grid-result");

function hasFailedDelivery(job) {
  return (job.deliveries || []).some((delivery) => delivery.state === "failed");
}

// The row's checkbox: only for a job with a failed delivery, only for a signed-in user.
export function selectBox(job) {
  if (!hasFailedDelivery(job) || !signedIn()) {
    selected.delete(job.id);
    return null;
  }
  const box = el("input", { type: "checkbox", className: "select-job", checked: selected.has(job.id) });
  box.setAttribute("aria-label", `select #${job.id} to retry its failed deliveries`);
  box.addEventListener("change", () => {
    if (box.checked) selected.add(job.id);
    else selected.delete(job.id);
    showSelection();
  });
  return el("label", { className: "select-label" }, box, " retry");
}

function showSelection() {
  retryButton.textContent = selected.size
    ? `Retry failed deliveries of ${selected.size} selected`
    : "Retry failed deliveries of selected";
  retryButton.dataset.busy = selected.size ? "no" : "yes";
  retryButton.disabled = !signedIn() || selected.size === 0;
}

function say(message, refused = false) {
  result.textContent = message;
  result.classList.toggle("refused", refused);
  result.hidden = !message;
}

async function retrySelected(jobs, refresh) {
  const ids = [...selected].sort((a, b) => a - b);
  retryButton.disabled = true;
  const done = [];
  const refused = [];
  for (const id of ids) {
    const bureau = jobs().find((job) => job.id === id)?.bureau;
    try {
      const body = await send("POST", url(`api/jobs/${id}/retry`));
      done.push(`#${id} (${body.retried.map((kind) => deliveryName(kind, bureau)).join(", ")})`);
      selected.delete(id);
    } catch (error) {
      refused.push(`#${id}: ${operatorMessage(error)}`);
    }
  }
  const parts = [];
  if (done.length) parts.push(`Sending again: ${done.join(", ")}.`);
  if (refused.length) parts.push(`Not retried: ${refused.join("; ")}.`);
  say(parts.join(" "), refused.length > 0);
  showSelection();
  refresh();
}

// --- upload -------------------------------------------------------------------------------------

function uploadItem(file) {
  const bar = el("progress", { max: 100, value: 0 });
  bar.setAttribute("aria-label", `upload of ${file.name}`);
  const status = el("span", { className: "upload-status" }, " waiting");
  const item = el("li", {}, el("strong", {}, file.name), " ", bar, status);
  uploads.prepend(item);
  return { item, bar, status };
}

// XMLHttpRequest, not fetch: it reports the upload's progress.
function upload(file) {
  const shown = uploadItem(file);
  return new Promise((resolve) => {
    const request = new XMLHttpRequest();
    request.open("POST", url("api/jobs"));
    request.setRequestHeader("Accept", "application/json");
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) shown.bar.value = Math.round((100 * event.loaded) / event.total);
      shown.status.textContent = " sending";
    };
    request.onload = () => {
      let body = null;
      try {
        body = JSON.parse(request.responseText);
      } catch {
        body = null;
      }
      if (request.status === 202 && body) {
        shown.bar.value = 100;
        shown.status.replaceChildren(" taken as ",
          el("a", { href: url(body.page) }, `#${body.id}`));
        shown.item.className = "ok";
      } else {
        const error = { status: request.status, message: body?.error?.message || request.statusText };
        shown.status.textContent = ` not taken: ${operatorMessage(error)}`;
        shown.item.className = "refused";
      }
      resolve();
    };
    request.onerror = () => {
      shown.status.textContent = " not taken: the service could not be reached";
      shown.item.className = "refused";
      resolve();
    };
    const form = new FormData();
    form.append("file", file, file.name);
    request.send(form);
  });
}

async function uploadAll(files) {
  if (!signedIn()) return;
  for (const file of files) await upload(file); // one at a time: the bureau gets them in order
}

// Files dragged onto the page are taken here, never opened by the browser in place of it.
function setupDrop() {
  const zone = document.body;
  const carriesFiles = (event) => Boolean(event.dataTransfer?.types.includes("Files"));
  zone.addEventListener("dragover", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    zone.classList.toggle("dragging", signedIn());
  });
  zone.addEventListener("dragleave", (event) => {
    if (event.relatedTarget === null) zone.classList.remove("dragging");
  });
  zone.addEventListener("drop", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    zone.classList.remove("dragging");
    if (signedIn()) uploadAll([...event.dataTransfer.files]);
    else say("Not taken: sign in to upload files.", true);
  });
}

export function setupGridActions({ rows, refresh }) {
  gate(pickButton, "upload PDF files");
  gate(retryButton, "retry failed deliveries");
  signInHint(document.getElementById("grid-signin"), "upload files or retry failed deliveries");
  showSelection();
  pickButton.addEventListener("click", () => picker.click());
  picker.addEventListener("change", () => {
    uploadAll([...picker.files]);
    picker.value = "";
  });
  retryButton.addEventListener("click", () => retrySelected(rows, refresh));
  setupDrop();
}
