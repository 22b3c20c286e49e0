// Registration and recovery share one flow (docs/accounts-api.md "Registration", "Recovery"):
// check the fields, derive the master key from the passphrase (Argon2id), make the member key
// pair, seal its private key under the KEK, for a new organisation make ODK v1 and the recovery
// key (and show the recovery code once), POST, then log in with the same auth key and keep the
// member key for this session. recover.js adds its own steps through `hooks`.
//
// The passphrase inputs have no name attribute and are never sent; neither is the master key,
// the KEK, an org data key or the recovery scalar.

import { postJson } from "./api.js";
import { finishLogin, login } from "./auth.js";
import { KeyringError, onForget } from "./keyring.js";
import {
  b64uDecode,
  b64uEncode,
  deriveAuthKey,
  deriveKek,
  deriveMasterKey,
  exportPublicRaw,
  generateMemberKeyPair,
  generateOrgKey,
  generateRecoveryScalar,
  recoveryCode,
  recoveryPublicRaw,
  wrapMemberKey,
  wrapOrgKey,
} from "./sealing.js";
import { attachMeter, passphraseProblem } from "./strength.js";
import {
  busy, clearError, go, intFrom, msg, pageData, safePath, say, showError, startPage, UserError,
} from "./ui.js";

const FIRST_KV = 1;
// Server error `field` → the input to focus.
const FIELD_INPUTS = { email: "email", display_name: "display-name", recovery: "recovery-code" };
const LOGIN_PAGE = "/login";

const $ = (id) => document.getElementById(id);

/** Two different group numbers (1-based) of a recovery code with `count` groups. */
function twoGroups(count) {
  const pick = () => 1 + (crypto.getRandomValues(new Uint32Array(1))[0] % count);
  const first = pick();
  let second = pick();
  while (second === first) second = pick();
  return first < second ? [first, second] : [second, first];
}

const normaliseGroup = (text) => text.replace(/[\s-]/g, "").toUpperCase();

/**
 * Show the recovery code once and wait until the person has typed back the two groups asked
 * for and ticked that they keep it. Resolves then; the code is not shown again on this page.
 */
function recoveryCeremony(code, hide) {
  const box = $("recovery");
  const list = $("recovery-groups");
  const check = $("recovery-check");
  const first = $("recovery-group-first");
  const second = $("recovery-group-second");
  const kept = $("recovery-kept");
  const groups = code.split("-");
  list.replaceChildren(...groups.map((group) => {
    const item = document.createElement("li");
    item.textContent = group;
    return item;
  }));
  const [a, b] = twoGroups(groups.length);
  $("recovery-check-label").textContent = msg("recovery-groups", { first: a, second: b });
  $("recovery-group-first-label").textContent = String(a);
  $("recovery-group-second-label").textContent = String(b);
  first.value = "";
  second.value = "";
  kept.checked = false;
  hide.hidden = true;
  box.hidden = false;
  box.querySelector("h2")?.focus();
  $("print-recovery")?.addEventListener("click", () => window.print());

  return new Promise((resolve) => {
    const onSubmit = (event) => {
      event.preventDefault();
      clearError();
      if (normaliseGroup(first.value) !== groups[a - 1]
          || normaliseGroup(second.value) !== groups[b - 1]) {
        showError(msg("recovery-mismatch"), { input: first });
        return;
      }
      if (!kept.checked) {
        showError(msg("recovery-confirm-needed"), { input: kept });
        return;
      }
      check.removeEventListener("submit", onSubmit);
      list.replaceChildren(); // shown once: not left in the page
      box.hidden = true;
      resolve();
    };
    check.addEventListener("submit", onSubmit);
  });
}

/**
 * hooks (all optional, used by recover.js):
 *   validate()                      → a sentence when a field of its own is missing, else null
 *   prepare()                       → state, before Argon2 (fails fast on a wrong code)
 *   extend(state, {pair, userId, orgId}) → more body fields
 *   forget(state)                   → wipe what prepare() made
 */
