// Unsaved incidents on this device (docs/incidents-api.md "Drafts"): IndexedDB `collateral`,
// store `drafts`, keyed by record id. A draft is
//   {record_id, org_id, user_id, version, saved_at, coded: {name: value | [values]},
//    envelope, attachments: [{id, kv, iv, ct}], remove_attachments: [ids]}
// where `envelope` is the sealed tier sealed under the organisation's current key exactly like
// a record (same AAD: this org, this record id), and each attachment is sealed like an
// attachment (ct: the ciphertext bytes). Nothing typed into a sealed field is ever kept in
// clear, and nothing is sealed under the session key: a draft outlives the session, so the
// person can log in again and finish it. Logout and quick exit delete the whole database.

import { withStore } from "./idb.js";
import { openRecord, sealRecord } from "./sealing.js";

const STORE = "drafts";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const isRecordId = (value) => typeof value === "string" && UUID.test(value);

function isEnvelope(value) {
  return value !== null && typeof value === "object" && value.v === 1
    && Number.isSafeInteger(value.kv) && value.kv >= 1
    && typeof value.iv === "string" && typeof value.ct === "string"
    && Object.keys(value).sort().join(",") === "ct,iv,kv,v";
}

function checkDraft(draft) {
  if (!isRecordId(draft?.record_id)) throw new Error("a draft needs a record id");
  if (!isEnvelope(draft.envelope)) throw new Error("a draft keeps its sealed tier only sealed");
  for (const a of draft.attachments ?? []) {
    if (!isRecordId(a?.id) || !(a.ct instanceof Uint8Array) || typeof a.iv !== "string") {
      throw new Error("a draft keeps its attachments only sealed");
    }
  }
}

/**
 * Seal `fields` (the sealed-field object) under org key version `kv` for this record, and make
 * the draft. `ring` is the loaded keyring (keyring.js).
 */
export async function makeDraft(ring, { orgId, recordId, kv, version = 0, coded = {}, fields,
  attachments = [], removeAttachments = [] }) {
  const key = await ring.orgKey(kv);
  const envelope = await sealRecord(key, orgId, recordId, kv, fields);
  return {
    record_id: recordId,
    org_id: orgId,
    user_id: ring.user?.id ?? null,
    version,
    saved_at: new Date().toISOString(),
    coded,
    envelope,
    attachments: attachments.map((a) => ({ id: a.id, kv: a.kv, iv: a.iv, ct: a.ct,
      stripped: Boolean(a.stripped) })),
    remove_attachments: [...removeAttachments],
  };
}

/** Open a draft's sealed tier with the org key it was sealed under. */
export async function openDraft(ring, draft) {
  const key = await ring.orgKey(draft.envelope.kv);
  return openRecord(key, draft.org_id, draft.record_id, draft.envelope);
}

export async function saveDraft(draft) {
  checkDraft(draft);
  await withStore(STORE, "readwrite", (store) => store.put(draft, draft.record_id));
}

export async function getDraft(recordId) {
  if (!isRecordId(recordId)) return null;
  return (await withStore(STORE, "readonly", (store) => store.get(recordId))) ?? null;
}

export async function deleteDraft(recordId) {
  if (!isRecordId(recordId)) return;
  await withStore(STORE, "readwrite", (store) => store.delete(recordId));
}

/** Every draft of this organisation (and of this member, when userId is given), newest first. */
export async function listDrafts(orgId, userId = null) {
  const all = (await withStore(STORE, "readonly", (store) => store.getAll())) ?? [];
  return all
    .filter((d) => d && d.org_id === orgId && (!userId || !d.user_id || d.user_id === userId))
    .sort((a, b) => String(b.saved_at).localeCompare(String(a.saved_at)));
}
