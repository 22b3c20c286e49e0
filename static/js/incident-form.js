// /incidents/new and /incidents/<id>/edit (docs/incidents-api.md "Pages", "Submit", "Drafts").
//
// The coded fields are ordinary named form fields; the sealed fields (ids sealed-*, no name)
// never leave this browser in clear: they are sealed under the organisation's current key for
// this record id and sent as one envelope in the hidden field `sealed`. New attachments lose
// their hidden data (photos are drawn again on a canvas), are sealed, and travel as ciphertext
// parts `attachment-<id>`; their names, types and captions live only in the sealed tier.
//
// Nothing typed is lost: the form is kept, sealed, as a draft on this device (IndexedDB
// `collateral`/`drafts`) a few seconds after each change, before sending and on every failure;
// on a refusal, a conflict, a network error or an ended session the page keeps everything as
// it is. The draft is deleted once the server has the incident.

import { postForm } from "./api.js";
import { formatBytes, prepareFile, StripError } from "./attachments.js";
import { deleteDraft, getDraft, isRecordId, makeDraft, openDraft, saveDraft } from "./drafts.js";
import "./incident-messages.js";
import { KeyringError, loadKeyring, onForget } from "./keyring.js";
import {
  b64uDecode, b64uEncode, openAttachment, openRecord, sealAttachment, sealRecord,
} from "./sealing.js";
import {
  busy, clearError, go, intFrom, msg, pageData, say, showError, showSummary, startPage,
  UserError,
} from "./ui.js";

const $ = (id) => document.getElementById(id);

// Sealed text fields and their inputs (the contract's ids).
export const SEALED_INPUTS = {
  narrative: "sealed-narrative",
  exact_date: "sealed-exact-date",
  exact_time: "sealed-exact-time",
  place: "sealed-place",
  officers: "sealed-officers",
  taken: "sealed-taken",
  support: "sealed-support",
  case_study_draft: "sealed-case-study-draft",
};
export const SEALED_FIELDS = [...Object.keys(SEALED_INPUTS), "people", "attachments"];
const PERSON_PARTS = ["alias", "role", "contact"];
// Named fields the script fills; they are not part of the coded tier kept in a draft.
const SCRIPT_FIELDS = new Set(["csrf_token", "sealed", "record_id", "version", "attachments_meta",
  "remove_attachments"]);
const AUTOSAVE_MS = 3000;

const newId = () => crypto.randomUUID();

function parseJson(text, fallback) {
  if (!text) return fallback;
  return JSON.parse(text);
}

// ---------------------------------------------------------------------------------------------
// Reading and writing the form

/** The coded tier as the form has it: {name: value} for single fields, [values] for checkboxes. */
function readCoded(form) {
  const coded = {};
  for (const el of form.elements) {
    if (!el.name || SCRIPT_FIELDS.has(el.name) || el.type === "file" || el.type === "submit"
        || el.type === "button") {
      continue;
    }
    if (el.type === "checkbox") {
      coded[el.name] ??= [];
      if (el.checked) coded[el.name].push(el.value);
    } else if (el.type === "radio") {
      if (!(el.name in coded)) coded[el.name] = "";
      if (el.checked) coded[el.name] = el.value;
    } else if (el.tagName === "SELECT" && el.multiple) {
      coded[el.name] = [...el.selectedOptions].map((o) => o.value);
    } else {
      coded[el.name] = el.value;
    }
  }
  return coded;
}

function writeCoded(form, coded) {
  for (const [name, value] of Object.entries(coded ?? {})) {
    if (SCRIPT_FIELDS.has(name)) continue;
    const found = form.elements.namedItem(name);
    if (!found) continue;
    const elements = found instanceof RadioNodeList ? [...found] : [found];
    const values = Array.isArray(value) ? value.map(String) : [String(value ?? "")];
    for (const el of elements) {
      if (el.type === "checkbox" || el.type === "radio") {
        el.checked = values.includes(el.value);
      } else if (el.tagName === "SELECT" && el.multiple) {
        for (const option of el.options) option.selected = values.includes(option.value);
      } else if (el.type !== "file") {
        el.value = values[0] ?? "";
      }
    }
  }
}

class People {
  constructor(container, template) {
    this.container = container;
    this.list = container?.querySelector("[data-people-list]") ?? container;
    this.template = template;
    this.count = 0;
  }

