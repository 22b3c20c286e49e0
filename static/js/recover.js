// /recover/<token> (docs/accounts-api.md "Recovery"): registration, plus the organisation's
// recovery code. The code gives the recovery scalar; its public key must be the organisation's
// recovery key; it opens the recovery wrap of every org key version, and each version is wrapped
// again to the new member key. An ECDSA signature by the scalar over the server's nonce proves
// the code without sending it. The code and the org keys never leave this page.

import { setupEnrolment } from "./enrol.js";
import {
  b64uDecode,
  b64uEncode,
  canonicalJson,
  recoveryPrivateKey,
  recoveryPublicRaw,
  recoveryScalar,
  unwrapOrgKey,
  wrapOrgKey,
} from "./sealing.js";
import { msg, pageData, UserError } from "./ui.js";

// PKCS#8 for a P-256 key: SEQ { INT 0, SEQ { ecPublicKey, prime256v1 }, OCTET STRING {
// ECPrivateKey { INT 1, OCTET STRING d, [1] BIT STRING public point } } } (as in sealing.js).
const PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x81, 0x87, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02,
  0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x04, 0x6d, 0x30, 0x6b, 0x02,
  0x01, 0x01, 0x04, 0x20,
]);
const PKCS8_PUBLIC = Uint8Array.from([0xa1, 0x44, 0x03, 0x42, 0x00]);

function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** A non-extractable ECDSA signing key for the recovery scalar. */
async function signingKey(scalar, publicRaw) {
  const der = new Uint8Array(PKCS8_PREFIX.length + 32 + PKCS8_PUBLIC.length + 65);
  der.set(PKCS8_PREFIX, 0);
  der.set(scalar, PKCS8_PREFIX.length);
  der.set(PKCS8_PUBLIC, PKCS8_PREFIX.length + 32);
  der.set(publicRaw, PKCS8_PREFIX.length + 32 + PKCS8_PUBLIC.length);
  try {
    return await crypto.subtle.importKey("pkcs8", der, { name: "ECDSA", namedCurve: "P-256" },
      false, ["sign"]);
  } finally {
    der.fill(0);
  }
}

/** "kv:wrapped,kv:wrapped" → [{kv, wrapped}], ascending kv; throws on anything else. */
export function parseRecoveryWraps(text) {
  const wraps = (text ?? "").split(",").filter((part) => part.trim() !== "").map((part) => {
    const match = /^\s*([1-9][0-9]*):([A-Za-z0-9_-]+)\s*$/.exec(part);
    if (!match) throw new UserError(msg("recovery-wraps-bad"));
    return { kv: Number(match[1]), wrapped: match[2] };
  });
  if (wraps.length === 0 || new Set(wraps.map((w) => w.kv)).size !== wraps.length) {
    throw new UserError(msg("recovery-wraps-bad"));
  }
  return wraps.sort((a, b) => a.kv - b.kv);
}

const page = pageData();
const codeInput = document.getElementById("recovery-code");

setupEnrolment({
  validate() {
    if (!codeInput?.value.trim()) return [msg("recovery-code-needed"), codeInput];
    return null;
  },

  async prepare() {
    const orgId = page["org-id"];
    const wraps = parseRecoveryWraps(page["recovery-wraps"]);
    let expected;
    try {
      expected = b64uDecode(page["recovery-public-key"]);
    } catch {
      throw new UserError(msg("recovery-wraps-bad"));
    }
    let scalar;
    try {
      scalar = await recoveryScalar(codeInput.value);
    } catch {
      throw new UserError(msg("recovery-code-bad"), codeInput);
    }
    const odks = new Map();
    try {
      const publicRaw = await recoveryPublicRaw(scalar);
      if (!sameBytes(publicRaw, expected)) {
        throw new UserError(msg("recovery-code-wrong-org"), codeInput);
      }
      const recoveryKey = await recoveryPrivateKey(scalar);
      for (const { kv, wrapped } of wraps) {
        let key;
        try {
          key = await unwrapOrgKey(wrapped, recoveryKey, orgId, kv, "recovery",
            "org-key-recovery", { extractable: true });
        } catch {
          throw new UserError(msg("recovery-unwrap-failed", { kv }));
        }
        // Raw bytes only to wrap them to the new member key in extend(); wiped in forget().
        odks.set(kv, new Uint8Array(await crypto.subtle.exportKey("raw", key)));
      }
      return { odks, signer: await signingKey(scalar, publicRaw) };
    } catch (error) {
      for (const bytes of odks.values()) bytes.fill(0);
      throw error;
    } finally {
      scalar.fill(0);
    }
  },

  async extend(state, { pair, userId, orgId }) {
    const wraps = [];
    for (const [kv, odk] of state.odks) {
      wraps.push({ kv, wrapped: await wrapOrgKey(odk, pair.publicKey, orgId, kv, userId) });
    }
    const statement = canonicalJson({ nonce: page.nonce, org: orgId, purpose: "recovery-proof",
      v: 1 });
    const proof = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" },
      state.signer, statement));
    return { recovery: { proof: b64uEncode(proof), wraps } };
  },

  forget(state) {
    for (const bytes of state.odks.values()) bytes.fill(0);
    state.odks.clear();
    state.signer = null;
  },
});
