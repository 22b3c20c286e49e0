// /incidents/import (docs/incidents-api.md "Pages", "JSON API"): a CSV file is read in this
// browser, every row is checked against the vocabulary (GET vocab-url) and the row-level
// problems are shown before anything is sent. Then each row's sealed columns are sealed under
// the organisation's current key with a fresh record id, and all rows go in one POST (all or
// nothing). The sealed columns never leave the browser in clear.

import { getJson, postJson } from "./api.js";
import { CsvError, parseCsv } from "./csv.js";
import "./incident-messages.js";
import { loadKeyring, onForget } from "./keyring.js";
import { sealRecord } from "./sealing.js";
import {
  busy, clearError, intFrom, msg, msgCount, pageData, say, showError, startPage, UserError,
} from "./ui.js";

const $ = (id) => document.getElementById(id);

export const CODED_COLUMNS = ["kinds", "four_p", "actors", "groups", "instrument", "country",
  "region", "month", "work_setting", "people_affected", "amount_confiscated", "currency",
  "days_detained", "source", "consent", "case_study", "status"];
export const SEALED_COLUMNS = ["narrative", "exact_date", "exact_time", "place", "officers",
  "taken", "support"];
const REQUIRED = ["kinds", "four_p", "actors", "country", "month", "work_setting",
  "people_affected", "source", "consent", "status"];
const LIST_COLUMNS = { kinds: "kinds", four_p: "four_p", actors: "actors", groups: "groups" };
const CODE_COLUMNS = { instrument: "instruments", work_setting: "work_settings",
  source: "sources", consent: "consent", status: "statuses" };
const MAX_ROWS = 5000;
const EARLIEST_YEAR = 1990;

// ---------------------------------------------------------------------------------------------
// Checking rows (exported for the test harness)

/** Sets of allowed codes from the GET /api/v1/vocab answer. */
export function vocabSets(vocab) {
  const lists = vocab?.lists ?? {};
  const codes = (name, alt) => new Set((lists[name] ?? lists[alt] ?? [])
    .map((t) => t?.code).filter((c) => typeof c === "string"));
  const sets = {};
  for (const [column, name] of Object.entries({ ...LIST_COLUMNS, ...CODE_COLUMNS })) {
    sets[column] = codes(name, column);
  }
  sets.country = new Set((vocab?.countries ?? []).map((c) => c?.code));
  sets.currency = new Set((vocab?.currencies ?? []).map((c) => c?.code));
  return sets;
}

function validDate(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return false;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return d.getUTCFullYear() === +m[1] && d.getUTCMonth() === +m[2] - 1 && d.getUTCDate() === +m[3];
}

/** Check the header: {columns: [name per position], problems: [sentences]}. */
export function checkHeader(header) {
  const known = new Set([...CODED_COLUMNS, ...SEALED_COLUMNS]);
  const columns = header.map((h) => h.trim().toLowerCase());
  const problems = [];
  const seen = new Set();
  for (const name of columns) {
    if (name === "") continue;
    if (!known.has(name)) problems.push(msg("import-unknown-column", { name }));
    else if (seen.has(name)) problems.push(msg("import-duplicate-column", { name }));
    seen.add(name);
  }
  for (const name of REQUIRED) {
    if (!seen.has(name)) problems.push(msg("import-missing-column", { name }));
  }
  return { columns, problems };
}

/**
 * One row: {coded, sealed, errors: {column: [sentences]}}. `now` is a Date (for "not in the
 * future"), `sets` from vocabSets().
 */