  add(person = {}) {
    if (!this.template || !this.list) return null;
    const row = this.template.content.firstElementChild.cloneNode(true);
    this.count += 1;
    const n = this.count;
    for (const part of PERSON_PARTS) {
      const input = row.querySelector(`[data-person-field="${part}"]`);
      const label = row.querySelector(`label[data-for="${part}"]`);
      if (!input) continue;
      input.id = `person-${n}-${part}`;
      input.value = typeof person[part] === "string" ? person[part] : "";
      if (label) label.htmlFor = input.id;
    }
    const heading = row.querySelector("[data-person-number]");
    if (heading) heading.textContent = msg("incident-person-number", { n });
    row.querySelector("[data-remove-person]")?.addEventListener("click", () => {
      row.remove();
      this.container.dispatchEvent(new Event("input", { bubbles: true }));
      this.list.querySelector("[data-person-field]")?.focus();
    });
    this.list.append(row);
    return row;
  }

  read() {
    const people = [];
    for (const row of this.list?.querySelectorAll("[data-person]") ?? []) {
      const person = {};
      let any = false;
      for (const part of PERSON_PARTS) {
        const value = row.querySelector(`[data-person-field="${part}"]`)?.value ?? "";
        person[part] = value.trim() === "" ? null : value;
        any ||= person[part] !== null;
      }
      if (any) people.push(person);
    }
    return people;
  }

  write(people) {
    for (const row of this.list?.querySelectorAll("[data-person]") ?? []) row.remove();
    this.count = 0;
    for (const person of Array.isArray(people) ? people : []) {
      if (person && typeof person === "object") this.add(person);
    }
    if (this.count === 0) this.add();
  }
}

// ---------------------------------------------------------------------------------------------
// Attachments: existing ones (on the server, under their own key version) and new ones.

class Attachments {
  constructor({ list, template, input, maxBytes, onChange }) {
    this.list = list;
    this.template = template;
    this.input = input;
    this.maxBytes = maxBytes;
    this.onChange = onChange;
    this.items = []; // {id, existing, name, type, size, caption, removed, file, sealed, row}
  }

  get current() {
    return this.items.filter((a) => !a.removed || a.existing);
  }

  render(item) {
    const row = this.template.content.firstElementChild.cloneNode(true);
    row.dataset.attachmentId = item.id;
    item.row = row;
    const caption = row.querySelector("[data-caption]");
    const label = row.querySelector('label[data-for="caption"]');
    caption.id = `caption-${item.id}`;
    if (label) label.htmlFor = caption.id;
    caption.value = item.caption ?? "";
    caption.addEventListener("input", () => { item.caption = caption.value; });
    row.querySelector("[data-remove]")?.addEventListener("click", () => this.toggle(item));
    this.list.append(row);
    this.refresh(item);
  }

  refresh(item) {
    const row = item.row;
    row.querySelector("[data-name]").textContent = item.name || msg("incident-unnamed-file");
    const notes = [item.size ? formatBytes(item.size) : null];
    if (item.existing) notes.push(msg("incident-attachment-saved"));
    else if (item.sealed?.stripped) notes.push(msg("incident-attachment-stripped"));
    else if (item.sealed && !item.sealed.stripped) notes.push(msg("incident-attachment-as-is"));
    else notes.push(msg("incident-attachment-new"));
    if (item.removed) notes.push(msg("incident-attachment-will-remove"));
    row.querySelector("[data-note]").textContent = notes.filter(Boolean).join(" · ");
    row.classList.toggle("attachment-removed", Boolean(item.removed));
    const button = row.querySelector("[data-remove]");
    if (button) {
      button.textContent = item.removed ? msg("incident-attachment-keep")
        : msg("incident-attachment-remove");
    }
    const caption = row.querySelector("[data-caption]");
    if (caption) caption.disabled = Boolean(item.removed);
  }

  toggle(item) {
    if (item.existing) {
      item.removed = !item.removed;
      this.refresh(item);
    } else {
      this.items = this.items.filter((a) => a !== item);
      item.row.remove();
    }
    this.onChange();
  }

  addExisting(meta) {
    const item = { existing: true, removed: false, file: null, sealed: null, ...meta };
    this.items.push(item);
    this.render(item);
  }

