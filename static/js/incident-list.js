// /incidents (docs/incidents-api.md "Pages"): the server lists and filters by the coded tier;
// this script adds
//   - the search in sealed text, done entirely in this browser: it fetches every incident the
//     current filters select, page by page (per_page=500), opens each envelope with the
//     organisation's key and looks for the words locally. The words typed are never sent;
//   - the notice of drafts kept on this device ("You have N unsaved drafts").

import { getJson } from "./api.js";
import { listDrafts } from "./drafts.js";
import "./incident-messages.js";
import { loadKeyring, onForget } from "./keyring.js";
import { openRecord } from "./sealing.js";
import {
  clearError, formatMonth, msg, msgCount, pageData, pageUrl, say, showError, startPage, UserError,
} from "./ui.js";

const $ = (id) => document.getElementById(id);
const PER_PAGE = 2000; // the server's most per page of /api/v1/incidents/sealed
const MAX_PAGES = 10_000;
const FILTERS = ["kind", "four_p", "actor", "country", "month_from", "month_to", "status"];
const SNIPPET = 60;

/** Case-insensitive, compatibility-normalised form of a text, for matching. */
export function fold(text) {
  // toLowerCase, not toLocaleLowerCase: the same answer whatever the device's language.
  return String(text).normalize("NFKC").toLowerCase().normalize("NFKC");
}

/** Every string in a sealed-field object (nested lists and objects included). */
export function sealedStrings(value, out = []) {
  if (typeof value === "string") {
    if (value !== "") out.push(value);
  } else if (Array.isArray(value)) {
    for (const item of value) sealedStrings(item, out);
  } else if (value && typeof value === "object") {
    for (const item of Object.values(value)) sealedStrings(item, out);
  }
  return out;
}

/** The words of a query; an incident matches when each word is found somewhere in its text. */
export function queryTerms(query) {
  return fold(query).split(/\s+/u).filter(Boolean);
}

export function matches(foldedTexts, terms) {
  return terms.length > 0 && terms.every((t) => foldedTexts.some((text) => text.includes(t)));
}

function snippet(texts, folded, term) {
  for (let i = 0; i < texts.length; i++) {
    const at = folded[i].indexOf(term);
    if (at < 0) continue;
    const text = texts[i];
    // Folding can change lengths; fall back to the start of the text when it did.
    const same = text.length === folded[i].length;
    const start = same ? Math.max(0, at - SNIPPET / 2) : 0;
    const end = Math.min(text.length, start + SNIPPET + term.length);
    return `${start > 0 ? "…" : ""}${text.slice(start, end).replace(/\s+/g, " ")}${end < text.length ? "…" : ""}`;
  }
  return "";
}

function viewUrl(page, id) {
  return (page["view-url-template"] || "/incidents/{id}").replace("{id}", encodeURIComponent(id));
}

// ---------------------------------------------------------------------------------------------
// Drafts notice

async function showDrafts(page, userId) {
  const box = $("drafts-notice");
  if (!box || !globalThis.indexedDB) return;
  let drafts;
  try {
    drafts = await listDrafts(page["org-id"], userId);
  } catch {
    return;
  }
  if (!drafts.length) return;
  const text = $("drafts-notice-text") ?? box;
  text.textContent = msgCount("incident-drafts", drafts.length);
  const list = $("drafts-list") ?? box.appendChild(document.createElement("ul"));
  list.replaceChildren();
  const newUrl = page["new-url"] || "/incidents/new";
  for (const draft of drafts) {
    const li = document.createElement("li");
    const link = document.createElement("a");
    // A draft of a saved incident continues on its edit page; a new one on the new form.
    link.href = draft.version > 0 ? `${viewUrl(page, draft.record_id)}/edit`
      : `${newUrl}?draft=${encodeURIComponent(draft.record_id)}`;
    const coded = draft.coded ?? {};
    const what = [formatMonth(coded.month), coded.country].filter((v) => typeof v === "string" && v).join(" · ");
    let when = draft.saved_at;
    try {
      when = new Intl.DateTimeFormat(document.documentElement.lang || undefined,
        { dateStyle: "medium", timeStyle: "short" }).format(new Date(draft.saved_at));
    } catch {
      // keep the ISO time
    }
    link.textContent = draft.version > 0 ? msg("incident-draft-link-edit", { time: when })
      : msg("incident-draft-link-new", { time: when });
    li.append(link);
    if (what) li.append(` (${what})`);
    list.append(li);
  }
  box.hidden = false;
}

// ---------------------------------------------------------------------------------------------
// Search in sealed text

function filterQuery() {
  const here = new URLSearchParams(window.location.search);
  const out = new URLSearchParams();
  for (const name of FILTERS) {
    for (const value of here.getAll(name)) if (value) out.append(name, value);
  }
  return out;
}