export function checkRow(columns, cells, sets, now = new Date()) {
  const errors = {};
  const add = (column, text) => { (errors[column] ??= []).push(text); };
  const raw = {};
  columns.forEach((name, i) => { if (name) raw[name] = cells[i] ?? ""; });
  const value = (name) => (raw[name] ?? "").trim();
  const coded = {};

  for (const column of Object.keys(LIST_COLUMNS)) {
    const codes = [...new Set(value(column).split(";").map((c) => c.trim().toLowerCase())
      .filter(Boolean))];
    for (const code of codes) {
      if (!sets[column].has(code)) add(column, msg("import-unknown-code", { code }));
    }
    if (REQUIRED.includes(column) && codes.length === 0) add(column, msg("import-required"));
    coded[column] = codes;
  }
  for (const column of Object.keys(CODE_COLUMNS)) {
    const code = value(column).toLowerCase();
    if (code === "") {
      if (REQUIRED.includes(column)) add(column, msg("import-required"));
      coded[column] = null;
    } else {
      if (!sets[column].has(code)) add(column, msg("import-unknown-code", { code }));
      coded[column] = code;
    }
  }

  const country = value("country").toUpperCase();
  if (!country) add("country", msg("import-required"));
  else if (!sets.country.has(country)) add("country", msg("import-unknown-country", { code: country }));
  coded.country = country || null;

  const region = value("region").toUpperCase();
  if (region && (!/^[A-Z]{2}-[A-Z0-9]{1,3}$/.test(region) || !region.startsWith(`${country}-`))) {
    add("region", msg("import-bad-region", { code: region, country }));
  }
  coded.region = region || null;

  const month = value("month");
  const m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(month);
  if (!month) add("month", msg("import-required"));
  else if (!m) add("month", msg("import-bad-month"));
  else if (+m[1] < EARLIEST_YEAR) add("month", msg("import-month-early", { year: EARLIEST_YEAR }));
  else if (+m[1] * 12 + +m[2] > now.getUTCFullYear() * 12 + now.getUTCMonth() + 1) {
    add("month", msg("import-month-future"));
  }
  coded.month = month || null;

  const people = value("people_affected");
  if (!people) add("people_affected", msg("import-required"));
  else if (!/^[0-9]+$/.test(people) || +people < 1 || +people > 100_000) {
    add("people_affected", msg("import-bad-people"));
  }
  coded.people_affected = /^[0-9]+$/.test(people) ? Number(people) : null;

  const amount = value("amount_confiscated");
  if (amount && (!/^[0-9]+(\.[0-9]{1,2})?$/.test(amount) || Number(amount) > 999_999_999_999)) {
    add("amount_confiscated", msg("import-bad-amount"));
  }
  coded.amount_confiscated = amount || null;
  const currency = value("currency").toUpperCase();
  if (currency && !sets.currency.has(currency)) {
    add("currency", msg("import-unknown-currency", { code: currency }));
  }
  if (amount && !currency) add("currency", msg("import-currency-needed"));
  coded.currency = currency || null;

  const days = value("days_detained");
  if (days && (!/^[0-9]+$/.test(days) || +days > 36_500)) add("days_detained", msg("import-bad-days"));
  coded.days_detained = /^[0-9]+$/.test(days) ? Number(days) : null;

  const caseStudy = value("case_study").toLowerCase();
  if (!["", "true", "false"].includes(caseStudy)) add("case_study", msg("import-bad-boolean"));
  coded.case_study = caseStudy === "true";

  // Sealed columns: kept as typed (only a blank cell becomes null).
  const sealed = { narrative: null, exact_date: null, exact_time: null, place: null, people: null,
    officers: null, taken: null, support: null, case_study_draft: null, attachments: null };
  for (const column of SEALED_COLUMNS) {
    const text = raw[column] ?? "";
    sealed[column] = text.trim() === "" ? null : text;
  }
  if (sealed.exact_date !== null) {
    sealed.exact_date = sealed.exact_date.trim();
    if (!validDate(sealed.exact_date)) add("exact_date", msg("import-bad-date"));
    else if (m && sealed.exact_date.slice(0, 7) !== month) add("exact_date", msg("import-date-month"));
  }
  if (sealed.exact_time !== null) {
    sealed.exact_time = sealed.exact_time.trim();
    if (!/^([01][0-9]|2[0-3]):[0-5][0-9]$/.test(sealed.exact_time)) {
      add("exact_time", msg("import-bad-time"));
    }
  }
  return { coded, sealed, errors };
}

/** Parse and check a whole file: {rows: [{row, line, coded, sealed, errors}], problems}. */
export function checkFile(text, sets, now = new Date()) {
  let parsed;
  try {
    parsed = parseCsv(text);
  } catch (error) {
    if (error instanceof CsvError) {
      return { rows: [], problems: [msg("import-bad-csv", { line: error.line })] };
    }
    throw error;
  }
  if (parsed.rows.length === 0) return { rows: [], problems: [msg("import-empty")] };
  const { columns, problems } = checkHeader(parsed.rows[0]);
  if (problems.length) return { rows: [], problems };
  const rows = [];
  for (let i = 1; i < parsed.rows.length; i++) {
    const cells = parsed.rows[i];
    if (cells.every((c) => c.trim() === "")) continue; // a blank line
    const checked = checkRow(columns, cells, sets, now);
    if (cells.length !== columns.length) {
      (checked.errors._row ??= []).push(msg("import-cell-count", { found: cells.length,
        expected: columns.length }));
    }
    rows.push({ row: i, line: parsed.lines[i], ...checked });
  }
  if (rows.length === 0) return { rows, problems: [msg("import-empty")] };
  if (rows.length > MAX_ROWS) {
    return { rows: [], problems: [msgCount("import-too-many", MAX_ROWS)] };
  }
  return { rows, problems: [] };
}