  /** Files picked in the file input: checked against the size limit at once. */
  addFiles(files) {
    const refused = [];
    for (const file of files) {
      if (file.size > this.maxBytes) {
        refused.push(msg("incident-file-too-large", { name: file.name,
          max: formatBytes(this.maxBytes) }));
        continue;
      }
      if (file.size === 0) {
        refused.push(msg("incident-file-empty", { name: file.name }));
        continue;
      }
      const item = { id: newId(), existing: false, removed: false, name: file.name,
        type: file.type, size: file.size, caption: "", file, sealed: null };
      this.items.push(item);
      this.render(item);
    }
    if (this.input) this.input.value = "";
    this.onChange();
    return refused;
  }

  /** A new attachment from a draft: already sealed, no file. */
  addSealed(meta, sealed) {
    const item = { existing: false, removed: false, file: null, ...meta,
      sealed: { ...sealed, stripped: Boolean(meta.stripped) } };
    this.items.push(item);
    this.render(item);
  }

  clearNew() {
    for (const item of this.items.filter((a) => !a.existing)) item.row.remove();
    this.items = this.items.filter((a) => a.existing);
    for (const item of this.items) {
      item.removed = false;
      this.refresh(item);
    }
  }

  /** Strip and seal each new attachment not sealed yet (or sealed under an older key). */
  async sealNew(ring, orgId, recordId, kv, key, progress) {
    for (const item of this.items.filter((a) => !a.existing)) {
      if (item.sealed && item.sealed.kv === kv) continue;
      if (item.sealed) {
        // From a draft sealed before a key rotation: open and seal again under the current key.
        const old = await ring.orgKey(item.sealed.kv);
        const bytes = await openAttachment(old, orgId, recordId, item.id, { v: 1,
          kv: item.sealed.kv, iv: item.sealed.iv, ct: b64uEncode(item.sealed.ct) });
        const env = await sealAttachment(key, orgId, recordId, item.id, kv, bytes);
        item.sealed = { ...item.sealed, kv, iv: env.iv, ct: b64uDecode(env.ct) };
        continue;
      }
      progress(msg("incident-preparing-file", { name: item.name }));
      let prepared;
      try {
        prepared = await prepareFile(item.file);
      } catch (error) {
        if (error instanceof StripError) {
          throw new UserError(msg("incident-file-not-cleaned", { name: item.name }), null,
            { cause: error });
        }
        throw error;
      }
      if (prepared.bytes.length > this.maxBytes) {
        throw new UserError(msg("incident-file-too-large", { name: item.name,
          max: formatBytes(this.maxBytes) }));
      }
      const env = await sealAttachment(key, orgId, recordId, item.id, kv, prepared.bytes);
      prepared.bytes.fill(0);
      item.sealed = { kv, iv: env.iv, ct: b64uDecode(env.ct), stripped: prepared.stripped };
      item.name = prepared.name;
      item.type = prepared.type;
      item.size = prepared.bytes.length;
      item.file = null; // the clean, sealed copy is what is kept from now on
      this.refresh(item);
    }
  }

  /** The sealed tier's list: every attachment that stays, with name, type, size, caption. */
  meta() {
    const out = this.items.filter((a) => !a.removed).map((a) => ({
      id: a.id,
      name: a.name || null,
      type: a.type || null,
      size: Number.isSafeInteger(a.size) ? a.size : null,
      caption: a.caption && a.caption.trim() !== "" ? a.caption : null,
    }));
    return out.length ? out : null;
  }

  newSealed() {
    return this.items.filter((a) => !a.existing && a.sealed).map((a) => ({ id: a.id,
      kv: a.sealed.kv, iv: a.sealed.iv, ct: a.sealed.ct, stripped: Boolean(a.sealed.stripped) }));
  }

  removedIds() {
    return this.items.filter((a) => a.existing && a.removed).map((a) => a.id);
  }
}

// ---------------------------------------------------------------------------------------------
// Field errors from the server (400 {"errors": {field: [messages]}})

function fieldElements(form, name) {
  const found = form.elements.namedItem(name);
  if (!found) return [];
  return found instanceof RadioNodeList ? [...found] : [found];
}

