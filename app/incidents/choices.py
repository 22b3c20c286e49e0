"""Choices for the coded fields: the vocabulary, the organisation's own terms, and ISO lists
(countries, subdivisions, currencies from pycountry) with names in the reader's language."""

from __future__ import annotations

import gettext
import unicodedata
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


# The ISO lists and the vocabulary's labels are the same for every request in one language:
# made once per language and process, not for every form (they were a third of the CPU
# time of saving an incident; see bench/request_cost.py).

def countries() -> list[tuple[str, str]]:
    return list(_countries(_lang()))


@cache
def _countries(lang: str) -> tuple[tuple[str, str], ...]:
    t = _iso("iso3166-1", lang)
    names = [(c.alpha_2, t.gettext(c.name)) for c in pycountry.countries]
    return tuple(sorted(names, key=lambda pair: alphabetical(pair[1])))


def alphabetical(text: str) -> str:
    """A sort key that files "Bélgica" under B before "Bután" (code point order would put é
    after every unaccented letter): case and accents set aside."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", text.casefold())
                   if not unicodedata.combining(ch))


def forget_translations() -> None:
    """Drop the lists made in each language (for tests that swap the catalogues)."""
    for made in (_countries, _country_names, _currencies, _vocab_pairs):
        made.cache_clear()


def country_names() -> dict[str, str]:
    """Code -> name in the reader's language (the same dict for every request: read only)."""
    return _country_names(_lang())


@cache
def _country_names(lang: str) -> dict[str, str]:
    return dict(_countries(lang))


def country_name(code: str) -> str:
    return _country_names(_lang()).get(code, code)


def currencies() -> list[tuple[str, str]]:
    return list(_currencies(_lang()))


@cache
def _currencies(lang: str) -> tuple[tuple[str, str], ...]:
    t = _iso("iso4217", lang)
    return tuple(sorted(((c.alpha_3, f"{c.alpha_3} — {t.gettext(c.name)}")
                         for c in pycountry.currencies), key=lambda pair: pair[0]))


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
    pairs = list(_vocab_pairs(name, _lang()))
    if org is not None and name in ("instruments", "actors"):
        pairs += [(t.code, t.label) for t in org_terms(org, name)]
    return pairs


@cache
def _vocab_pairs(name: str, lang: str) -> tuple[tuple[str, str], ...]:
    """(code, label in `lang`): called within a request in that language (flask_babel)."""
    return tuple((t.code, term_label(name, t)) for t in load().lists[name])


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
