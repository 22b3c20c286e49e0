// Small helpers shared by the page scripts: translated messages, the page's alert and status
// lines, busy buttons, the page data, and the check that this browser can seal at all.
//
// Page conventions (templates/auth/*.html, account/*.html, orgs/member.html):
//   #page-data      data-* attributes the view passes (docs/accounts-api.md)
//   #page-messages  the sentences below, translated by the server (templates/_macros/messages.html)
//   #page-loading   "Getting this page ready…": removed once the script runs
//   #page-alert     role="alert": every error, in plain words; after a failed submit it holds
//                   the error summary (links to the fields) and has the focus
//   #page-status    role="status": progress and success
//   fieldset[data-needs-script]  disabled in the HTML, enabled once the browser passed the checks

// English fallbacks. The same keys, translated, come from templates/_macros/messages.html.
const EN = {
  "network-error": "The server could not be reached. Check your connection and try again.",
  "server-unexpected": "The server gave an answer this page does not understand. Please try again; if it keeps happening, tell your coordinator.",
  "session-over": "Your session has ended. Please log in again.",
  "too-many": "Too many attempts.",
  "retry-after-one": "Try again in {minutes} minute.",
  "retry-after-other": "Try again in {minutes} minutes.",
  "unexpected": "Something went wrong on this page.",
  "technical": "Technical detail: {detail}",
  "no-secure-context": "This page was not opened over a secure connection (https), so your browser will not let it seal anything. Open Collateral through its https address.",
  "no-webcrypto": "This browser does not offer the Web Crypto API that Collateral needs to seal records. Use a current Firefox, Chrome, Edge or Safari.",
  "no-wasm": "This browser cannot run WebAssembly, which Collateral needs to turn your passphrase into a key. Use a current Firefox, Chrome, Edge or Safari.",
  "no-indexeddb": "This browser does not let Collateral keep your keys for this session (IndexedDB is off, as in some private windows). Use a normal window of a current browser.",
  "working": "Working…",
  "press-again": "Press again to confirm",
  "deriving": "Deriving your key… this takes a few seconds.",
  "making-keys": "Making your keys…",
  "sending": "Sending…",
  "logging-in": "Logging you in…",
  "opening-keys": "Opening your keys…",
  "wrapping": "Sealing the organisation's keys…",
  "done-redirecting": "Done. Taking you on…",
  "email-needed": "Please enter your e-mail address.",
  "name-needed": "Please enter the name other members will see.",
  "passphrase-needed": "Please enter your passphrase.",
  "passphrase-mismatch": "The two passphrases are not the same. Please type them again.",
  "passphrase-short": "Your passphrase needs at least 4 words of 3 or more letters, or at least 14 characters.",
  "passphrase-weak": "This passphrase is too easy to guess. Add another word that is not a common phrase.",
  "passphrase-same": "The new passphrase is the same as the old one.",
  "strength-checking": "Checking how strong this passphrase is…",
  "strength-empty": "Use at least 4 unusual words, or 14 characters or more.",
  "strength-0": "Very weak: this would be guessed at once.",
  "strength-1": "Weak: easy to guess.",
  "strength-2": "Not strong enough yet.",
  "strength-3": "Strong enough.",
  "strength-4": "Very strong.",
  "strength-short": "Too short: use at least 4 words of 3 or more letters, or 14 characters.",
  "strength-unavailable": "The strength check could not load, so a passphrase cannot be accepted here. Reload the page.",
  "recovery-groups": "Type group {first} and group {second} of the recovery code to show that you have it.",
  "recovery-mismatch": "Those groups do not match the recovery code. Look at your copy and try again.",
  "recovery-confirm-needed": "Please confirm that you have written the recovery code down or printed it.",
  "code-needed": "Please enter the 6-digit code from your authenticator app.",
  "login-failed": "The e-mail address or passphrase is not right.",
  "key-mismatch": "Warning: the key the server sent for your account does not belong to the private key your passphrase opened. Nothing was stored on this device. Do not use this account; tell your coordinator at once.",
  "key-open-failed": "Your passphrase was accepted, but your private key could not be opened with it. Nothing was stored on this device. Tell your coordinator.",
  "keyring-missing": "Your keys are not on this device for this session. Please log out and log in again.",
  "keyring-mismatch": "Warning: the keys kept on this device do not match your account. They were deleted. Please log in again; if this happens again, tell your coordinator.",
  "log-in-link": "Log in",
  "registered-login-failed": "Your account was created, but logging you in did not work. Please log in with your e-mail address and passphrase.",
  "fingerprint-missing": "This member has no key yet.",
  "fingerprint-check-needed": "Please compare the fingerprint with the one on the member's screen, and tick the box, before confirming.",
  "confirmed": "Confirmed. This member can now read the organisation's records.",
  "missing-kv": "You do not hold key version {kv} of this organisation, so you cannot pass it on. Ask another coordinator to do this.",
  "no-org-key": "You do not hold this organisation's keys, so you cannot do this.",
  "remove-confirm": "Removing {name} makes a new organisation key for everyone else. Press the button again to remove them.",
  "demote-confirm": "Making {name} an analyst removes their access to sealed records and makes a new organisation key for everyone else. Press the button again to go ahead.",
  "rotate-confirm": "A new organisation key will be made and sealed to every key holder and to the recovery key. Press the button again to go ahead.",
  "removed": "Done. {name} no longer receives new organisation keys.",
  "demoted": "Done. {name} is now an analyst and no longer receives organisation keys.",
  "rotated": "Done. New records will be sealed with key version {kv}.",
  "keyholders-bad": "The list of key holders from the server is not usable, so nothing was changed. Please try again.",
  "old-passphrase-wrong": "The current passphrase is not right.",
  "passphrase-changed": "Your passphrase has been changed.",
  "recovery-code-needed": "Please enter the recovery code.",
  "recovery-code-bad": "The recovery code is mistyped: check every group against your copy. It uses only the letters A to Z and the digits 2 to 7.",
  "recovery-code-wrong-org": "This recovery code does not belong to this organisation's current recovery key.",
  "recovery-unwrap-failed": "The recovery code is right, but key version {kv} of the organisation could not be opened with it. Nothing was sent. Tell the instance operator.",
  "recovery-wraps-bad": "This recovery link is incomplete. Ask the instance operator for a new one.",
  // "Check this browser" (selftest.js; js_messages(selftest=True))
  "selftest-secure-context": "This page is a secure context",
  "selftest-webcrypto": "WebCrypto is available",
  "selftest-loads": "The sealing code loads",
  "selftest-argon2": "Argon2id derives the known key",
  "selftest-record": "A record seals and opens again",
  "selftest-wrap": "An organisation key wraps to a member key and back",
  "selftest-failed": "{check}: {reason}",
  "selftest-use-https": "open the site over https",
  "selftest-not-run": "not run: the sealing code did not load",
  "selftest-ok": "This browser can seal and open records.",
  "selftest-not-ok": "This browser cannot be used to seal records safely. Try a current Firefox, Chrome or Safari.",
};