function clearFieldErrors(form) {
  for (const list of form.querySelectorAll("[data-script-errors]")) list.remove();
  for (const list of form.querySelectorAll("ul.errors")) list.hidden = true;
  for (const el of form.querySelectorAll('[aria-invalid="true"]')) {
    el.setAttribute("aria-invalid", "false");
  }
  for (const box of form.querySelectorAll(".field-error")) box.classList.remove("field-error");
}

/**
 * Show each message at its field. Returns {items: the summary's links ({target, text}) to the
 * fields marked, loose: the messages that have no visible field on this form (sealed,
 * attachments…)}.
 */
function showFieldErrors(form, errors) {
  const loose = [];
  const items = [];
  for (const [name, messages] of Object.entries(errors ?? {})) {
    const texts = (Array.isArray(messages) ? messages : [messages]).map(String);
    const elements = fieldElements(form, name).filter((el) => el.type !== "hidden");
    if (elements.length === 0) {
      loose.push(...texts);
      continue;
    }
    const group = elements[0].closest("fieldset.choices");
    const box = group ?? elements[0].closest(".field") ?? elements[0].parentElement;
    let list = document.getElementById(`${name}-errors`);
    if (list) {
      list.hidden = false;
      list.replaceChildren();
    } else {
      list = document.createElement("ul");
      list.id = `${name}-errors`;
      list.className = "errors";
      list.dataset.scriptErrors = "";
      box.append(list);
    }
    for (const text of texts) {
      const li = document.createElement("li");
      li.textContent = text;
      list.append(li);
    }
    box.classList.add("field-error");
    for (const el of elements) {
      el.setAttribute("aria-invalid", "true");
      const described = new Set((el.getAttribute("aria-describedby") ?? "").split(/\s+/)
        .filter(Boolean));
      described.add(list.id);
      el.setAttribute("aria-describedby", [...described].join(" "));
    }
    const target = group?.id || elements[0].id;
    for (const text of texts) items.push({ target, text });
  }
  return { items, loose };
}

// ---------------------------------------------------------------------------------------------

function alertWithLink(text, href, label) {
  showError(text);
  const box = $("page-alert");
  if (!box || !href) return;
  const link = document.createElement("a");
  link.href = href;
  link.textContent = label;
  box.append(" ", link);
}

function formatTime(iso) {
  try {
    return new Intl.DateTimeFormat(document.documentElement.lang || undefined,
      { dateStyle: "medium", timeStyle: "short" }).format(new Date(iso));
  } catch {
    return iso;
  }
}

