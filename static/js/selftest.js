// "Check this browser": runs the sealing code once with known answers and says what works.
// Writes a plain list into #selftest and sets <body data-selftest="ok|failed"> for tests.
// The sentences are translated (templates/_macros/messages.html, js_messages(selftest=True));
// the technical reasons a check failed stay in English.

import { msg } from "./ui.js";

// The Argon2id known answer is the test-parameter vector of shared/vectors/crypto-v1.json.
const KAT = {
  passphrase: "test-params passphrase",
  salt: "QkJCQkJCQkJCQkJCQkJCQg",
  masterKey: "VU3eGvMhMPjUw7tZkDeThKFyZ7s-xCcm_u2KHhYioYY",
  authKey: "LcLnPwql1UtPrSB7LDUigoFWZ5m7XSO1bwV1weFEoYI",
};

const ORG = "00000000-0000-4000-8000-000000000001";
const RECORD = "00000000-0000-4000-8000-000000000002";
const USER = "00000000-0000-4000-8000-000000000003";

function same(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

const LOAD = "selftest-loads";

const checks = [
  ["selftest-secure-context", async () => {
    if (!window.isSecureContext) throw new Error(msg("selftest-use-https"));
  }],
  ["selftest-webcrypto", async () => {
    if (!window.crypto?.subtle) throw new Error("crypto.subtle is missing");
  }],
  [LOAD, async (ctx) => {
    ctx.sealing = await import("./sealing.js");
  }],
  ["selftest-argon2", async ({ sealing: s }) => {
    const master = await s.deriveMasterKey(KAT.passphrase, s.b64uDecode(KAT.salt), 1024, 1, 1);
    if (s.b64uEncode(master) !== KAT.masterKey) throw new Error("wrong master key");
    if (s.b64uEncode(await s.deriveAuthKey(master)) !== KAT.authKey) throw new Error("wrong auth key");
  }],
  ["selftest-record", async ({ sealing: s }) => {
    const orgKey = await s.importOrgKey(s.generateOrgKey());
    const fields = { narrative: "Selftest ✓ ünïcode", people: [{ alias: "A." }] };
    const envelope = await s.sealRecord(orgKey, ORG, RECORD, 1, fields);
    const opened = await s.openRecord(orgKey, ORG, RECORD, envelope);
    if (!same(s.canonicalJson(opened), s.canonicalJson(fields))) throw new Error("round trip differs");
    let moved = false;
    try {
      await s.openRecord(orgKey, ORG, USER, envelope);
      moved = true;
    } catch {
      // expected: an envelope moved to another record must not open
    }
    if (moved) throw new Error("an envelope opened under the wrong record");
  }],
  ["selftest-wrap", async ({ sealing: s }) => {
    const pair = await s.generateMemberKeyPair();
    const orgKeyBytes = s.generateOrgKey();
    const wrapped = await s.wrapOrgKey(orgKeyBytes, pair.publicKey, ORG, 1, USER);
    const orgKey = await s.unwrapOrgKey(wrapped, pair.privateKey, ORG, 1, USER, "org-key",
      { extractable: true });
    const raw = new Uint8Array(await crypto.subtle.exportKey("raw", orgKey));
    if (!same(raw, orgKeyBytes)) throw new Error("unwrapped key differs");
  }],
];

function report(list, key, error) {
  const item = document.createElement("li");
  const name = msg(key);
  item.textContent = error ? `✗ ${msg("selftest-failed", { check: name, reason: error.message || error })}`
    : `✓ ${name}`;
  item.dataset.result = error ? "failed" : "ok";
  list.append(item);
}

async function run() {
  const box = document.getElementById("selftest");
  const list = document.createElement("ul");
  box?.replaceChildren(list);
  const ctx = {};
  let ok = true;
  let afterLoad = false;
  for (const [name, check] of checks) {
    try {
      // The checks after LOAD use the sealing code; say so rather than crash without it.
      if (afterLoad && !ctx.sealing) throw new Error(msg("selftest-not-run"));
      await check(ctx);
      report(list, name, null);
    } catch (error) {
      ok = false;
      report(list, name, error);
    }
    afterLoad ||= name === LOAD;
  }
  const summary = document.createElement("p");
  summary.textContent = msg(ok ? "selftest-ok" : "selftest-not-ok");
  box?.append(summary);
  document.body.dataset.selftest = ok ? "ok" : "failed";
}

run();
