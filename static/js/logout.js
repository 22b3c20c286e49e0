// Every logout form (#logout-form in the header, <form data-logout>, and the forms that post to
// /auth/logout or /auth/logout-everywhere): delete the keys kept on this device and forget the
// ones in memory, then let the form go to the server, which ends the session.

import { clearKeyring } from "./keyring.js";

const WAIT_AT_MOST_MS = 2000;
const SELECTOR = [
  "form#logout-form",
  "form[data-logout]",
  'form[action$="/auth/logout"]',
  'form[action$="/auth/logout-everywhere"]',
].join(", ");

for (const form of document.querySelectorAll(SELECTOR)) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const button of form.querySelectorAll("button")) button.disabled = true;
    // Never keep the person from logging out: after two seconds the form goes anyway.
    await Promise.race([
      clearKeyring(),
      new Promise((resolve) => { setTimeout(resolve, WAIT_AT_MOST_MS); }),
    ]);
    form.submit(); // does not fire "submit" again
  });
}
