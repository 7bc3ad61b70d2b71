"use strict";
// Recent jobs from the API, kept current by the live websocket; no external scripts.
const jobsBody = document.querySelector("#jobs tbody");
const logList = document.getElementById("log");
const connection = document.getElementById("connection");
const hotfolder = document.getElementById("hotfolder");
const notTaken = document.getElementById("not-taken");
const MAX_LOG_LINES = 500;
const STATUS_EVERY_MS = 5000;
const rows = new Map();

function time(ts) {
  return new Date(ts * 1000).toLocaleString();
}

function showJob(job) {
  let row = rows.get(job.id);
  if (!row) {
    row = document.createElement("tr");
    row.dataset.id = job.id;
    for (let i = 0; i < 5; i++) row.appendChild(document.createElement("td"));
    rows.set(job.id, row);
    const newer = [...rows.keys()].filter((id) => id > job.id).length;
    jobsBody.insertBefore(row, jobsBody.children[newer] || null);
  }
  // Done with warnings is not a clean done: a fallback was taken, or something was retried.
  const warned = job.warnings > 0;
  row.className = warned && job.state === "done" ? "done warned" : job.state;
  const cells = row.children;
  cells[0].textContent = job.id;
  cells[1].textContent = job.name;
  cells[2].textContent = warned ? `${job.state} ⚠ ${job.warnings}` : job.state;
  cells[2].title = warned ? `${job.warnings} warning(s) in the job's log` : "";
  cells[3].textContent = time(job.created_at);
  cells[4].textContent = job.error || "";
}

function showLog(line) {
  const item = document.createElement("li");
  item.className = line.level;
  item.textContent = `${time(line.ts)}  #${line.job_id}  ${line.message}`;
  logList.prepend(item);
  while (logList.children.length > MAX_LOG_LINES) logList.lastChild.remove();
}

async function loadJobs() {
  const response = await fetch("/api/jobs?limit=100");
  const body = await response.json();
  body.jobs.forEach(showJob);
}

async function loadLog() {
  const response = await fetch(`/api/log?limit=${MAX_LOG_LINES}`);
  const body = await response.json();
  logList.replaceChildren();
  body.log.forEach(showLog);
}

// What sits in the hotfolder and is not being worked on, and why (nothing is ignored silently).
async function loadStatus() {
  try {
    const response = await fetch("/api/status");
    const body = await response.json();
    const items = [
      ...body.not_taken.map((entry) => `${entry.name}: ${entry.reason}`),
      ...body.failed_claims.map((entry) => `${entry.name}: could not be taken yet (${entry.error})`),
    ].map((text) => {
      const item = document.createElement("li");
      item.textContent = text;
      return item;
    });
    notTaken.replaceChildren(...items);
    hotfolder.hidden = items.length === 0;
  } catch {
    // The service is away; the connection badge already says so.
  }
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws`);
  socket.onopen = () => {
    connection.textContent = "live";
    connection.className = "online";
    loadJobs();
    loadLog();
  };
  socket.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (event.type === "log") showLog(event);
    if (event.type === "job") showJob(event.job);
  };
  socket.onclose = () => {
    connection.textContent = "reconnecting…";
    connection.className = "offline";
    setTimeout(connect, 2000);
  };
}

connect();
loadStatus();
setInterval(loadStatus, STATUS_EVERY_MS);