export function setupEnrolment(hooks = {}) {
  if (!startPage({ wasm: true, storage: true })) return;
  const page = pageData();
  const form = $("register-form");
  const emailInput = $("email");
  const nameInput = $("display-name");
  const passphrase = $("passphrase");
  const again = $("passphrase-again");
  const submit = form?.querySelector('button[type="submit"]');
  const fieldset = form?.querySelector("fieldset");

  let kdf;
  let salt;
  try {
    salt = b64uDecode(page.salt);
    if (salt.length !== 16) throw new Error("the salt must be 16 bytes");
    kdf = { m: intFrom(page["kdf-m"], "kdf-m"), t: intFrom(page["kdf-t"], "kdf-t"),
      p: intFrom(page["kdf-p"], "kdf-p") };
    if (!page["user-id"] || !page["post-url"]) throw new Error("the page data is incomplete");
  } catch (error) {
    if (fieldset) fieldset.disabled = true;
    showError(error);
    return;
  }
  const userId = page["user-id"];
  const orgId = page["org-id"];
  const createsOrgKeys = page["creates-org-keys"] === "1";

  let orgSetup = null; // ODK v1 and the recovery wrap, kept across attempts: one code, shown once
  let state = null; // what hooks.prepare() made for this attempt
  const wipe = () => {
    orgSetup?.odk.fill(0);
    orgSetup = null;
    if (state !== null) hooks.forget?.(state);
    state = null;
  };
  onForget(wipe);

  const email = () => (page.email || emailInput?.value || "").trim();
  attachMeter(passphrase, () => [email(), nameInput?.value ?? "", page["org-name"] ?? "",
    "collateral"]);

  function problem() {
    const address = email();
    if (!address || !address.includes("@")) return [msg("email-needed"), emailInput];
    if (!nameInput.value.trim()) return [msg("name-needed"), nameInput];
    const own = hooks.validate?.();
    if (own) return own;
    if (!passphrase.value) return [msg("passphrase-needed"), passphrase];
    if (passphrase.value !== again.value) return [msg("passphrase-mismatch"), again];
    return null;
  }

  let accountMade = false;

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearError();
    if (accountMade) return;
    const found = problem();
    if (found) {
      showError(found[0], { input: found[1] ?? null });
      return;
    }
    let restore = busy(submit, msg("working"));
    let pair = null;
    let authKey = null;
    try {
      const userInputs = [email(), nameInput.value, page["org-name"] ?? "", "collateral"];
      const weak = await passphraseProblem(passphrase.value, userInputs);
      if (weak) throw new UserError(weak, passphrase);
      if (hooks.prepare && state === null) state = await hooks.prepare();

      restore();
      restore = busy(submit, msg("deriving"));

      const master = await deriveMasterKey(passphrase.value, salt, kdf.m, kdf.t, kdf.p);
      authKey = await deriveAuthKey(master);
      const kek = await deriveKek(master);
      master.fill(0);

      say(msg("making-keys"));
      pair = await generateMemberKeyPair();
      const publicRaw = await exportPublicRaw(pair.publicKey);
      const wrappedPrivateKey = await wrapMemberKey(kek, userId, pair.privateKey);

      let orgKeys = null;
      if (createsOrgKeys) {
        if (orgSetup === null) {
          const scalar = generateRecoveryScalar();
          const recoveryPublic = await recoveryPublicRaw(scalar);
          const code = await recoveryCode(scalar);
          scalar.fill(0);
          const odk = generateOrgKey();
          const recoveryWrap = await wrapOrgKey(odk, recoveryPublic, orgId, FIRST_KV,
            "recovery", "org-key-recovery");
          orgSetup = { odk, code, recoveryPublic: b64uEncode(recoveryPublic), recoveryWrap };
        }
        orgKeys = {
          kv: FIRST_KV,
          wrapped: await wrapOrgKey(orgSetup.odk, pair.publicKey, orgId, FIRST_KV, userId),
          recovery_public_key: orgSetup.recoveryPublic,
          recovery_wrap: orgSetup.recoveryWrap,
        };
        if (orgSetup.code !== null) {
          restore();
          say("");
          await recoveryCeremony(orgSetup.code, form);
          orgSetup.code = null;
          restore = busy(submit, msg("sending"));
        }
      }

      const extra = hooks.extend ? await hooks.extend(state, { pair, userId, orgId }) : {};
      const body = {
        email: email(),
        display_name: nameInput.value.trim(),
        salt: page.salt,
        kdf,
        auth_key: b64uEncode(authKey),
        public_key: b64uEncode(publicRaw),
        wrapped_private_key: wrappedPrivateKey,
        org_keys: orgKeys,
        ...extra,
      };
      say(msg("sending"));
      const created = await postJson(page["post-url"], body);
      accountMade = true;
      wipe();

      // Log in with the same auth key: POST to the 201 answer's login_url (the JSON login
      // endpoint, as data-login-url). Should that not end in "ok", the login page takes over.
      say(msg("logging-in"));
      try {
        const endpoint = safePath(created?.login_url || page["login-url"], "/auth/login");
        const answer = await login(body.email, authKey, endpoint);
        if (answer?.status !== "ok") {
          go(LOGIN_PAGE);
          return;
        }
        await finishLogin(async () => pair.privateKey);
        say(msg("done-redirecting"));
        go(answer.next);
      } catch (error) {
        if (error instanceof KeyringError) {
          showError(error.message);
        } else {
          showError(msg("registered-login-failed"));
          const link = document.createElement("a");
          link.href = LOGIN_PAGE;
          link.textContent = ` ${msg("log-in-link")}`;
          $("page-alert")?.append(" ", link);
        }
      }
    } catch (error) {
      form.hidden = false;
      // What prepare() made is made again on the next attempt (the code may be corrected).
      if (state !== null) hooks.forget?.(state);
      state = null;
      if (!accountMade) restore();
      showError(error, { input: error?.input ?? $(FIELD_INPUTS[error?.field] ?? "") });
    } finally {
      authKey?.fill(0);
      pair = null;
      if (accountMade) submit.disabled = true;
    }
  });
}
