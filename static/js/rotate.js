// A new org data key version (docs/accounts-api.md "Members"): on the member page to remove a
// member (#remove-member) or make them an analyst (#demote-member), on /org/keys to rotate
// (#rotate-keys). The new ODK is made here, wrapped to every remaining confirmed key holder
// (GET /org/keyholders, the removed member left out) and to the organisation's recovery key, and
// only the wraps are sent. Each button asks to be pressed a second time before it acts.

import { getJson, postJson } from "./api.js";
import { loadKeyring } from "./keyring.js";
import { b64uDecode, b64uEncode, generateOrgKey, wrapOrgKey } from "./sealing.js";
import {
  go, msg, pageData, pageUrl, say, showError, startPage, twoStep, UserError,
} from "./ui.js";

// The contract's paths; the page's data-keyholders-url and data-rotate-url win.
const KEYHOLDERS_URL = "/org/keyholders";
const ROTATE_URL = "/org/keys/rotate";

const $ = (id) => document.getElementById(id);

function rawKey(value) {
  const raw = b64uDecode(value);
  if (raw.length !== 65 || raw[0] !== 4) throw new Error("not a public key");
  return raw;
}

/** Check the keyholders answer; returns {currentKv, recoveryPublic, holders: [{id, raw}]}. */
function checkHolders(answer, excluded) {
  try {
    const currentKv = answer?.current_kv;
    if (!Number.isSafeInteger(currentKv) || currentKv < 1) throw new Error("no current_kv");
    if (!Array.isArray(answer.holders)) throw new Error("no holders");
    const seen = new Set();
    const holders = [];
    for (const holder of answer.holders) {
      if (typeof holder?.id !== "string" || !holder.id || seen.has(holder.id)) {
        throw new Error("bad holder id");
      }
      seen.add(holder.id);
      if (holder.id === excluded) continue;
      holders.push({ id: holder.id, raw: rawKey(holder.public_key) });
    }
    if (holders.length === 0) throw new Error("nobody would hold the new key");
    return { currentKv, recoveryPublic: rawKey(answer.recovery_public_key), holders };
  } catch (error) {
    throw new UserError(msg("keyholders-bad"), null, { cause: error });
  }
}

/** Make ODK v(n+1), wrap it to every holder but `excluded` and to the recovery key. */
export async function newKeyVersionBody(keyring, orgId, excluded = null) {
  let url = pageUrl("keyholders-url", KEYHOLDERS_URL);
  if (excluded) url += `${url.includes("?") ? "&" : "?"}exclude=${encodeURIComponent(excluded)}`;
  const { currentKv, recoveryPublic, holders } = checkHolders(await getJson(url), excluded);
  // The server lists this member's own key too: it must be the key this browser holds.
  const self = holders.find((h) => h.id === keyring.userId);
  if (self && b64uEncode(self.raw) !== b64uEncode(keyring.publicRaw)) {
    throw new UserError(msg("keyholders-bad"));
  }
  const knownRecovery = keyring.org?.recovery_public_key;
  if (knownRecovery && knownRecovery !== b64uEncode(recoveryPublic)) {
    throw new UserError(msg("keyholders-bad"));
  }
  const kv = currentKv + 1;
  const odk = generateOrgKey();
  try {
    const wraps = [];
    for (const holder of holders) {
      wraps.push({ user: holder.id, wrapped: await wrapOrgKey(odk, holder.raw, orgId, kv, holder.id) });
    }
    const recoveryWrap = await wrapOrgKey(odk, recoveryPublic, orgId, kv, "recovery",
      "org-key-recovery");
    return { kv, wraps, recovery_wrap: recoveryWrap };
  } finally {
    odk.fill(0);
  }
}


/** Make the new key version, POST it with `extra`, then go to `next` (this page by default). */
async function run(url, excluded, extra, done, next) {
  const keyring = await loadKeyring();
  const page = pageData();
  const orgId = keyring.org?.id;
  if (!orgId || (page["org-id"] && page["org-id"] !== orgId)) throw new UserError(msg("no-org-key"));
  const body = { ...(await newKeyVersionBody(keyring, orgId, excluded)), ...extra };
  say(msg("sending"));
  const answer = await postJson(url, body);
  say(done(answer?.kv ?? body.kv));
  go(answer?.next ?? next ?? window.location.pathname);
}

/** An analyst never held the org key: removing one makes no new key version. */
async function removeKeyless(url, done, next) {
  say(msg("sending"));
  const answer = await postJson(url, {});
  say(done());
  go(answer?.next ?? next ?? window.location.pathname);
}

function main() {
  const rotateButton = $("rotate-keys") ?? $("rotate-button");
  const buttons = [$("remove-member"), $("demote-member"), rotateButton].filter(Boolean);
  if (buttons.length === 0) return;
  // members.js may already have checked the browser on the member page; checking again is cheap.
  if (!startPage({ storage: true })) {
    for (const button of buttons) button.disabled = true;
    return;
  }
  const page = pageData();
  const memberId = page["member-id"];
  const name = $("member-name")?.textContent.trim() || "";
  const removed = () => msg("removed", { name });

  twoStep($("remove-member"), msg("remove-confirm", { name }), () => (page.role === "analyst"
    ? removeKeyless(page["remove-url"], removed, page["members-url"])
    : run(page["remove-url"], memberId, {}, removed, page["members-url"])), msg("wrapping"));
  twoStep($("demote-member"), msg("demote-confirm", { name }),
    () => run(page["remove-url"], memberId, { demote_to: "analyst" },
      () => msg("demoted", { name })), msg("wrapping"));
  twoStep(rotateButton, msg("rotate-confirm"),
    () => run(pageUrl("rotate-url", ROTATE_URL), null, {}, (kv) => msg("rotated", { kv }),
      page["done-url"]), msg("wrapping"));
}

main();
