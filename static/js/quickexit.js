// Quick exit: the button in the header, or Escape pressed three times within two seconds.
// It tells page scripts to drop their keys, wipes the keys kept in IndexedDB, asks the server
// to forget the session, hides the page at once and replaces it with a neutral site.
const EXIT_EVENT = "collateral:quick-exit";
const KEY_DATABASE = "collateral";
const ESCAPES_NEEDED = 3;
const ESCAPE_WINDOW_MS = 2000;

const exitUrl = document.documentElement.dataset.quickExitUrl || "about:blank";
let leaving = false;

export function quickExit() {
  if (leaving) return;
  leaving = true;
  // Page modules listen for this and forget every CryptoKey they hold.
  document.dispatchEvent(new CustomEvent(EXIT_EVENT));
  try {
    indexedDB.deleteDatabase(KEY_DATABASE);
  } catch {
    // IndexedDB may be unavailable (private mode); there is then nothing stored to wipe.
  }
  const token = document.querySelector('meta[name="csrf-token"]')?.content ?? "";
  const body = new FormData();
  body.append("csrf_token", token);
  navigator.sendBeacon("/quick-exit", body);
  document.title = "";
  document.body.replaceChildren();
  // replace(): the Collateral page does not stay as the current history entry.
  window.location.replace(exitUrl);
}

const button = document.getElementById("quick-exit");
button?.addEventListener("click", (event) => {
  event.preventDefault();
  quickExit();
});

let escapes = [];
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const now = performance.now();
  escapes = escapes.filter((t) => now - t < ESCAPE_WINDOW_MS);
  escapes.push(now);
  if (escapes.length >= ESCAPES_NEEDED) quickExit();
});