let catalogue = null;

function translated(key) {
  catalogue ??= document.getElementById("page-messages")?.dataset ?? {};
  return catalogue[key.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase())];
}

function fill(template, params) {
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** A translated sentence, with {name} placeholders filled from params. */
export function msg(key, params = {}) {
  return fill(translated(key) || EN[key] || key, params);
}

/**
 * A sentence about a count n, in the form the page's language uses for n. The server writes
 * one form per plural category of the language (data-KEY-one, -few, -many, -other: ngettext
 * in templates/_macros/messages.html); Intl.PluralRules says which category n is in.
 */
export function msgCount(key, n, params = {}) {
  const lang = document.documentElement.lang || "en";
  let category = "other";
  let shown = String(n);
  try {
    category = new Intl.PluralRules(lang).select(n);
    shown = new Intl.NumberFormat(lang).format(n);
  } catch {
    // an unknown language tag: the general form
  }
  const template = translated(`${key}-${category}`) || translated(`${key}-other`)
    || EN[`${key}-${category}`] || EN[`${key}-other`] || key;
  return fill(template, { n: shown, ...params });
}

/** Every key of the English catalogue (for the harness that checks the template macro). */
export const messageKeys = Object.keys(EN);

/**
 * Add a module's own English sentences (incident-messages.js); their translations come from
 * the same #page-messages element (js_messages(incidents=True)).
 */
export function addMessages(table) {
  for (const [key, text] of Object.entries(table)) {
    if (!(key in EN)) EN[key] = text;
  }
}

/** "2026-03" as the month's name and year in the page's language ("March 2026", "мар. 2026 г."). */
export function formatMonth(month) {
  const match = /^(\d{4})-(\d{2})$/.exec(month ?? "");
  if (!match) return month ?? "";
  try {
    return new Intl.DateTimeFormat(document.documentElement.lang || undefined,
      { year: "numeric", month: "long", timeZone: "UTC" })
      .format(new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, 1)));
  } catch {
    return month;
  }
}

/** The data-* attributes of #page-data, by their names without "data-". */
export function pageData() {
  const el = document.getElementById("page-data");
  const out = {};
  for (const attr of el?.attributes ?? []) {
    if (attr.name.startsWith("data-")) out[attr.name.slice(5)] = attr.value;
  }
  return out;
}

