// Error summaries (templates/_macros/forms.html, and the ones page scripts make with
// ui.js showSummary): a page sent back with mistakes puts the focus on its summary, so a
// screen reader reads it first and a keyboard user starts there; each link in it puts the
// cursor in its field (a plain #link would only scroll to it) and shows the field's label.

const CONTROLS = "input:not([type=hidden]), select, textarea, button";

/** The control a summary link points at: the element itself, or the first control in it. */
function controlFor(target) {
  if (target.matches(CONTROLS)) return target;
  return target.querySelector(CONTROLS) ?? target;
}

export function focusField(id) {
  const target = document.getElementById(id);
  if (!target) return false;
  const control = controlFor(target);
  const label = control.id ? document.querySelector(`label[for="${CSS.escape(control.id)}"]`) : null;
  const legend = control.closest("fieldset")?.querySelector("legend");
  control.focus({ preventScroll: true });
  (label ?? legend ?? control).scrollIntoView({ block: "start" });
  return document.activeElement === control;
}

document.addEventListener("click", (event) => {
  const link = event.target instanceof Element
    ? event.target.closest(".error-summary a[href^='#']") : null;
  if (!link) return;
  if (focusField(decodeURIComponent(link.hash.slice(1)))) event.preventDefault();
});

const summary = document.querySelector(".error-summary");
if (summary) summary.focus();
