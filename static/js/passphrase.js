// /account/passphrase (docs/accounts-api.md "Changing the passphrase"): the current passphrase
// (with the member's salt and parameters from prelogin) opens the private key (its KEK) and
// proves itself to the server (its auth key); the new passphrase, with the fresh salt the page
// carries, gives a new KEK that seals the same private key and a new auth key. Neither passphrase is sent. The member key pair does not change, so fingerprints
// and org key wraps stay as they are.

import { postJson } from "./api.js";
import { prelogin } from "./auth.js";
import { fetchKeyring, KeyringError, matchesPublicKey, onForget } from "./keyring.js";
import {
  b64uDecode,
  b64uEncode,
  deriveAuthKey,
  deriveKek,
  deriveMasterKey,
  unwrapMemberKey,
  wrapMemberKey,
} from "./sealing.js";
import { attachMeter, passphraseProblem } from "./strength.js";
import {
  busy, clearError, go, intFrom, msg, pageData, say, showError, startPage, UserError,
} from "./ui.js";

const $ = (id) => document.getElementById(id);

async function derive(passphrase, salt, kdf) {
  const master = await deriveMasterKey(passphrase, salt, kdf.m, kdf.t, kdf.p);
  try {
    return { authKey: await deriveAuthKey(master), kek: await deriveKek(master) };
  } finally {
    master.fill(0);
  }
}

function main() {
  if (!startPage({ wasm: true, storage: true })) return;
  const page = pageData();
  const form = $("passphrase-form");
  const oldInput = $("old-passphrase");
  const passphrase = $("passphrase");
  const again = $("passphrase-again");
  const submit = form?.querySelector('button[type="submit"]');

  // data-salt and data-kdf-* are for the NEW passphrase (a fresh salt the server issued, and
  // parameters never below the member's own); the current ones come from prelogin.
  let salt;
  let newKdf;
  try {
    salt = b64uDecode(page.salt);
    if (salt.length !== 16) throw new Error("the salt must be 16 bytes");
    newKdf = { m: intFrom(page["kdf-m"], "kdf-m"), t: intFrom(page["kdf-t"], "kdf-t"),
      p: intFrom(page["kdf-p"], "kdf-p") };
    if (!page["post-url"] || !page.email) throw new Error("the page data is incomplete");
  } catch (error) {
    for (const fieldset of document.querySelectorAll("fieldset")) fieldset.disabled = true;
    showError(error);
    return;
  }

  let privateKey = null; // extractable, only while re-sealing
  onForget(() => { privateKey = null; });
  attachMeter(passphrase, () => [page.email ?? "", "collateral"]);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearError();
    const checks = [
      [!oldInput.value, msg("passphrase-needed"), oldInput],
      [!passphrase.value, msg("passphrase-needed"), passphrase],
      [passphrase.value !== again.value, msg("passphrase-mismatch"), again],
      [passphrase.value === oldInput.value, msg("passphrase-same"), passphrase],
    ];
    const failed = checks.find(([bad]) => bad);
    if (failed) {
      showError(failed[1], { input: failed[2] });
      return;
    }
    const restore = busy(submit, msg("working"));
    const wipe = [];
    try {
      const weak = await passphraseProblem(passphrase.value, [page.email ?? "", "collateral"]);
      if (weak) throw new UserError(weak, passphrase);

      say(msg("deriving"));
      submit.textContent = msg("deriving");
      const current = await prelogin(page.email);
      const oldSalt = b64uDecode(current?.salt ?? "");
      const oldKdf = current?.kdf ?? {};
      // Parameters may only be raised.
      const kdf = { m: Math.max(newKdf.m, oldKdf.m ?? 0), t: Math.max(newKdf.t, oldKdf.t ?? 0),
        p: Math.max(newKdf.p, oldKdf.p ?? 0) };
      const old = await derive(oldInput.value, oldSalt, oldKdf);
      wipe.push(old.authKey);
      const keyring = await fetchKeyring();
      const userId = keyring.user.id;
      if (page["user-id"] && page["user-id"] !== userId) throw new Error("the page is for another account");
      try {
        privateKey = await unwrapMemberKey(old.kek, userId, keyring.user.wrapped_private_key,
          { extractable: true });
      } catch {
        throw new UserError(msg("old-passphrase-wrong"), oldInput);
      }
      if (!(await matchesPublicKey(privateKey, keyring.user.public_key))) {
        throw new KeyringError("mismatch", msg("key-mismatch"));
      }

      const fresh = await derive(passphrase.value, salt, kdf);
      wipe.push(fresh.authKey);
      const wrapped = await wrapMemberKey(fresh.kek, userId, privateKey);
      privateKey = null;

      say(msg("sending"));
      const answer = await postJson(page["post-url"], {
        old_auth_key: b64uEncode(old.authKey),
        salt: page.salt,
        kdf,
        auth_key: b64uEncode(fresh.authKey),
        wrapped_private_key: wrapped,
      });
      for (const input of [oldInput, passphrase, again]) input.value = "";
      say(msg("passphrase-changed"));
      if (answer?.next) go(answer.next);
      else restore();
    } catch (error) {
      privateKey = null;
      restore();
      showError(error, { input: error?.input
        ?? (error?.status === 401 || error?.field === "old_passphrase" ? oldInput : null) });
    } finally {
      for (const bytes of wipe) bytes.fill(0);
    }
  });
}

main();
