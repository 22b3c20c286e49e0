// The login requests of docs/accounts-api.md "Login", shared by the login, registration and
// recovery pages, and the last step of every login: open the keyring and keep the member key.

import { postJson } from "./api.js";
import { fetchKeyring, storeMemberKey } from "./keyring.js";
import { b64uEncode } from "./sealing.js";
import { pageUrl } from "./ui.js";

// The contract's paths; a page's data-prelogin-url, data-login-url, data-totp-url win.
const PRELOGIN_URL = "/auth/prelogin";
const LOGIN_URL = "/auth/login";
const TOTP_URL = "/auth/totp";

/** {salt, kdf: {m, t, p}} for an e-mail address (a stable fake one for an unknown address). */
export const prelogin = (email) => postJson(pageUrl("prelogin-url", PRELOGIN_URL), { email });

/** {status: "ok", next} | {status: "totp"}; 401/429 throw an ApiError. */
export const login = (email, authKey, url = pageUrl("login-url", LOGIN_URL)) =>
  postJson(url, { email, auth_key: b64uEncode(authKey) });

export const totp = (code) => postJson(pageUrl("totp-url", TOTP_URL), { code });

/**
 * After the server said "ok": fetch the keyring, get the member's private key (extractable, from
 * the KEK or freshly made) through `privateKeyFor(keyring)`, check it and keep it sealed under the
 * session key. Throws KeyringError("mismatch") on a public-key mismatch; nothing is stored then.
 */
export async function finishLogin(privateKeyFor) {
  const keyring = await fetchKeyring();
  const privateKey = await privateKeyFor(keyring);
  await storeMemberKey(privateKey, keyring);
  return keyring;
}
