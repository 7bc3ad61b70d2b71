"use strict";
// What every page shares: the service's address, the JSON API, how times, numbers and inks
// read, and the live connection to ws with its offline banner. Every request goes to this
// service only.

const TAIL = 200;
const MIN_DELAY_MS = 500;
const MAX_DELAY_MS = 15000;
const TRY_AGAIN_LATER = 1013;
const PROCESS_INKS = { cyan: "C", magenta: "M", yellow: "Y", black: "K" };

// The service's root, wherever it is served: at a host's root, or under a sub-path behind a
// proxy (https://intranet.example.com/asyncpdf/). This module is <root>/static/common.js.
const ROOT = new URL("../", import.meta.url);

// The address of `path` in this service: "api/jobs?limit=50", "jobs/5", "reports", "" (the
// grid), "?name=x" (the grid, filtered). A path the API hands out ("/jobs/5",
// "/api/jobs/5/thumb.jpg") is the service's own too: its leading "/" is its root. Returned
// without the origin, as the path the browser asks for (at the root: "/api/jobs?limit=50").
export function url(path = "") {
  const resolved = new URL(path.replace(/^\/+/, ""), ROOT);
  return `${resolved.pathname}${resolved.search}${resolved.hash}`;
}

// The live log's websocket (ws: or wss: as the page is served) at the service's root.
function socketUrl(query) {
  const resolved = new URL(`ws?${query}`, ROOT);
  resolved.protocol = resolved.protocol === "https:" ? "wss:" : "ws:";
  return resolved.href;
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function readBody(response) {
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const message = body?.error?.message || `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, message);
  }
  return body;
}

export async function getJson(url) {
  return readBody(await fetch(url, { headers: { Accept: "application/json" } }));
}

// A change (or a read that must not be cached): the browser adds the Origin the server
// checks, and any Basic login it holds; `body` goes as JSON.
export async function send(method, url, body) {
  const headers = { Accept: "application/json" };
  const options = { method, headers, cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  return readBody(await fetch(url, options));
}

// What a refusal means to the person at the page (the server's words on credentials are for
// whoever runs the service, and are in its README).
export function operatorMessage(error) {
  if (error.status === 401) return "you are not signed in (or the login was not right); sign in and try again";
  if (error.status === 403) return "this service does not take changes from this page";
  return error.message;
}

// An element with properties (className, href, …), dataset entries and children; strings
// become text nodes, so data never turns into markup.
export function el(tag, props = {}, ...children) {
  const { dataset, ...rest } = props;
  const node = Object.assign(document.createElement(tag), rest);
  Object.assign(node.dataset, dataset || {});
  node.append(...children.flat().filter((child) => child !== null && child !== undefined));
  return node;
}

// A file name that may wrap after "_" and "-" (and at spaces), never inside a word.
export function breakable(name) {
  return name.split(/(?<=[_-])/).flatMap((part, index) => (index ? [el("wbr"), part] : [part]));
}

const pad = (n) => String(n).padStart(2, "0");

// YYYY-MM-DD in this browser's time zone (the server counts days in its own, the same on a LAN).
export function localDay(date) {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

export function formatTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return `${localDay(date)} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

const sameDay = (a, b) => localDay(a) === localDay(b);

// A short time for a grid cell: "14:05" today, "12 Mar 14:05" this year, "12 Mar 2024" before.
export function formatShort(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  const now = new Date();
  const clock = `${pad(date.getHours())}:${pad(date.getMinutes())}`;
  if (sameDay(date, now)) return clock;
  const day = date.toLocaleString(undefined, { day: "numeric", month: "short" });
  if (date.getFullYear() === now.getFullYear()) return `${day} ${clock}`;
  return `${day} ${date.getFullYear()}`;
}

// A moment in a sentence: "today at 14:05", "on 12 Mar 14:05", "on 12 Mar 2024".
export function formatWhen(iso) {
  const short = formatShort(iso);
  return /^\d\d:\d\d$/.test(short) ? `today at ${short}` : `on ${short}`;
}

export function formatSeconds(iso) {
  if (!iso) return "";
  return `${formatTime(iso)}:${pad(new Date(iso).getSeconds())}`;
}

export function formatNumber(value, digits = 0) {
  return Number(value || 0).toLocaleString(undefined, {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

export function formatBytes(bytes) {
  if (bytes === null || bytes === undefined) return "";
  const units = ["B", "KB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${formatNumber(value, unit ? 1 : 0)} ${units[unit]}`;
}

// Process inks (by name, or already as their letter) as their letter, spot inks by name.
export function inkBadge(ink) {
  const letter = PROCESS_INKS[ink.toLowerCase()] || (/^[CMYK]$/.test(ink) ? ink : null);
  if (letter) return el("span", { className: `ink ink-${letter}`, title: ink }, letter);
  return el("span", { className: "ink spot", title: `spot ink ${ink}` }, ink);
}

export function inkBadges(inks) {
  return (inks || []).map(inkBadge);
}

// "bureau" is the job's bureau; "press:Name" the preview for that press.
export function deliveryName(kind, bureau) {
  if (kind === "bureau") return bureau || "bureau";
  return kind.startsWith("press:") ? kind.slice("press:".length) : kind;
}

// Red when the plates did not reach the bureau; amber when only a press preview failed.
export function deliveryClass(delivery) {
  const failed = delivery.state === "failed";
  const severity = delivery.kind === "bureau" ? "bad" : "warn";
  return `delivery state-${delivery.state}${failed ? ` ${severity}` : ""}`;
}

// A job's state in words: a duplicate is no fault ("already sent"), a failed job that a rerun
// fixed says so.
export function jobStateText(job) {
  if (job.state === "done" && job.imported) {
    return job.warnings > 0 ? `imported ⚠ ${job.warnings}` : "imported";
  }
  if (job.state === "done" && job.warnings > 0) return `done ⚠ ${job.warnings}`;
  if (job.state === "duplicate") return "already sent";
  if (job.fixed_by) return `${job.state}, fixed by #${job.fixed_by}`;
  return job.state;
}

function setStale(stale) {
  for (const node of document.querySelectorAll("[data-live]")) {
    node.classList.toggle("stale", stale);
  }
}

function showConnection(online, text) {
  const badge = document.getElementById("connection");
  badge.textContent = text;
  badge.className = online ? "online" : "offline";
  document.getElementById("offline").hidden = online;
}

// Loads the page with `refresh` now, keeps it current with `onEvent`, and after any break
// reconnects (with backoff) asking for what it missed, then refreshes before un-greying.
export function connectLive({ refresh, onEvent }) {
  let seen = null; // the number of the last event handled
  let fresh = false; // whether the last refresh succeeded
  let delay = MIN_DELAY_MS;
  let first = true;
  let loading = null;

  async function reload(reset = false) {
    try {
      await refresh(reset);
      fresh = true;
    } catch (error) {
      fresh = false;
      console.warn("refresh failed:", error.message);
    }
  }

  async function greet(hello, socket) {
    // A server with a shorter history (a new database) starts over, as after a reset.
    const restarted = seen !== null && hello.seq < seen;
    if (seen === null) seen = Math.max(0, hello.seq - TAIL);
    if (restarted) seen = hello.seq;
    delay = MIN_DELAY_MS;
    await loading;
    if (!first || !fresh || restarted) {
      loading = reload();
      await loading;
    }
    first = false;
    if (socket.readyState !== WebSocket.OPEN) return;
    showConnection(true, "live");
    setStale(!fresh);
  }

  function handle(event, socket) {
    if (event.type === "hello") return greet(event, socket);
    if (event.type === "reset") {
      seen = event.seq;
      return reload(true).then(() => setStale(!fresh));
    }
    if (seen !== null && event.seq <= seen) return null;
    seen = event.seq;
    return onEvent(event);
  }

  function open() {
    const query = seen === null ? `tail=${TAIL}` : `after=${seen}`;
    const socket = new WebSocket(socketUrl(query));
    socket.onmessage = (message) => handle(JSON.parse(message.data), socket);
    socket.onclose = (closed) => {
      showConnection(false, "offline");
      setStale(true);
      const jitter = 0.8 + Math.random() * 0.4;
      const wait = closed.code === TRY_AGAIN_LATER ? MIN_DELAY_MS : delay * jitter;
      delay = Math.min(delay * 2, MAX_DELAY_MS);
      setTimeout(open, wait);
    };
  }

  loading = reload();
  open();
}

// Narrow screens show one panel at a time; the tab buttons say which.
export function setupTabs() {
  const tabs = document.querySelectorAll("[role=tab]");
  for (const tab of tabs) {
    tab.addEventListener("click", () => {
      for (const other of tabs) {
        const selected = other === tab;
        other.setAttribute("aria-selected", String(selected));
        document.getElementById(other.getAttribute("aria-controls")).classList.toggle(
          "tab-hidden",
          !selected,
        );
      }
    });
  }
}
