"use strict";
// The state of the line on every page, from api/line: the import-mode banner (and its switch,
// for a signed-in user), the targets strip (each bureau and press target ok, or failing since
// when and why) and who is signed in. Actions elsewhere ask `whenSignedIn` to be enabled.
import { el, formatSeconds, formatShort, operatorMessage, send, url } from "./common.js";

const EVERY_MS = 5000;
const listeners = [];
let state = { user: null, can_sign_in: false, import_mode: false, targets: [] };

function signInHref() {
  return url(`signin?next=${encodeURIComponent(location.pathname + location.search)}`);
}

// Whether the person at this page may change things.
export function signedIn() {
  return Boolean(state.user);
}

// A control that needs a login: enabled for a signed-in user; otherwise disabled, its title
// saying "sign in to <verb>".
export function gate(button, verb) {
  const update = () => {
    const allowed = signedIn();
    button.disabled = !allowed || button.dataset.busy === "yes";
    button.title = allowed ? "" : `sign in to ${verb}`;
  };
  listeners.push(update);
  update();
}

// A hint beside a group of gated controls: "Sign in to retry, run again or delete."
export function signInHint(node, verbs) {
  const update = () => {
    node.hidden = signedIn();
    if (!state.can_sign_in) {
      node.replaceChildren(`Changes cannot be made from this page (no one can sign in here).`);
    } else {
      node.replaceChildren(el("a", { href: signInHref() }, "Sign in"), ` to ${verbs}.`);
    }
  };
  listeners.push(update);
  update();
}

export function onLine(callback) {
  listeners.push(callback);
  callback(state);
}

function showWho() {
  const who = document.getElementById("who");
  if (state.user) {
    who.replaceChildren("Signed in as ", el("strong", {}, state.user));
  } else if (state.can_sign_in) {
    who.replaceChildren(el("a", { href: signInHref(), id: "sign-in" }, "Sign in"));
  } else {
    who.replaceChildren();
  }
}

async function switchImportMode(on, button) {
  button.disabled = true;
  const result = document.getElementById("import-result");
  result.textContent = "";
  try {
    await send("PUT", url("api/import-mode"), { import_mode: on });
    await refresh();
  } catch (error) {
    result.textContent = `Not switched: ${operatorMessage(error)}`;
  } finally {
    button.disabled = !signedIn();
  }
}

function importSwitch(on) {
  const label = on ? "Switch import mode on" : "Switch import mode off";
  const button = el("button", { type: "button", className: "import-switch" }, label);
  button.addEventListener("click", () => switchImportMode(on, button));
  button.disabled = !signedIn();
  if (!signedIn()) button.title = `sign in to ${label.toLowerCase()}`;
  return button;
}

function showImportMode() {
  const banner = document.getElementById("import-banner");
  banner.hidden = !state.import_mode;
  const text = el("strong", {}, "Import mode: files are recorded, nothing is sent");
  banner.replaceChildren(text, state.user ? importSwitch(false) : "");
  // Off: a signed-in user may switch it on from the strip.
  const off = document.getElementById("import-off");
  off.replaceChildren(...(state.user && !state.import_mode ? [importSwitch(true)] : []));
}

function targetItem(target) {
  const name = `${target.kind === "bureau" ? "" : "press "}${target.name}`;
  if (target.ok) {
    const sent = target.last_sent_at ? `last file ${formatSeconds(target.last_sent_at)}` : "";
    return el("li", { className: "target ok", title: sent }, `${name}: ok`);
  }
  const since = target.failing_since
    ? ` since ${formatShort(target.failing_since)}`
    : ` (${target.failures_in_a_row} failed attempts in a row)`;
  return el("li", { className: "target failing", title: target.last_error || "" },
    el("strong", {}, `${name}: failing${since}`),
    target.last_error ? el("span", { className: "last-error" }, ` — ${target.last_error}`) : "");
}

function showTargets() {
  const strip = document.getElementById("targets");
  strip.replaceChildren(...state.targets.map(targetItem));
  strip.classList.toggle("has-failing", state.targets.some((target) => !target.ok));
}

function render() {
  showWho();
  showImportMode();
  showTargets();
  for (const listener of listeners) listener(state);
}

export async function refresh() {
  try {
    state = await send("GET", url("api/line"));
  } catch {
    return; // the service is away; the offline banner says so
  }
  render();
}

// The line's part of the page: after the header, before the rest.
export function startLine() {
  const header = document.querySelector("header.top");
  header.append(el("span", { id: "who", className: "who" }));
  const line = el("div", { id: "line", className: "line" },
    el("div", { id: "import-banner", className: "banner import-banner", role: "status",
      hidden: true }),
    el("div", { className: "line-strip" },
      el("ul", { id: "targets", className: "targets" }),
      el("span", { id: "import-off" }),
      el("span", { id: "import-result", className: "error-text" })));
  line.querySelector("#targets").setAttribute("aria-label", "Delivery targets");
  line.querySelector("#import-result").setAttribute("aria-live", "polite");
  header.after(line);
  refresh();
  setInterval(refresh, EVERY_MS);
}
