// /research/requests/<id>: open an extract sealed to this researcher, here in the browser
// (CRYPTO.md, Sealed exports), and save the plaintext as a file. Nothing is sent back.

import { loadKeyring } from "./keyring.js";
import { openExport } from "./sealing.js";
import { busy, pageData, say, showError, startPage } from "./ui.js";

async function openAndSave(url, name, userId) {
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`the server answered ${response.status}`);
  const sealed = new Uint8Array(await response.arrayBuffer());
  const keyring = await loadKeyring();
  const plain = await openExport(sealed, keyring.privateKey, userId);
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([plain], { type: "application/octet-stream" }));
  link.download = name;
  link.id = `saved-${name.replace(/\W/g, "-")}`;
  link.textContent = name;
  document.getElementById("page-status")?.append(link, " ");
  link.click();
  return plain;
}

function main() {
  if (!startPage({ storage: true })) return;
  const page = pageData();
  for (const [button, url, name] of [["open-data", page["data-url"], "extract.csv"],
    ["open-dictionary", page["dictionary-url"], "dictionary.json"]]) {
    document.getElementById(button)?.addEventListener("click", async (event) => {
      const done = busy(event.currentTarget);
      try {
        await openAndSave(url, name, page["user-id"]);
        say(`${name} ✓`);
      } catch (error) {
        showError(error);
      } finally {
        done();
      }
    });
  }
}

main();