/** A URL the page data names (data-<name>), or the contract's default path. */
export function pageUrl(name, fallback) {
  const value = document.getElementById("page-data")?.getAttribute(`data-${name}`);
  return value ? safePath(value, fallback) : fallback;
}

/** A positive integer from page data, or an Error. */
export function intFrom(value, what) {
  const n = Number(value);
  if (!/^[0-9]+$/.test(String(value)) || !Number.isSafeInteger(n) || n < 1) {
    throw new Error(`the page is missing ${what}`);
  }
  return n;
}

/** An error whose message is already a sentence for the person; `input` is where to look. */
export class UserError extends Error {
  constructor(message, input = null, options = undefined) {
    super(message, options);
    this.name = "UserError";
    this.input = input;
  }
}

/**
 * #page-alert and #page-status, made at the top of the page's first panel when a template does
 * not carry them, so an error is never left unshown.
 */
function region(id) {
  let el = document.getElementById(id);
  if (el) return el;
  const host = document.querySelector("main .panel") ?? document.querySelector("main");
  if (!host) return null;
  el = document.createElement(id === "page-alert" ? "div" : "p");
  el.id = id;
  if (id === "page-alert") {
    el.className = "alert";
    el.setAttribute("role", "alert");
  } else {
    el.className = "status";
    el.setAttribute("role", "status");
  }
  const heading = host.querySelector("h1, h2");
  if (heading) heading.after(el);
  else host.prepend(el);
  return el;
}

const alertBox = () => region("page-alert");
const statusLine = () => region("page-status");

const MARK = "data-marked-invalid";

/** Mark a field as the one an error is about: aria-invalid, described by the alert. */
function markInvalid(input) {
  if (!(input instanceof Element)) return;
  input.setAttribute("aria-invalid", "true");
  const described = new Set((input.getAttribute("aria-describedby") ?? "").split(/\s+/)
    .filter(Boolean));
  if (!described.has("page-alert")) {
    input.setAttribute(MARK, input.getAttribute("aria-describedby") ?? "");
    described.add("page-alert");
    input.setAttribute("aria-describedby", [...described].join(" "));
  }
}

function unmarkAll() {
  for (const input of document.querySelectorAll(`[${MARK}]`)) {
    const before = input.getAttribute(MARK);
    if (before) input.setAttribute("aria-describedby", before);
    else input.removeAttribute("aria-describedby");
    input.removeAttribute(MARK);
    input.setAttribute("aria-invalid", "false");
  }
}

/**
 * Show an error in #page-alert, in plain words. Accepts a sentence, an ApiError or any Error.
 * `input` (or a UserError's own input) is the field it is about: it is marked invalid, described
 * by the message, and gets the focus, so a screen reader reads the field with its error.
 */
export function showError(error, { plain = null, input = null } = {}) {
  const box = alertBox();
  const field = input ?? (error?.name === "UserError" ? error.input : null);
  let text;
  let detail = null;
  if (typeof error === "string") {
    text = error;
  } else if (error?.name === "UserError" || error?.name === "KeyringError") {
    text = error.message;
  } else if (error?.name === "ApiError") {
    text = error.message;
    if (error.retryAfterMinutes !== null && error.retryAfterMinutes !== undefined) {
      text += ` ${msgCount("retry-after", error.retryAfterMinutes, { minutes: error.retryAfterMinutes })}`;
    }
  } else {
    text = plain ?? msg("unexpected");
    detail = error?.message ?? null;
  }
  say("");
  if (!box) return;
  box.classList.remove("error-summary");
  box.replaceChildren(document.createTextNode(text));
  if (detail) {
    const small = document.createElement("span");
    small.className = "alert-detail";
    small.textContent = ` ${msg("technical", { detail })}`;
    box.append(small);
  }
  box.scrollIntoView?.({ block: "nearest" });
  unmarkAll();
  if (field instanceof HTMLElement) {
    markInvalid(field);
    field.focus();
  }
}

/**
 * The error summary after a failed submit, in #page-alert: a sentence, then one link per
 * field ({target: the id of the field or of its group, text}) and the messages that belong to
 * no field. The focus moves to it, so it is read first (static/js/errors.js makes its links
 * put the cursor in the field).
 */
export function showSummary(intro, items, loose = []) {
  const box = alertBox();
  say("");
  if (!box) return;
  unmarkAll();
  const lead = document.createElement("p");
  lead.className = "error-summary-lead";
  lead.textContent = intro;
  const list = document.createElement("ul");
  for (const { target, text } of items) {
    const li = document.createElement("li");
    const link = document.createElement("a");
    link.href = `#${target}`;
    link.textContent = text;
    li.append(link);
    list.append(li);
  }
  for (const text of loose) {
    const li = document.createElement("li");
    li.textContent = text;
    list.append(li);
  }
  box.replaceChildren(lead);
  if (list.childElementCount) box.append(list);
  box.classList.add("error-summary");
  box.tabIndex = -1;
  box.focus();
}

