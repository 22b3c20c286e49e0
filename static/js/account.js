// /account: the member's own key fingerprint, computed here from the private key this session
// opened (never a fingerprint text from the server), to compare with a coordinator's screen.

import { loadKeyring } from "./keyring.js";
import { fingerprint } from "./sealing.js";
import { showError, startPage } from "./ui.js";

async function main() {
  if (!startPage({ storage: true })) return;
  const output = document.getElementById("fingerprint");
  try {
    const keyring = await loadKeyring();
    if (output) output.textContent = await fingerprint(keyring.publicRaw);
  } catch (error) {
    if (output) output.textContent = "—";
    showError(error);
  }
}

main();
