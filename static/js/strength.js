// The passphrase rule and strength meter (docs/accounts-api.md "Registration"): at least 4 words
// of 3+ letters each, or at least 14 characters, and a zxcvbn score of 3 or more. The meter
// writes a sentence into #strength (aria-live) and a score into the bar's data-score for CSS.
// zxcvbn (static/vendor/zxcvbn, ~0.5 MB) is loaded on first use, not before the page shows.

import { msg } from "./ui.js";

const MIN_SCORE = 3;
const MIN_WORDS = 4;
const MIN_WORD_LETTERS = 3;
const MIN_CHARACTERS = 14;

let factory = null;

function estimator() {
  factory ??= import("../vendor/zxcvbn/zxcvbn.esm.js").then((m) => new m.ZxcvbnFactory({
    dictionary: m.commonDictionary,
    graphs: m.adjacencyGraphs,
    translations: m.enTranslations,
  }));
  factory.catch(() => { factory = null; });
  return factory;
}

/** Start loading zxcvbn in the background (errors surface when it is used). */
export function preload() {
  estimator().catch(() => {});
}

/** Long enough: 4 words of 3+ letters, or 14 characters. */
export function longEnough(passphrase) {
  const text = passphrase.normalize("NFKC");
  const words = text.split(/[^\p{L}\p{M}]+/u).filter((w) => [...w].length >= MIN_WORD_LETTERS);
  return words.length >= MIN_WORDS || [...text].length >= MIN_CHARACTERS;
}

/**
 * {score, ok, message, hint}: message is a plain sentence for #strength, hint an English
 * suggestion from zxcvbn (shown only on English pages). Throws when zxcvbn cannot load.
 */
export async function assess(passphrase, userInputs = []) {
  if (!passphrase) return { score: -1, ok: false, message: msg("strength-empty"), hint: "" };
  const zxcvbn = await estimator();
  const inputs = userInputs.filter((x) => typeof x === "string" && x.trim() !== "");
  const result = zxcvbn.check(passphrase, inputs);
  const score = result.score;
  const long = longEnough(passphrase);
  const ok = long && score >= MIN_SCORE;
  let message = msg(`strength-${score}`);
  if (!long) message = `${msg("strength-short")} ${score >= MIN_SCORE ? "" : message}`.trim();
  const feedback = [result.feedback?.warning, ...(result.feedback?.suggestions ?? [])]
    .filter((x) => typeof x === "string" && x);
  return { score, ok, message, hint: ok ? "" : (feedback[0] ?? "") };
}

/** The sentence to show when a passphrase is refused at submit time, or null when it is fine. */
export async function passphraseProblem(passphrase, userInputs = []) {
  if (!passphrase) return msg("passphrase-needed");
  if (!longEnough(passphrase)) return msg("passphrase-short");
  let result;
  try {
    result = await assess(passphrase, userInputs);
  } catch {
    return msg("strength-unavailable");
  }
  return result.ok ? null : msg("passphrase-weak");
}

/**
 * Attach the meter to a passphrase input. `userInputs()` returns words the passphrase must not
 * lean on (e-mail, name, organisation). Returns nothing; errors are shown in #strength.
 */
export function attachMeter(input, userInputs = () => []) {
  const output = document.getElementById("strength");
  const bar = document.getElementById("strength-bar");
  if (!input || !output) return;
  const english = (document.documentElement.lang || "en").toLowerCase().startsWith("en");
  let timer = null;
  let seq = 0;

  const show = (score, text) => {
    output.textContent = text;
    if (bar) bar.dataset.score = String(score);
  };

  const update = async () => {
    const mine = ++seq;
    const value = input.value;
    if (!value) {
      show(-1, msg("strength-empty"));
      return;
    }
    if (!factory) output.textContent = msg("strength-checking");
    try {
      const result = await assess(value, userInputs());
      if (mine !== seq) return; // a later keystroke has its own answer
      show(result.score, english && result.hint ? `${result.message} ${result.hint}` : result.message);
    } catch {
      if (mine === seq) show(-1, msg("strength-unavailable"));
    }
  };

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(update, 150);
  });
  input.addEventListener("focus", preload, { once: true });
  show(-1, msg("strength-empty"));
}