async function main() {
  if (!startPage({ storage: true })) return;
  const page = pageData();
  let ring = null;
  onForget(() => { ring = null; });

  const form = $("search-form");
  const input = $("search-q");
  if (form && input && page.role !== "analyst") setUpSearch(form, input);

  try {
    ring = await loadKeyring();
  } catch {
    ring = null; // said when the person searches (buildIndex tries again)
  }
  await showDrafts(page, ring?.user?.id ?? null);
}

function setUpSearch(form, input) {
  const page = pageData();
  let ring = null;
  let index = null; // [{item, texts, folded}] once every incident has been opened
  onForget(() => { ring = null; index = null; });
  const button = form.querySelector('button[type="submit"]');
  const progress = $("search-progress");
  const count = $("search-count");
  const results = $("search-results");
  const report = (text) => { if (progress) progress.textContent = text; };

  // One entry per readable incident; the query never leaves the browser.
  async function openItem(item) {
    if (!item?.sealed) throw new Error("no sealed tier");
    const key = await ring.orgKey(item.sealed.kv);
    const fields = await openRecord(key, page["org-id"], item.id, item.sealed);
    const texts = sealedStrings(fields);
    return { item, texts, folded: texts.map(fold) };
  }

  async function buildIndex() {
    if (!ring) ring = await loadKeyring();
    if (!ring.org || ring.org.id !== page["org-id"]) throw new UserError(msg("no-org-key"));
    const feed = pageUrl("search-url", "/api/v1/incidents/sealed");
    const filters = filterQuery();
    const fetchPage = (p) => {
      const params = new URLSearchParams(filters);
      params.set("page", String(p));
      params.set("per_page", String(PER_PAGE));
      return getJson(`${feed}${feed.includes("?") ? "&" : "?"}${params}`);
    };
    const built = [];
    let unreadable = 0;
    let total = null;
    // Fetch page p+1 while page p is being opened: the network and the decryption overlap.
    let next = fetchPage(1);
    for (let p = 1; p <= MAX_PAGES; p++) {
      const answer = await next;
      const items = Array.isArray(answer?.items) ? answer.items : [];
      if (Number.isSafeInteger(answer?.total)) total = answer.total;
      const seen = (p - 1) * PER_PAGE + items.length;
      const more = items.length === PER_PAGE && (total === null || seen < total);
      if (more) next = fetchPage(p + 1);
      const opened = await Promise.allSettled(items.map(openItem));
      for (const result of opened) {
        if (result.status === "fulfilled") built.push(result.value);
        else unreadable += 1;
      }
      report(msg("incident-search-opening", { done: built.length + unreadable,
        total: total ?? "?" }));
      if (!more) break;
    }
    return { entries: built, unreadable, filtered: filters.toString() !== "" };
  }

  function label(item) {
    const parts = [formatMonth(item.month), item.country, item.region].filter((v) => typeof v === "string" && v);
    const kinds = Array.isArray(item.kinds) ? item.kinds : [];
    const names = $("kind-labels")?.dataset ?? {};
    const kindText = kinds.map((k) => names[k.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase())]
      ?? k.replace(/_/g, " ")).join(", ");
    return [parts.join(" · "), kindText].filter(Boolean).join(" — ");
  }

  function show(found, terms) {
    results.replaceChildren();
    for (const entry of found) {
      const li = document.createElement("li");
      const link = document.createElement("a");
      link.href = viewUrl(page, entry.item.id);
      link.textContent = label(entry.item) || entry.item.id;
      li.append(link);
      const text = snippet(entry.texts, entry.folded, terms[0]);
      if (text) {
        const p = document.createElement("p");
        p.className = "hint search-snippet";
        p.textContent = text;
        li.append(p);
      }
      results.append(li);
    }
    results.hidden = found.length === 0;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault(); // the form has no action: nothing typed here is ever sent
    clearError();
    const terms = queryTerms(input.value);
    if (!terms.length) {
      count.textContent = "";
      results.replaceChildren();
      input.focus();
      return;
    }
    if (button) button.disabled = true;
    form.setAttribute("aria-busy", "true");
    try {
      if (!index) {
        report(msg("incident-search-opening", { done: 0, total: "…" }));
        index = await buildIndex();
      }
      const found = index.entries.filter((e) => matches(e.folded, terms));
      const searched = index.entries.length;
      let sentence = msgCount("incident-search", found.length, { searched });
      if (index.filtered) sentence += ` ${msg("incident-search-filtered")}`;
      if (index.unreadable) sentence += ` ${msgCount("incident-search-unreadable", index.unreadable)}`;
      count.textContent = sentence;
      report("");
      show(found, terms);
    } catch (error) {
      index = null;
      report("");
      showError(error);
    } finally {
      if (button) button.disabled = false;
      form.removeAttribute("aria-busy");
      say("");
    }
  });
  // The words typed are cleared from the page when its keys are forgotten (quick exit).
  onForget(() => { input.value = ""; results?.replaceChildren(); });
}

main().catch((error) => showError(error));