export function clearError() {
  const box = document.getElementById("page-alert");
  box?.replaceChildren();
  box?.classList.remove("error-summary");
  unmarkAll();
}

/** Progress or success, announced politely in #page-status. */
export function say(text) {
  const line = text ? statusLine() : document.getElementById("page-status");
  if (line) line.textContent = text;
}

/**
 * Disable a button (and its form's fields) while work runs, with the progress sentence on it.
 * Returns a function that puts everything back; call it in `finally`.
 */
export function busy(button, text = msg("working")) {
  const form = button?.form ?? null;
  const label = button?.textContent ?? "";
  const touched = [];
  for (const el of form ? form.elements : [button]) {
    if (el && !el.disabled) {
      el.disabled = true;
      touched.push(el);
    }
  }
  if (button) {
    button.disabled = true;
    button.textContent = text;
    button.setAttribute("aria-busy", "true");
  }
  form?.setAttribute("aria-busy", "true");
  say(text);
  return () => {
    for (const el of touched) el.disabled = false;
    if (button) {
      button.disabled = false;
      button.textContent = label;
      button.removeAttribute("aria-busy");
    }
    form?.removeAttribute("aria-busy");
  };
}

/**
 * Why this browser cannot be used here, or null. Pages that derive keys ask for WebAssembly,
 * pages that keep keys across page loads ask for IndexedDB.
 */
export function environmentProblem({ wasm = false, storage = false } = {}) {
  if (!window.isSecureContext) return msg("no-secure-context");
  if (!globalThis.crypto?.subtle) return msg("no-webcrypto");
  if (wasm && typeof WebAssembly !== "object") return msg("no-wasm");
  if (storage && !globalThis.indexedDB) return msg("no-indexeddb");
  return null;
}

/**
 * Start a page: check the browser, then enable the fields the HTML left disabled. On a problem
 * the page says why and stays disabled. Returns true when the page may go on.
 */
export function startPage(options = {}) {
  document.getElementById("page-loading")?.remove();
  const problem = environmentProblem(options);
  if (problem) {
    showError(problem);
    document.body.dataset.pageState = "refused";
    return false;
  }
  for (const fieldset of document.querySelectorAll("fieldset[data-needs-script]")) {
    fieldset.disabled = false;
  }
  document.body.dataset.pageState = "ready";
  return true;
}

/** Only a path on this site: never follow a server-given address to another origin. */
export function safePath(value, fallback = "/") {
  if (typeof value !== "string" || !value.startsWith("/") || value.startsWith("//")
      || value.startsWith("/\\")) {
    return fallback;
  }
  try {
    const url = new URL(value, window.location.origin);
    return url.origin === window.location.origin ? url.pathname + url.search + url.hash : fallback;
  } catch {
    return fallback;
  }
}

export function go(path) {
  window.location.assign(safePath(path));
}

const ARMED_FOR_MS = 30_000;

/** The sentence next to a button that says what its second press will do. */
function noteFor(button) {
  const id = `${button.id}-note`;
  let note = document.getElementById(id);
  if (!note) {
    note = document.createElement("p");
    note.id = id;
    note.className = "armed-note";
    note.setAttribute("role", "status");
    button.after(note);
  }
  return note;
}

/**
 * A button that acts on its second press within 30 seconds. The first press says, next to the
 * button, what will happen, and shows the button's data-armed-label. Used by every
 * destructive button (remove a member, rotate keys, delete an incident, unpublish).
 */
export function twoStep(button, warning, action, workingText = msg("working")) {
  if (!button) return;
  const label = button.textContent;
  let armedUntil = 0;
  const disarm = () => {
    armedUntil = 0;
    delete button.dataset.armed;
    button.textContent = label;
    noteFor(button).textContent = "";
  };
  button.addEventListener("click", async (event) => {
    event.preventDefault();
    clearError();
    if (performance.now() > armedUntil) {
      armedUntil = performance.now() + ARMED_FOR_MS;
      button.textContent = button.dataset.armedLabel || msg("press-again");
      button.dataset.armed = "1";
      noteFor(button).textContent = warning;
      setTimeout(() => {
        if (performance.now() >= armedUntil && button.dataset.armed === "1") disarm();
      }, ARMED_FOR_MS + 50);
      return;
    }
    disarm();
    const restore = busy(button, workingText);
    try {
      await action();
    } catch (error) {
      restore();
      showError(error);
    }
  });
}
