// The member's keys across the page loads of one login (CRYPTO.md "Keys", docs/accounts-api.md
// "The keyring").
//
// At login the page still has the KEK: it opens the member's private key, checks it against the
// public key the server holds for the account, and stores it in IndexedDB `collateral`/`keys`
// under "member", sealed under the session key (a random AES-256-GCM key the server made at login
// and keeps only in the server-side session). Later pages fetch /auth/keyring, open that envelope
// with the session key, and check the public key again. So the device alone holds nothing usable
// once the server session has ended, and the server alone never holds the member's keys.
//
// Unwrapped keys are non-extractable CryptoKeys, held only in this module's memory and dropped on
// quick exit (the `collateral:quick-exit` event), logout and session end. Nothing goes to
// web storage or a cookie, and nothing is exported as a JSON Web Key.

import { getJson } from "./api.js";
import {
  b64uDecode,
  b64uEncode,
  exportPublicRaw,
  importOrgKey,
  publicKeyFor,
  unwrapMemberKey,
  unwrapOrgKey,
  wrapMemberKey,
} from "./sealing.js";
import { DATABASE, withStore } from "./idb.js";
import { msg, pageUrl } from "./ui.js";

const STORE = "keys";
const MEMBER = "member";
const EXIT_EVENT = "collateral:quick-exit";
const KEYRING_URL = "/auth/keyring"; // or the page's data-keyring-url

/** A keyring problem, with a sentence for a person. `code` tells callers what happened. */
export class KeyringError extends Error {
  constructor(code, message, options) {
    super(message, options);
    this.name = "KeyringError";
    this.code = code; // "session-over" | "missing" | "mismatch"
  }
}

// ---------------------------------------------------------------------------------------------
// Forgetting

let current = null; // the open keyring of this page, or null
const forgetters = new Set();

/** Call `callback` when the page must drop every key it holds (quick exit, logout). */
export function onForget(callback) {
  forgetters.add(callback);
  return () => forgetters.delete(callback);
}

function forgetInMemory() {
  current?.forget();
  current = null;
  for (const callback of forgetters) {
    try {
      callback();
    } catch {
      // one page's clean-up must not stop the others
    }
  }
}

document.addEventListener(EXIT_EVENT, forgetInMemory);

// ---------------------------------------------------------------------------------------------
// IndexedDB (idb.js: the database `collateral` with the stores `keys` and `drafts`)

const readMember = () => withStore(STORE, "readonly", (store) => store.get(MEMBER));
const writeMember = (record) => withStore(STORE, "readwrite", (store) => store.put(record, MEMBER));

/** Delete every key kept on this device and forget the ones in memory. Never throws. */
export async function clearKeyring() {
  forgetInMemory();
  if (!globalThis.indexedDB) return;
  await new Promise((resolve) => {
    let request;
    try {
      request = indexedDB.deleteDatabase(DATABASE);
    } catch {
      resolve();
      return;
    }
    request.onsuccess = () => resolve();
    request.onerror = () => resolve();
    // Another tab holding the database open delays deletion; it goes ahead once that tab
    // closes it. Do not keep the person waiting for that.
    request.onblocked = () => resolve();
  });
}

/**
 * Delete the member's key kept on this device (it is useless once the session is over) and
 * forget the ones in memory, but keep the drafts: they are sealed under the organisation's key,
 * which only the member's passphrase opens, and they are what the person typed before the
 * session ended (docs/incidents-api.md "Drafts"). Logout and quick exit delete everything.
 * Never throws.
 */
export async function clearKeys() {
  forgetInMemory();
  if (!globalThis.indexedDB) return;
  try {
    await withStore(STORE, "readwrite", (store) => store.clear());
  } catch {
    await clearKeyring();
  }
}

// ---------------------------------------------------------------------------------------------
// Storing at login / registration

function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** The 65-byte public point of a private key made or opened by sealing.js. */
export async function publicRawOf(privateKey) {
  return exportPublicRaw(await publicKeyFor(privateKey));
}

/** Does this private key belong to the public key the server returned (b64u)? */
export async function matchesPublicKey(privateKey, publicKeyB64u) {
  let claimed;
  try {
    claimed = b64uDecode(publicKeyB64u);
  } catch {
    return false;
  }
  return sameBytes(await publicRawOf(privateKey), claimed);
}

/** Fetch /auth/keyring. On 401 (the session is over) the keys on this device are deleted. */
export async function fetchKeyring() {
  try {
    return await getJson(pageUrl("keyring-url", KEYRING_URL));
  } catch (error) {
    if (error?.status === 401) {
      await clearKeys();
      throw new KeyringError("session-over", error.message, { cause: error });
    }
    throw error;
  }
}

