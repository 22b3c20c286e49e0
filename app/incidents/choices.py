"""Choices for the coded fields: the vocabulary, the organisation's own terms, and ISO lists
(countries, subdivisions, currencies from pycountry) with names in the reader's language."""

from __future__ import annotations

import gettext
from functools import cache

import pycountry
import sqlalchemy as sa
from flask_babel import get_locale, pgettext

from app.extensions import db
from app.models import Organisation, OrgTerm
from app.vocab import Term, context, load


def _lang() -> str:
    locale = get_locale()
    return locale.language if locale else "en"


@cache
def _iso(domain: str, lang: str) -> gettext.NullTranslations:
    return gettext.translation(domain, pycountry.LOCALES_DIR, languages=[lang], fallback=True)


def countries() -> list[tuple[str, str]]:
    t = _iso("iso3166-1", _lang())
    names = [(c.alpha_2, t.gettext(c.name)) for c in pycountry.countries]
    return sorted(names, key=lambda pair: pair[1])


def country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    return _iso("iso3166-1", _lang()).gettext(country.name) if country else code


def currencies() -> list[tuple[str, str]]:
    t = _iso("iso4217", _lang())
    return sorted(((c.alpha_3, f"{c.alpha_3} — {t.gettext(c.name)}")
                   for c in pycountry.currencies), key=lambda pair: pair[0])


@cache
def subdivision_codes(country: str) -> frozenset[str]:
    found = pycountry.subdivisions.get(country_code=country)  # type: ignore[no-untyped-call]
    return frozenset(s.code for s in found or ())


def is_country(code: str) -> bool:
    return pycountry.countries.get(alpha_2=code) is not None


def is_currency(code: str) -> bool:
    return pycountry.currencies.get(alpha_3=code) is not None


def org_terms(org: Organisation, list_name: str) -> list[OrgTerm]:
    return list(db.session.scalars(sa.select(OrgTerm).where(
        OrgTerm.org_id == org.id, OrgTerm.list_name == list_name).order_by(OrgTerm.label)))


def vocab_choices(name: str, org: Organisation | None = None) -> list[tuple[str, str]]:
    """(code, translated label) pairs, with the organisation's own terms for extensible lists."""
    pairs = [(t.code, term_label(name, t)) for t in load().lists[name]]
    if org is not None and name in ("instruments", "actors"):
        pairs += [(t.code, t.label) for t in org_terms(org, name)]
    return pairs


def label(name: str, code: str | None, org: Organisation | None = None) -> str:
    if not code:
        return ""
    return dict(vocab_choices(name, org)).get(code, code)


def descriptions(name: str) -> dict[str, str]:
    return {t.code: term_description(name, t) for t in load().lists[name]}


def term_label(name: str, term: Term) -> str:
    """A vocabulary label in the reader's language (extracted by app.vocab.extract_vocab)."""
    return str(pgettext(context(name), term.label))


def term_description(name: str, term: Term) -> str:
    return str(pgettext(context(name), term.description))
