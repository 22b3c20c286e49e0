// /incidents/<id> (docs/incidents-api.md "Pages"): open the sealed tier with the organisation's
// key and show it as text (textContent only: sealed text is never parsed as HTML); list the
// attachments, which are fetched as ciphertext, opened here and saved or previewed from memory;
// delete the incident (two presses); publish or withdraw the de-identified case study
// (coordinators), after a warning that published text becomes readable by the server.

import { deleteJson, getBytes, putJson } from "./api.js";
import { formatBytes, previewable, saveBlob } from "./attachments.js";
import { deleteDraft } from "./drafts.js";
import "./incident-messages.js";
import { loadKeyring, onForget } from "./keyring.js";
import { b64uEncode, openAttachment, openRecord } from "./sealing.js";
import {
  busy, clearError, go, msg, pageData, safePath, say, showError, startPage, twoStep, UserError,
} from "./ui.js";

const $ = (id) => document.getElementById(id);
const TEXT_FIELDS = ["narrative", "exact_date", "exact_time", "place", "officers", "taken",
  "support", "case_study_draft"];
const CASE_STUDY_CONSENT = new Set(["aggregate", "research"]);

function formatDate(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return value;
  try {
    return new Intl.DateTimeFormat(document.documentElement.lang || undefined,
      { dateStyle: "long", timeZone: "UTC" }).format(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  } catch {
    return value;
  }
}

function showRow(name, filler) {
  const row = document.querySelector(`[data-sealed-row="${name}"]`);
  const cell = document.querySelector(`[data-sealed="${name}"]`);
  if (!row || !cell) return;
  filler(cell);
  row.hidden = false;
}

function renderSealed(fields) {
  for (const name of TEXT_FIELDS) {
    const value = fields[name];
    if (typeof value !== "string" || value.trim() === "") continue;
    showRow(name, (cell) => {
      cell.textContent = name === "exact_date" ? formatDate(value) : value;
    });
  }
  const people = Array.isArray(fields.people) ? fields.people.filter((p) => p && typeof p === "object")
    : [];
  if (people.length) {
    showRow("people", (cell) => {
      const list = document.createElement("ul");
      list.className = "people-list";
      for (const person of people) {
        const li = document.createElement("li");
        const parts = [];
        for (const [part, label] of [["alias", null], ["role", "incident-person-role"],
          ["contact", "incident-person-contact"]]) {
          const value = person[part];
          if (typeof value === "string" && value.trim()) {
            parts.push(label ? `${msg(label)}: ${value}` : value);
          }
        }
        li.textContent = parts.join(" · ") || msg("incident-person-unnamed");
        list.append(li);
      }
      cell.replaceChildren(list);
    });
  }
  const view = $("sealed-view");
  if (view) view.hidden = false;
  const state = $("sealed-state");
  const shown = document.querySelectorAll("[data-sealed-row]:not([hidden])").length;
  if (state) state.textContent = shown ? "" : msg("incident-sealed-empty");
  if (state) state.hidden = shown > 0;
}

// ---------------------------------------------------------------------------------------------
// Attachments

const objectUrls = new Set();
function forgetUrls() {
  for (const url of objectUrls) URL.revokeObjectURL(url);
  objectUrls.clear();
}
window.addEventListener("pagehide", forgetUrls);

async function fetchAndOpen(ring, page, attachment) {
  const url = safePath((page["attachment-url-template"] || "/api/v1/attachments/{id}")
    .replace("{id}", encodeURIComponent(attachment.id)));
  const { bytes, headers } = await getBytes(url);
  const kv = Number.isSafeInteger(attachment.kv) ? attachment.kv
    : Number(headers.get("X-Collateral-KV"));
  const iv = typeof attachment.iv === "string" && attachment.iv ? attachment.iv
    : headers.get("X-Collateral-IV");
  const key = await ring.orgKey(kv);
  try {
    return await openAttachment(key, page["org-id"], page["record-id"], attachment.id,
      { v: 1, kv, iv, ct: b64uEncode(bytes) });
  } catch (error) {
    throw new UserError(msg("incident-attachment-unreadable"), null, { cause: error });
  }
}

function dataUrl(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

function renderAttachments(ring, page, pageAttachments, metas) {
  const list = $("attachment-list");
  const template = $("attachment-view-template");
  if (!list || !template) return;
  const byId = new Map((Array.isArray(metas) ? metas : []).filter((m) => m?.id)
    .map((m) => [m.id, m]));
  list.replaceChildren();
  for (const attachment of pageAttachments) {
    if (!attachment?.id) continue;
    const meta = byId.get(attachment.id) ?? {};
    const row = template.content.firstElementChild.cloneNode(true);
    const name = typeof meta.name === "string" && meta.name ? meta.name : null;
    const type = typeof meta.type === "string" ? meta.type : "";
    row.querySelector("[data-name]").textContent = name ?? msg("incident-unnamed-file");
    const notes = [];
    if (Number.isSafeInteger(meta.size)) notes.push(formatBytes(meta.size));
    if (type) notes.push(type);
    row.querySelector("[data-note]").textContent = notes.join(" · ");
    const caption = row.querySelector("[data-caption]");
    if (caption) {
      caption.textContent = typeof meta.caption === "string" ? meta.caption : "";
      caption.hidden = !caption.textContent;
    }
    const download = row.querySelector("[data-download]");
    const previewButton = row.querySelector("[data-preview]");
    const image = row.querySelector("img");
    download?.addEventListener("click", async () => {
      clearError();
      const restore = busy(download, msg("incident-opening-file"));
      try {
        const bytes = await fetchAndOpen(ring, page, attachment);
        saveBlob(bytes, name ?? `attachment-${attachment.id}`, type);
        say(msg("incident-file-saved", { name: name ?? "" }));
      } catch (error) {
        showError(error);
      } finally {
        restore();
      }
    });
    if (previewButton && image && previewable(type)) {
      previewButton.hidden = false;
      previewButton.addEventListener("click", async () => {
        clearError();
        if (!image.hidden) {
          image.hidden = true;
          image.removeAttribute("src");
          return;
        }
        const restore = busy(previewButton, msg("incident-opening-file"));
        try {
          const bytes = await fetchAndOpen(ring, page, attachment);
          const blob = new Blob([bytes], { type });
          const url = URL.createObjectURL(blob);
          objectUrls.add(url);
          image.alt = (typeof meta.caption === "string" && meta.caption) || name || "";
          // Should the page's policy not allow blob: images, show the same bytes as data:.
          image.addEventListener("error", async () => {
            if (image.src.startsWith("blob:")) image.src = await dataUrl(blob);
          }, { once: true });
          image.src = url;
          image.hidden = false;
        } catch (error) {
          showError(error);
        } finally {
          restore();
        }
      });
    }
    list.append(row);
  }
  const none = $("attachments-none");
  if (none) none.hidden = list.children.length > 0;
}


// ---------------------------------------------------------------------------------------------

async function main() {
  if (!startPage({ storage: true })) return;
  const page = pageData();
  let ring = null;
  onForget(() => {
    ring = null;
    forgetUrls();
  });

  // Deleting and withdrawing need no key.
  twoStep($("delete-incident"), msg("incident-delete-warning"), async () => {
    const answer = await deleteJson(page["delete-url"]);
    try {
      await deleteDraft(page["record-id"]);
    } catch {
      // nothing left to tidy
    }
    say(msg("incident-deleted"));
    go(answer?.next ?? answer?.list_url ?? page["list-url"] ?? "/incidents");
  });
  twoStep($("unpublish-case-study"), msg("incident-unpublish-warning"), async () => {
    await deleteJson(page["publish-url"]);
    say(msg("incident-unpublished"));
    window.location.reload();
  });

  // Analysts never hold the key, and a retention rule may have destroyed the sealed tier:
  // then the page has nothing to open.
  if (!page.sealed) {
    document.body.dataset.viewState = "ready";
    return;
  }

  let fields;
  say(msg("opening-keys"));
  try {
    ring = await loadKeyring();
    if (!ring.org || ring.org.id !== page["org-id"]) throw new UserError(msg("no-org-key"));
    const envelope = JSON.parse(page.sealed || "null");
    if (!envelope) throw new Error("the page carries no sealed tier");
    const key = await ring.orgKey(envelope.kv);
    try {
      fields = await openRecord(key, page["org-id"], page["record-id"], envelope);
    } catch (error) {
      throw new UserError(msg("incident-open-failed"), null, { cause: error });
    }
  } catch (error) {
    say("");
    const state = $("sealed-state");
    if (state) state.textContent = msg("incident-sealed-closed");
    showError(error);
    return;
  }
  say("");
  renderSealed(fields);
  let pageAttachments = [];
  try {
    pageAttachments = JSON.parse(page.attachments || "[]");
  } catch {
    pageAttachments = [];
  }
  renderAttachments(ring, page, Array.isArray(pageAttachments) ? pageAttachments : [],
    fields.attachments);

  // ---- publishing the case study (coordinators)
  const text = $("case-study-text");
  const understood = $("publish-understood");
  const publish = $("publish-case-study");
  if (page["can-publish"] === "1" && text && publish) {
    const allowed = page["case-study"] === "1" && CASE_STUDY_CONSENT.has(page.consent);
    if (!allowed) {
      const why = $("case-study-not-allowed");
      if (why) why.hidden = false;
    } else {
      const fieldset = $("publish-fields");
      if (fieldset) fieldset.disabled = false;
      if (!text.value && typeof fields.case_study_draft === "string") {
        text.value = fields.case_study_draft;
      }
      publish.addEventListener("click", async (event) => {
        event.preventDefault();
        clearError();
        if (!text.value.trim()) {
          showError(msg("incident-case-study-empty"));
          text.focus();
          return;
        }
        if (understood && !understood.checked) {
          showError(msg("incident-publish-understand"));
          understood.focus();
          return;
        }
        const restore = busy(publish, msg("sending"));
        try {
          await putJson(page["publish-url"], { text: text.value });
          say(msg("incident-published"));
          window.location.reload();
        } catch (error) {
          restore();
          showError(error);
        }
      });
    }
  }
  document.body.dataset.viewState = "ready";
}

main().catch((error) => showError(error));
