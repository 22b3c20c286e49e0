// /org/members/<id> (docs/accounts-api.md "Members"): the member's key fingerprint, computed
// here from data-public-key (a fingerprint text from the server is never trusted), and the
// confirmation: after comparing fingerprints out of band, every existing org key version is
// wrapped to the member's public key in this browser ([] for an analyst). Remove and demote are
// in rotate.js.

import { postJson } from "./api.js";
import { loadKeyring, onForget } from "./keyring.js";
import { b64uDecode, fingerprint, wrapOrgKey } from "./sealing.js";
import { busy, clearError, go, msg, pageData, say, showError, startPage, UserError } from "./ui.js";

const $ = (id) => document.getElementById(id);

/** "1,2,3" → [1, 2, 3]; throws on anything else. */
export function parseKvList(text) {
  const parts = (text ?? "").split(",").map((p) => p.trim()).filter((p) => p !== "");
  const list = parts.map((p) => {
    if (!/^[1-9][0-9]*$/.test(p)) throw new Error("data-kv-list is not a list of key versions");
    return Number(p);
  });
  return [...new Set(list)].sort((a, b) => a - b);
}

async function main() {
  if (!startPage({ storage: true })) return;
  const page = pageData();
  const memberId = page["member-id"];
  const output = $("fingerprint");

  let memberPublic = null;
  if (page["public-key"]) {
    try {
      memberPublic = b64uDecode(page["public-key"]);
      output.textContent = await fingerprint(memberPublic);
    } catch (error) {
      memberPublic = null;
      showError(error);
    }
  } else if (output) {
    output.textContent = msg("fingerprint-missing");
  }

  const button = $("confirm-member");
  const matches = $("fingerprint-matches");
  let keyring = null;
  onForget(() => { keyring = null; });

  button?.addEventListener("click", async (event) => {
    event.preventDefault();
    clearError();
    if (!memberPublic) {
      showError(msg("fingerprint-missing"));
      return;
    }
    if (matches && !matches.checked) {
      showError(msg("fingerprint-check-needed"), { input: matches });
      return;
    }
    const restore = busy(button, msg("wrapping"));
    try {
      const wraps = [];
      if (page.role !== "analyst") {
        keyring = await loadKeyring();
        const orgId = page["org-id"];
        if (!keyring.org || keyring.org.id !== orgId) throw new UserError(msg("no-org-key"));
        for (const kv of parseKvList(page["kv-list"])) {
          const odk = await keyring.orgKeyBytes(kv);
          try {
            wraps.push({ kv, wrapped: await wrapOrgKey(odk, memberPublic, orgId, kv, memberId) });
          } finally {
            odk.fill(0);
          }
        }
      }
      say(msg("sending"));
      const answer = await postJson(page["confirm-url"], { wraps });
      say(msg("confirmed"));
      button.hidden = true;
      go(answer?.next ?? window.location.pathname);
    } catch (error) {
      restore();
      showError(error);
    }
  });
}

main();
