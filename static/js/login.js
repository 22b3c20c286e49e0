// /login (docs/accounts-api.md "Login"): prelogin for the salt and Argon2 parameters, Argon2id,
// POST the auth key (never the passphrase), the TOTP step when the account has one, then the
// keyring: open the private key with the KEK, check it against the account's public key, keep it
// sealed under the session key in IndexedDB, and go on.

import { finishLogin, login, prelogin, totp } from "./auth.js";
import { KeyringError, onForget } from "./keyring.js";
import { b64uDecode, deriveAuthKey, deriveKek, deriveMasterKey, unwrapMemberKey }
  from "./sealing.js";
import { busy, clearError, go, msg, say, showError, startPage, UserError } from "./ui.js";

const $ = (id) => document.getElementById(id);

function kdfFrom(answer) {
  const { m, t, p } = answer?.kdf ?? {};
  for (const value of [m, t, p]) {
    if (!Number.isSafeInteger(value) || value < 1) throw new Error("the server sent no usable KDF parameters");
  }
  const salt = b64uDecode(answer.salt);
  if (salt.length !== 16) throw new Error("the server sent no usable salt");
  return { salt, m, t, p };
}

/** End the server session without keeping anything (after a key mismatch). */
function endSession() {
  const body = new FormData();
  body.append("csrf_token", document.querySelector('meta[name="csrf-token"]')?.content ?? "");
  navigator.sendBeacon("/quick-exit", body);
}

function main() {
  if (!startPage({ wasm: true, storage: true })) return;
  const form = $("login-form");
  const emailInput = $("email");
  const passphrase = $("passphrase");
  const totpForm = $("totp-form");
  const totpInput = $("totp-code");
  let kek = null; // non-extractable; only between the passphrase and the keyring step
  onForget(() => { kek = null; });

  // A key problem after the server accepted the login is final: nothing is stored, the server
  // session is ended and the page stays disabled.
  const fatal = (error) => (error instanceof KeyringError && error.code === "mismatch")
    || error?.fatal === true;
  function lockPage() {
    kek = null;
    endSession();
    for (const el of document.querySelectorAll("fieldset, button, input")) {
      if (el.id !== "quick-exit") el.disabled = true;
    }
  }

  async function complete(answer) {
    say(msg("opening-keys"));
    await finishLogin(async (keyring) => {
      try {
        return await unwrapMemberKey(kek, keyring.user.id, keyring.user.wrapped_private_key,
          { extractable: true });
      } catch {
        const error = new UserError(msg("key-open-failed"));
        error.fatal = true;
        throw error;
      }
    });
    kek = null;
    say(msg("done-redirecting"));
    go(answer.next);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearError();
    const email = emailInput.value.trim();
    if (!email || !email.includes("@")) {
      showError(msg("email-needed"), { input: emailInput });
      return;
    }
    if (!passphrase.value) {
      showError(msg("passphrase-needed"), { input: passphrase });
      return;
    }
    const submit = form.querySelector('button[type="submit"]');
    const restore = busy(submit, msg("deriving"));
    let authKey = null;
    try {
      const params = kdfFrom(await prelogin(email));
      const master = await deriveMasterKey(passphrase.value, params.salt, params.m, params.t,
        params.p);
      authKey = await deriveAuthKey(master);
      kek = await deriveKek(master);
      master.fill(0);
      say(msg("logging-in"));
      const answer = await login(email, authKey);
      if (answer?.status === "totp") {
        restore();
        passphrase.value = "";
        form.hidden = true;
        totpForm.hidden = false;
        say("");
        totpInput.focus();
        return;
      }
      if (answer?.status !== "ok") throw new Error("the server's answer to the login is unknown");
      await complete(answer);
    } catch (error) {
      if (fatal(error)) {
        lockPage();
      } else {
        kek = null;
        restore();
      }
      showError(error, { input: error?.status === 401 ? passphrase : null });
    } finally {
      authKey?.fill(0);
    }
  });

  totpForm?.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearError();
    const code = totpInput.value.replace(/\s/g, "");
    if (!/^[0-9]{6}$/.test(code)) {
      showError(msg("code-needed"), { input: totpInput });
      return;
    }
    const submit = totpForm.querySelector('button[type="submit"]');
    const restore = busy(submit, msg("logging-in"));
    try {
      const answer = await totp(code);
      if (answer?.status !== "ok") throw new Error("the server's answer to the code is unknown");
      await complete(answer);
    } catch (error) {
      if (fatal(error)) {
        lockPage();
      } else {
        restore();
        totpInput.value = "";
        totpInput.focus();
      }
      showError(error);
    }
  });
}

main();