/**
 * At login or registration, with the member's private key opened *extractable* from the KEK (or
 * freshly made): check it against `keyring.user.public_key`, seal it under the session key and
 * keep it in IndexedDB. On a mismatch nothing is stored and a KeyringError("mismatch") is thrown.
 */
export async function storeMemberKey(privateKey, keyring) {
  const user = keyring?.user;
  if (!user?.id || typeof keyring.session_key !== "string") {
    throw new Error("the keyring answer is incomplete");
  }
  if (!(await matchesPublicKey(privateKey, user.public_key))) {
    await clearKeyring();
    throw new KeyringError("mismatch", msg("key-mismatch"));
  }
  const sessionKey = await importOrgKey(b64uDecode(keyring.session_key));
  const envelope = await wrapMemberKey(sessionKey, user.id, privateKey);
  await writeMember({
    user_id: user.id,
    public_raw: b64uEncode(await publicRawOf(privateKey)),
    envelope,
  });
}

// ---------------------------------------------------------------------------------------------
// Loading on later pages

class Keyring {
  constructor(data, privateKey, publicRaw) {
    this.user = data.user;
    this.org = data.org ?? null;
    this.privateKey = privateKey; // non-extractable
    this.publicRaw = publicRaw;
    this.orgKeys = new Map(); // kv → non-extractable AES-GCM CryptoKey
  }

  get userId() {
    return this.user.id;
  }

  /** Key versions this member holds a wrap for, ascending. */
  get heldVersions() {
    return (this.org?.wraps ?? []).map((w) => w.kv).sort((a, b) => a - b);
  }

  wrapFor(kv) {
    return (this.org?.wraps ?? []).find((w) => w.kv === kv) ?? null;
  }

  /** The org data key of version kv, non-extractable (for sealing and opening records). */
  async orgKey(kv) {
    if (!this.orgKeys.has(kv)) {
      const wrap = this.wrapFor(kv);
      if (!wrap || !this.org) throw new KeyringError("missing", msg("missing-kv", { kv }));
      // Cache the promise, not the key: callers opening many records at once share one
      // unwrap instead of each starting its own.
      const pending = unwrapOrgKey(wrap.wrapped, this.privateKey, this.org.id, kv, this.user.id);
      pending.catch(() => this.orgKeys.delete(kv));
      this.orgKeys.set(kv, pending);
    }
    return this.orgKeys.get(kv);
  }

  /**
   * The raw bytes of org data key kv, only to wrap them at once to another key holder (confirming
   * a member). The caller must wipe them (`.fill(0)`) straight after. Never cached.
   */
  async orgKeyBytes(kv) {
    const wrap = this.wrapFor(kv);
    if (!wrap || !this.org) throw new KeyringError("missing", msg("missing-kv", { kv }));
    const key = await unwrapOrgKey(wrap.wrapped, this.privateKey, this.org.id, kv, this.user.id,
      "org-key", { extractable: true });
    return new Uint8Array(await crypto.subtle.exportKey("raw", key));
  }

  forget() {
    this.privateKey = null;
    this.orgKeys.clear();
  }
}

/**
 * Open this login's keyring: GET /auth/keyring, open the stored envelope with the session key and
 * check the public key on both sides. Throws KeyringError with a sentence for a person.
 */
export async function loadKeyring() {
  if (current) return current;
  const data = await fetchKeyring();
  const user = data?.user;
  if (!user?.id || typeof data.session_key !== "string") {
    throw new Error("the keyring answer is incomplete");
  }
  let record;
  try {
    record = await readMember();
  } catch (error) {
    throw new KeyringError("missing", msg("keyring-missing"), { cause: error });
  }
  if (!record?.envelope || record.user_id !== user.id) {
    throw new KeyringError("missing", msg("keyring-missing"));
  }
  let privateKey;
  try {
    const sessionKey = await importOrgKey(b64uDecode(data.session_key));
    privateKey = await unwrapMemberKey(sessionKey, user.id, record.envelope);
  } catch (error) {
    // Sealed under another session's key (an earlier login): useless now.
    await clearKeys();
    throw new KeyringError("missing", msg("keyring-missing"), { cause: error });
  }
  const publicRaw = await publicRawOf(privateKey);
  if (record.public_raw !== b64uEncode(publicRaw) || !(await matchesPublicKey(privateKey,
    user.public_key))) {
    await clearKeyring();
    throw new KeyringError("mismatch", msg("keyring-mismatch"));
  }
  current = new Keyring(data, privateKey, publicRaw);
  return current;
}
