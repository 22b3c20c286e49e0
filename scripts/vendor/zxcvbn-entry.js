// Entry point for the zxcvbn-ts browser bundle (scripts/vendor.sh runs esbuild on it): the
// passphrase strength meter of the register, recover and change-passphrase pages.
// language-common brings the common-password and diceware lists and the keyboard graphs. Of
// language-en only the feedback sentences are taken: its word lists would add 1.2 MB to every
// page that has a meter, for one language of the six the interface speaks.
export { ZxcvbnFactory } from "@zxcvbn-ts/core";
export { adjacencyGraphs, dictionary as commonDictionary } from "@zxcvbn-ts/language-common";
export { default as enTranslations } from "@zxcvbn-ts/language-en/dist/translations.mjs";