async function main() {
  if (!startPage({ storage: true })) return;
  const page = pageData();
  const form = $("incident-form");
  const fields = $("incident-fields");
  const button = $("incident-submit") ?? form?.querySelector('button[type="submit"]');
  if (!form || !button) return;
  button.disabled = true;

  let ring = null;
  onForget(() => { ring = null; });

  let orgId;
  let currentKv;
  let version;
  let maxBytes;
  let recordId = page["record-id"];
  let existing = null; // the opened sealed tier when editing
  let kindSuggestions = {};
  let pageAttachments = [];
  try {
    orgId = page["org-id"];
    if (!orgId) throw new Error("the page is missing the organisation");
    currentKv = intFrom(page["current-kv"], "the key version");
    version = Number(page.version || "0");
    if (!Number.isSafeInteger(version) || version < 0) throw new Error("bad version");
    maxBytes = intFrom(page["max-attachment-bytes"], "the attachment limit");
    kindSuggestions = parseJson(page["kind-suggestions"], {});
    pageAttachments = parseJson(page.attachments, []);
    if (!Array.isArray(pageAttachments)) throw new Error("bad attachment list");
  } catch (error) {
    showError(error);
    return;
  }
  // A new form opened from the drafts notice (/incidents/new?draft=<id>) continues that draft
  // under its own record id, so a save that did reach the server is refused as a duplicate.
  const draftParam = new URLSearchParams(window.location.search).get("draft");
  if (version === 0 && isRecordId(draftParam)) recordId = draftParam;
  if (!isRecordId(recordId)) {
    showError(new Error("the page has no record id"));
    return;
  }

  const people = new People($("sealed-people"), $("person-template"));
  let dirty = false;
  let offerPending = false;
  let autosaveTimer = null;
  let sending = false;
  const attachments = new Attachments({
    list: $("attachment-list"),
    template: $("attachment-template"),
    input: $("attachment-files"),
    maxBytes,
    onChange: () => changed(),
  });

  // ---- open the keys, and the record being edited
  say(msg("opening-keys"));
  try {
    ring = await loadKeyring();
    if (!ring.org || ring.org.id !== orgId) throw new UserError(msg("no-org-key"));
    await ring.orgKey(currentKv);
    if (page.sealed) {
      const envelope = JSON.parse(page.sealed);
      existing = await openRecord(await ring.orgKey(envelope.kv), orgId, recordId, envelope);
    }
  } catch (error) {
    if (error instanceof KeyringError && error.code === "session-over") {
      alertWithLink(error.message, "/login", msg("log-in-link"));
    } else if (error instanceof KeyringError || error instanceof UserError) {
      showError(error);
    } else if (page.sealed && ring) {
      showError(msg("incident-open-failed"));
    } else {
      showError(error);
    }
    say("");
    return; // the form stays disabled: nothing can be sealed, nothing is overwritten
  }

  function fillSealed(values) {
    for (const [name, id] of Object.entries(SEALED_INPUTS)) {
      const input = $(id);
      if (input) input.value = typeof values?.[name] === "string" ? values[name] : "";
    }
    people.write(values?.people);
  }

  // Sealed fields this page does not know (from a newer version) are kept as they are.
  const extra = {};
  if (existing) {
    for (const [name, value] of Object.entries(existing)) {
      if (!SEALED_FIELDS.includes(name)) extra[name] = value;
    }
  }
  fillSealed(existing ?? {});
  const metaById = new Map((existing?.attachments ?? []).filter((a) => a && a.id)
    .map((a) => [a.id, a]));
  for (const a of pageAttachments) {
    if (!a?.id) continue;
    const meta = metaById.get(a.id) ?? {};
    attachments.addExisting({ id: a.id, name: meta.name ?? "", type: meta.type ?? "",
      size: meta.size ?? null, caption: meta.caption ?? "" });
  }

  function readSealed() {
    const out = { ...extra };
    for (const [name, id] of Object.entries(SEALED_INPUTS)) {
      const value = $(id)?.value ?? "";
      out[name] = value.trim() === "" ? null : value;
    }
    const list = people.read();
    out.people = list.length ? list : null;
    out.attachments = attachments.meta();
    return out;
  }

  // ---- drafts
  async function keepDraft() {
    if (!ring) return false;
    const draft = await makeDraft(ring, {
      orgId, recordId, kv: currentKv, version, coded: readCoded(form), fields: readSealed(),
      attachments: attachments.newSealed(), removeAttachments: attachments.removedIds(),
    });
    // New files are in the draft once sealed (at the first try to save); a file picked but
    // not yet sealed cannot be kept (a file input cannot be restored after a reload).
    await saveDraft(draft);
    const note = $("draft-status");
    if (note) note.textContent = msg("incident-draft-kept", { time: formatTime(draft.saved_at) });
    return true;
  }

  async function keepDraftQuietly() {
    try {
      return await keepDraft();
    } catch {
      const note = $("draft-status");
      if (note) note.textContent = msg("incident-draft-not-kept");
      return false;
    }
  }

  function changed() {
    dirty = true;
    if (offerPending || sending) return;
    clearTimeout(autosaveTimer);
    autosaveTimer = setTimeout(() => { if (!sending) keepDraftQuietly(); }, AUTOSAVE_MS);
  }

  async function restoreDraft(draft) {
    const values = await openDraft(ring, draft);
    writeCoded(form, draft.coded);
    for (const [name, value] of Object.entries(values)) {
      if (!SEALED_FIELDS.includes(name)) extra[name] = value;
    }
    fillSealed(values);
    attachments.clearNew();
    const metas = new Map((values.attachments ?? []).filter((a) => a?.id).map((a) => [a.id, a]));
    for (const item of attachments.items) {
      const meta = metas.get(item.id);
      if (meta) {
        item.caption = meta.caption ?? "";
        const caption = item.row.querySelector("[data-caption]");
        if (caption) caption.value = item.caption;
      }
      item.removed = (draft.remove_attachments ?? []).includes(item.id);
      attachments.refresh(item);
    }
    for (const sealed of draft.attachments ?? []) {
      const meta = metas.get(sealed.id) ?? { id: sealed.id };
      attachments.addSealed({ id: sealed.id, name: meta.name ?? "", type: meta.type ?? "",
        size: meta.size ?? null, caption: meta.caption ?? "", stripped: sealed.stripped },
      sealed);
    }
    updateCaseStudy();
  }

  async function offerDraft() {
    let draft = null;
    try {
      draft = await getDraft(recordId);
    } catch {
      return;
    }
    if (!draft || draft.org_id !== orgId || (draft.user_id && draft.user_id !== ring.user.id)) {
      return;
    }
    const box = $("draft-offer");
    const text = $("draft-offer-text");
    if (!box || !text) return;
    offerPending = true;
    let sentence = msg("incident-draft-found", { time: formatTime(draft.saved_at) });
    if (version > 0 && draft.version !== version) sentence += ` ${msg("incident-draft-older")}`;
    text.textContent = sentence;
    box.hidden = false;
    const done = () => {
      box.hidden = true;
      offerPending = false;
      if (dirty) changed();
    };
    $("draft-restore")?.addEventListener("click", async () => {
      clearError();
      try {
        await restoreDraft(draft);
        say(msg("incident-draft-restored"));
        done();
        $("sealed-narrative")?.focus();
      } catch (error) {
        showError(msg("incident-draft-unreadable"));
        void error;
      }
    });
    $("draft-discard")?.addEventListener("click", async () => {
      try {
        await deleteDraft(recordId);
      } catch {
        // nothing to do: the offer goes away either way
      }
      say(msg("incident-draft-discarded"));
      done();
    });
    box.querySelector("button")?.focus();
  }

  // ---- helpers on the coded fields
  const fourP = () => fieldElements(form, "four_p").filter((el) => el.type === "checkbox");
  let fourPTouched = fourP().some((el) => el.checked);
  for (const el of fourP()) {
    el.addEventListener("change", (event) => { if (event.isTrusted) fourPTouched = true; });
  }
  for (const el of fieldElements(form, "kinds")) {
    el.addEventListener("change", () => {
      if (!el.checked || fourPTouched) return;
      const suggested = Array.isArray(kindSuggestions[el.value]) ? kindSuggestions[el.value] : [];
      let any = false;
      for (const box of fourP()) {
        if (suggested.includes(box.value) && !box.checked) {
          box.checked = true;
          any = true;
        }
      }
      const note = $("four_p-suggested");
      if (any && note) note.textContent = msg("incident-four-p-suggested");
    });
  }

  const exactDate = $("sealed-exact-date");
  const month = form.elements.namedItem("month");
  exactDate?.addEventListener("change", () => {
    if (month && !month.value && /^\d{4}-\d{2}-\d{2}$/.test(exactDate.value)) {
      month.value = exactDate.value.slice(0, 7);
    }
  });

  // The case-study draft matters only when the person agreed to a case study.
  const caseStudy = form.elements.namedItem("case_study");
  function updateCaseStudy() {
    const box = $("case-study-draft-field");
    if (box && caseStudy instanceof HTMLInputElement) {
      box.classList.toggle("muted-field", !caseStudy.checked);
    }
  }
  caseStudy?.addEventListener?.("change", updateCaseStudy);
  updateCaseStudy();

  $("add-person")?.addEventListener("click", () => {
    const row = people.add();
    row?.querySelector("[data-person-field]")?.focus();
    changed();
  });

  $("attachment-files")?.addEventListener("change", (event) => {
    clearError();
    const refused = attachments.addFiles([...event.target.files]);
    if (refused.length) showError(refused.join(" "));
  });

  form.addEventListener("input", () => changed());
  form.addEventListener("change", () => changed());

  function localProblems() {
    const problems = {};
    const date = exactDate?.value ?? "";
    if (month?.value && /^\d{4}-\d{2}-\d{2}$/.test(date) && date.slice(0, 7) !== month.value) {
      problems.month = [msg("incident-month-mismatch")];
    }
    return problems;
  }

  // ---- submit
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (sending) return;
    clearError();
    clearFieldErrors(form);
    const problems = localProblems();
    if (Object.keys(problems).length) {
      const { items, loose } = showFieldErrors(form, problems);
      showSummary(msg("incident-fix-errors"), items, loose);
      return;
    }
    if (!ring) {
      showError(msg("keyring-missing"));
      return;
    }
    sending = true;
    clearTimeout(autosaveTimer);
    // The named fields as they are now: busy() disables them, and disabled fields are not sent.
    const body = new FormData(form);
    const restore = busy(button, msg("incident-sealing"));
    let answer;
    let saved = false;
    try {
      const key = await ring.orgKey(currentKv);
      try {
        await attachments.sealNew(ring, orgId, recordId, currentKv, key, say);
      } catch (error) {
        saved = await keepDraftQuietly();
        throw error;
      }
      const envelope = await sealRecord(key, orgId, recordId, currentKv, readSealed());
      saved = await keepDraftQuietly();
      const meta = attachments.newSealed();
      const values = {
        sealed: JSON.stringify(envelope),
        record_id: recordId,
        version: String(version),
        attachments_meta: JSON.stringify(meta.map(({ id, kv, iv }) => ({ id, kv, iv }))),
        remove_attachments: JSON.stringify(attachments.removedIds()),
      };
      for (const [name, value] of Object.entries(values)) {
        body.set(name, value);
        const hidden = form.elements.namedItem(name);
        if (hidden instanceof HTMLInputElement) hidden.value = value;
      }
      for (const a of meta) {
        // The part's file name is the attachment id: the real name is sealed.
        body.append(`attachment-${a.id}`, new Blob([a.ct], { type: "application/octet-stream" }),
          a.id);
      }
      say(saved ? msg("incident-sending") : msg("incident-sending-no-draft"));
      answer = await postForm(page["post-url"], body);
    } catch (error) {
      sending = false;
      restore();
      await failed(error, saved);
      return;
    }
    try {
      await deleteDraft(recordId);
    } catch {
      // a stale draft is harmless: it is sealed, and the form offers it only for this record
    }
    say(msg("incident-saved"));
    const fallback = (page["view-url-template"] || "/incidents/{id}").replace("{id}",
      encodeURIComponent(answer?.id ?? recordId));
    go(typeof answer?.url === "string" ? answer.url : fallback);
  });

  async function failed(error, draftSaved) {
    if (error?.name === "UserError") {
      showError(error);
      return;
    }
    if (error?.name !== "ApiError") {
      showError(error, { plain: msg("incident-not-sent") });
      return;
    }
    const data = error.body ?? {};
    if (error.status === 400 && data.errors && typeof data.errors === "object") {
      const { items, loose } = showFieldErrors(form, data.errors);
      if (items.length) {
        // Each sentence once: the server's `error` is often the same as a loose message.
        showSummary(msg("incident-fix-errors"), items, [...new Set(loose)]);
        return;
      }
      const parts = new Set();
      if (typeof data.error === "string" && data.error) parts.add(data.error);
      for (const text of loose) parts.add(text);
      parts.add(msg("incident-kept"));
      showError([...parts].join(" "));
      return;
    }
    if (error.status === 409) {
      if (version === 0) {
        const view = (page["view-url-template"] || "/incidents/{id}").replace("{id}",
          encodeURIComponent(recordId));
        alertWithLink(`${error.message} ${msg("incident-duplicate")}`, view,
          msg("incident-open-saved"));
      } else {
        const current = Number.isSafeInteger(data.current_version) ? data.current_version : "?";
        showError(`${msg("incident-conflict", { version: current })} ${msg("incident-kept")}`);
      }
      return;
    }
    if (error.status === 401) {
      // The page stays as it is (and keeps the draft up to date) until the person leaves.
      const kept = draftSaved ? msg("incident-kept-login") : msg("incident-copy-text");
      alertWithLink(`${msg("session-over")} ${kept}`, "/login", msg("log-in-link"));
      return;
    }
    if (error.status === 413) {
      showError(`${error.message} ${msg("incident-too-large")} ${msg("incident-kept")}`);
      return;
    }
    if (error.status === 0) {
      showError(`${error.message} ${msg("incident-kept")}`);
      return;
    }
    showError(`${error.message} ${msg("incident-kept")}`);
  }

  // ---- ready
  if (fields) fields.disabled = false;
  button.disabled = false;
  say("");
  document.body.dataset.formState = "ready";
  await offerDraft();
}

main().catch((error) => showError(error));