// ---------------------------------------------------------------------------------------------

function showProblems(list, rows, serverRows = null) {
  list.replaceChildren();
  const entries = [];
  for (const r of rows) {
    const errors = serverRows ? serverRows.get(r) : r.errors;
    if (!errors) continue;
    for (const [column, texts] of Object.entries(errors)) {
      for (const text of Array.isArray(texts) ? texts : [texts]) {
        entries.push({ r, column, text: String(text) });
      }
    }
  }
  for (const { r, column, text } of entries) {
    const li = document.createElement("li");
    const where = msg("import-where", { row: r.row, line: r.line });
    li.textContent = ["_row", "row", "__all__"].includes(column) ? `${where}: ${text}`
      : `${where}, ${column}: ${text}`;
    list.append(li);
  }
  list.hidden = entries.length === 0;
  return entries.length;
}

async function main() {
  if (!startPage({ storage: true })) return;
  const page = pageData();
  const fileInput = $("import-file");
  const send = $("import-send");
  const summary = $("import-summary");
  const problemList = $("import-problems");
  if (!fileInput || !send || !summary || !problemList) return;
  send.disabled = true;
  let ring = null;
  let checked = null; // {rows} ready to send
  onForget(() => {
    ring = null;
    checked = null;
    fileInput.value = "";
  });

  let sets;
  let currentKv;
  // The listeners are in place at once; they wait for the vocabulary and the keys.
  const ready = (async () => {
    currentKv = intFrom(page["current-kv"], "the key version");
    say(msg("import-loading-vocab"));
    sets = vocabSets(await getJson(page["vocab-url"] || "/api/v1/vocab"));
    ring = await loadKeyring();
    if (!ring.org || ring.org.id !== page["org-id"]) throw new UserError(msg("no-org-key"));
    await ring.orgKey(currentKv);
    say("");
    document.body.dataset.importState = "ready";
  })();
  ready.catch((error) => {
    say("");
    showError(error);
    fileInput.disabled = true;
  });

  fileInput.addEventListener("change", async () => {
    try {
      await ready;
    } catch {
      return; // already said
    }
    clearError();
    checked = null;
    send.disabled = true;
    summary.textContent = "";
    problemList.replaceChildren();
    const file = fileInput.files?.[0];
    if (!file) return;
    let text;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(await file.arrayBuffer());
    } catch {
      showError(msg("import-not-utf8"));
      return;
    }
    const result = checkFile(text, sets);
    if (result.problems.length) {
      showError(result.problems.join(" "));
      return;
    }
    const bad = result.rows.filter((r) => Object.keys(r.errors).length > 0);
    showProblems(problemList, result.rows);
    if (bad.length) {
      summary.textContent = `${msgCount("import-rows-read", result.rows.length)} ${msgCount("import-rows-bad", bad.length)}`;
      showError(msg("import-fix-first"));
      return;
    }
    summary.textContent = msgCount("import-rows-ok", result.rows.length);
    checked = result;
    send.disabled = false;
  });

  send.addEventListener("click", async (event) => {
    event.preventDefault();
    if (!checked) return;
    clearError();
    const restore = busy(send, msg("import-sealing"));
    const rows = checked.rows;
    try {
      if (!ring) ring = await loadKeyring();
      const key = await ring.orgKey(currentKv);
      const incidents = [];
      for (const r of rows) {
        const id = crypto.randomUUID();
        incidents.push({ id, coded: r.coded,
          sealed: await sealRecord(key, page["org-id"], id, currentKv, r.sealed) });
      }
      say(msg("sending"));
      const answer = await postJson(page["import-url"], { incidents });
      const n = Number.isSafeInteger(answer?.imported) ? answer.imported : rows.length;
      checked = null;
      fileInput.value = "";
      problemList.replaceChildren();
      summary.textContent = "";
      say(msgCount("import-done", n));
      $("import-done-link")?.removeAttribute("hidden");
      restore();
      send.disabled = true;
    } catch (error) {
      restore();
      const serverRows = error?.body?.rows;
      if (error?.status === 400 && serverRows && typeof serverRows === "object") {
        // The server numbers the rows it was sent (1-based); map them back to the file.
        const byRow = new Map();
        for (const [position, errors] of Object.entries(serverRows)) {
          const r = rows[Number(position) - 1];
          if (r) byRow.set(r, errors);
        }
        showProblems(problemList, rows, byRow);
        showError(`${error.message} ${msg("import-nothing-saved")}`);
      } else {
        showError(error?.name === "ApiError" ? `${error.message} ${msg("import-nothing-saved")}`
          : error);
      }
    }
  });
}

if (document.getElementById("import-file")) main().catch((error) => showError(error));
