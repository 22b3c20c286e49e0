"""Languages: which one a request is served in, the picker that changes it, and the Babel
formatting of numbers, months, dates and money for that language (docs/translating.md).

Order of precedence: a logged-in person's saved choice (`user.locale`), then the choice kept
in the session (anyone, logged in or not), then the browser's Accept-Language, then English.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from urllib.parse import urlsplit

from babel import Locale
from babel.dates import format_skeleton
from flask import Flask, current_app, has_request_context, render_template_string, request, session
from flask_babel import (
    format_currency,
    format_date,
    format_datetime,
    format_decimal,
    get_locale,
)
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import babel, db

SESSION_KEY = "lang"
# Each language named in its own language, so that someone who cannot read the current one
# still finds theirs. Never translated.
LANGUAGE_NAMES = {"en": "English", "es": "Español", "fr": "Français", "pt": "Português",
                  "ru": "Русский", "th": "ไทย"}


def languages() -> tuple[str, ...]:
    return tuple(current_app.config["LANGUAGES"])


def select_locale() -> str | None:
    if not has_request_context():
        return None  # the CLI and background work: the default locale
    from app.auth import sessions  # imports this module

    allowed = languages()
    # The login session of this request (cached in the request's environ), not Flask-Login's
    # current_user, which would cache on g and outlive a test's outer request context.
    try:
        row = sessions.current()
    except SQLAlchemyError:
        # The database is gone (the 503 page is being made): the session and the browser
        # still say which language to apologise in.
        db.session.rollback()
        row = None
    saved = row.user.locale if row is not None else None
    if saved in allowed:
        return str(saved)
    chosen = session.get(SESSION_KEY)
    if chosen in allowed:
        return str(chosen)
    return request.accept_languages.best_match(allowed) or str(
        current_app.config["BABEL_DEFAULT_LOCALE"])


def current_lang() -> str:
    locale = get_locale()
    return locale.language if locale else "en"


def safe_target(target: str | None, fallback: str) -> str:
    """A path on this site to go back to after a choice, never another site: only a path that
    starts with one slash, without scheme or host (no open redirect through the picker)."""
    if not target or not target.startswith("/") or target.startswith("//") \
            or "\\" in target or any(ord(ch) < 32 for ch in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return fallback
    return parts.path + (f"?{parts.query}" if parts.query else "")


ERROR_PAGE = "collateral.error_page"  # set in the WSGI environ by app/errors.py


def here() -> str:
    """The current page's path and query, for the picker's hidden `next` field; "" (home)
    for a page made by a POST to an address that cannot be opened with GET, and for error
    pages, which repeat nothing of the request (its path may hold what someone typed)."""
    if request.environ.get(ERROR_PAGE):
        return ""
    rule = request.url_rule
    if request.method not in ("GET", "HEAD") and (rule is None or "GET" not in
                                                   (rule.methods or ())):
        return ""
    query = request.query_string.decode("latin-1")
    return request.path + (f"?{query}" if query else "")


# Formatting for the reader's language. Data files (CSV, XLSX cells, research extracts) keep
# machine-readable values and do not use these.

def format_month(month: str | None, width: str = "long") -> str:
    """'2026-03' as the month's name and year: "March 2026", "marzo de 2026", "март 2026 г.",
    "มีนาคม 2026" (Gregorian years in Thai too). `width` "short" gives "Mar 2026"."""
    if not month:
        return ""
    try:
        first = date(int(month[:4]), int(month[5:7]), 1)
    except ValueError:
        return month
    locale = get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"]
    return str(format_skeleton("yMMMM" if width == "long" else "yMMM", first, locale=locale))


def format_number(value: int | float | Decimal | None) -> str:
    return "" if value is None else str(format_decimal(value))


def format_money(value: Decimal | float | str | None, currency: str | None) -> str:
    """An amount in its currency, written the reader's way (€1,850.00; 1 850,00 €)."""
    if value is None or value == "":
        return ""
    if not currency:
        return str(format_decimal(Decimal(str(value)), format="#,##0.00"))
    return str(format_currency(Decimal(str(value)), currency))


def format_when(value: datetime | None) -> str:
    """A moment (UTC, the app's Babel time zone) with its date spelled out: 4 Mar 2026, 13:05."""
    return "" if value is None else str(format_datetime(value, "medium"))


def format_day(value: date | datetime | None) -> str:
    return "" if value is None else str(format_date(value, "medium"))


# Integers that reach every plural category of the six languages (CLDR): 1 "one", 2 "few" in
# Russian, 5 "many" in Russian, 1000000 "many" in French, Spanish and Portuguese, ...
PLURAL_SAMPLES = (1, 2, 5, 0, 11, 21, 22, 100, 101, 1000000)


def plural_samples() -> list[tuple[str, int]]:
    """(CLDR plural category, an integer in it) for the page's language. The page scripts'
    counted sentences are rendered once per category with ngettext, and the script picks one
    with Intl.PluralRules (static/js/ui.js msgCount)."""
    locale = get_locale() or Locale.parse(current_app.config["BABEL_DEFAULT_LOCALE"])
    found: dict[str, int] = {}
    for n in PLURAL_SAMPLES:
        found.setdefault(locale.plural_form(n), n)
    return list(found.items())


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals.update(current_lang=current_lang, language_names=LANGUAGE_NAMES,
                                 here=here, plural_samples=plural_samples)
    app.jinja_env.filters.update(month=format_month, number=format_number, money=format_money,
                                 when=format_when, day=format_day)
    app.jinja_env.globals["cached_js_messages"] = cached_js_messages


MESSAGES_BODY = ('{% from "_macros/messages.html" import js_messages_body %}'
                 "{{ js_messages_body(incidents=incidents, selftest=selftest) }}")


def cached_js_messages(incidents: bool = False, selftest: bool = False) -> Markup:
    """The sentences the page scripts show (templates/_macros/messages.html), in the reader's
    language: the same for every request in that language, so rendered once per process."""
    cache: dict[tuple[str, bool, bool], Markup] = current_app.extensions.setdefault(
        "collateral.js_messages", {})
    key = (current_lang(), bool(incidents), bool(selftest))
    if key not in cache:
        body = render_template_string(MESSAGES_BODY, incidents=bool(incidents),
                                      selftest=bool(selftest))
        cache[key] = Markup(body)  # noqa: S704  # nosec B704 - autoescaped template, no input
    return cache[key]
