"""What the incident form says next to each coded field: one plain sentence for a field, or
the vocabulary's one-line description under each choice. The longer explanations (what
counts as a raid, the 4P areas, consent) are in templates/_macros/help.html."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from . import choices

# Lists whose choices each get their one-line description on the form.
DESCRIBED = ("kinds", "four_p", "instruments", "work_settings", "sources", "consent", "statuses")

HINTS = {
    "instrument": _l("The law, policy or operation behind the harm, if you know it. A "
                     "coordinator can add your own (a named law or police operation) under "
                     "“Our terms”."),
    "actors": _l("Everyone who took part in the harm; tick more than one if needed."),
    "country": _l("Where it happened."),
    "region": _l("Leave it empty in a small place, where the region alone could point to "
                 "the person."),
    "groups": _l("What applies to the people affected. These answers are only ever counted; "
                 "leave out what you do not know."),
    "people_affected": _l("How many people this incident harmed, including the person who "
                          "told you."),
    "amount_confiscated": _l("Money taken, in total. List what else was taken in the sealed "
                             "field below."),
    "currency": _l("The currency the money was in. Reports add up each currency on its "
                   "own and never convert."),
    "days_detained": _l("How many days someone was held: police custody, immigration "
                        "detention, or a shelter they could not leave. Write 0 for less than "
                        "a day."),
}


def form_help() -> dict[str, Any]:
    """The `help` dict templates/_macros/incidents.html reads: field name → sentence, list
    name → {code: description}."""
    described: dict[str, Any] = {name: choices.descriptions(name) for name in DESCRIBED}
    return described | {name: str(text) for name, text in HINTS.items()}
