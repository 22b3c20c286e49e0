"""Choosing the language: the picker in the header, remembered per person (user.locale) and
per session, Accept-Language as the default, and the page really changing with it."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

from app.extensions import babel, db
from app.i18n import LANGUAGE_NAMES, format_month
from app.incidents import choices
from app.incidents.forms import IncidentForm, parse_amount
from app.models import User
from tests.actors import Browser
from tests.conftest import make_app
from tests.incident_data import sealed_incident
from tests.people import org_of

SIX = ("en", "es", "fr", "pt", "ru", "th")


def lang_of(body: str) -> str:
    found = re.search(r'<html lang="([^"]+)"', body)
    assert found, body[:300]
    return found.group(1)


def picked(body: str) -> str:
    """The option the picker shows as chosen."""
    found = re.search(r'<option value="(\w+)" lang="\w+" selected>', body)
    assert found, "the picker shows no chosen language"
    return found.group(1)


def choose(who: Browser, lang: str, target: str | None = "/login") -> str:
    data = {"lang": lang} | ({"next": target} if target is not None else {})
    response = who.post_form("/language", data)
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"]


def saved_locale(email: str) -> str | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(User.locale).where(User.email == email))


@pytest.fixture
def visitor(client: FlaskClient) -> Browser:
    """Someone who is not logged in (the Browser only carries the CSRF token)."""
    return Browser(client, "nobody@example.org")


@pytest.mark.parametrize(("header", "expected"), [
    ("fr-CH, fr;q=0.9, en;q=0.5", "fr"), ("pt-BR", "pt"), ("th-TH", "th"), ("ru", "ru"),
    ("ru;q=0.5, es;q=0.8", "es"), ("de-DE, de", "en"), (None, "en")])
def test_accept_language_chooses_the_default(client: FlaskClient, header: str | None,
                                             expected: str) -> None:
    body = client.get("/login", headers={"Accept-Language": header} if header else {}) \
        .get_data(as_text=True)
    assert lang_of(body) == expected and picked(body) == expected


def test_the_picker_is_a_labelled_form_with_every_language_in_its_own_words(
        client: FlaskClient) -> None:
    body = client.get("/login?from=2026-01").get_data(as_text=True)
    form = body[body.index('<form method="post" action="/language"'):]
    form = form[:form.index("</form>")]
    assert '<label for="language-select">' in form and 'id="language-select"' in form
    assert 'name="csrf_token"' in form and '<button type="submit"' in form
    assert 'name="next" value="/login?from=2026-01"' in html.unescape(form)
    options = re.findall(r'<option value="(\w+)" lang="(\w+)"[^>]*>([^<]+)</option>', form)
    assert [(v, lang, html.unescape(name)) for v, lang, name in options] == [
        (code, code, LANGUAGE_NAMES[code]) for code in SIX]
    assert [LANGUAGE_NAMES[c] for c in SIX] == ["English", "Español", "Français", "Português",
                                                 "Русский", "ไทย"]
    assert "<script" not in form  # works without JavaScript


@pytest.mark.parametrize("lang", SIX)
def test_switching_to_each_language_changes_the_page(visitor: Browser, lang: str) -> None:
    assert choose(visitor, lang) == "/login"
    # The session's choice beats the browser's Accept-Language.
    other = "th" if lang != "th" else "fr"
    body = visitor.get("/login", headers={"Accept-Language": other}).get_data(as_text=True)
    assert lang_of(body) == lang and picked(body) == lang


def test_a_choice_needs_the_csrf_token_and_a_known_language(client: FlaskClient,
                                                           visitor: Browser) -> None:
    assert client.post("/language", data={"lang": "ru", "next": "/login"}).status_code == 400
    assert visitor.post_form("/language", {"lang": "de"}).status_code == 400
    assert visitor.post_form("/language", {"lang": ""}).status_code == 400
    assert lang_of(client.get("/login").get_data(as_text=True)) == "en"


@pytest.mark.parametrize("target", [
    "https://evil.example/login", "//evil.example/login", "///evil.example", "/\\evil.example",
    "\\\\evil.example", "https:/evil.example", "javascript:alert(1)", "evil.example/login",
    "/login\r\nSet-Cookie: x=1", "", None])
def test_the_picker_never_sends_anyone_to_another_site(visitor: Browser,
                                                       target: str | None) -> None:
    location = choose(visitor, "es", target)
    parts = urlsplit(location)
    assert location == "/" and not parts.netloc and not parts.scheme


def test_the_picker_goes_back_to_the_same_page_with_its_query(visitor: Browser) -> None:
    assert choose(visitor, "fr", "/reports/view?from=2026-01&to=2026-03") == \
        "/reports/view?from=2026-01&to=2026-03"


def test_a_logged_in_choice_is_saved_for_the_person_and_wins_everywhere(
        coordinator: Browser, new_browser: Callable[[str], Browser]) -> None:
    assert saved_locale(coordinator.email) is None
    choose(coordinator, "th", "/")
    assert saved_locale(coordinator.email) == "th"
    # Another device: its browser asks for Spanish and its visitor picked Russian before
    # logging in; once logged in, the person's own choice is what counts.
    laptop = new_browser(coordinator.email)
    choose(laptop, "ru")
    assert lang_of(laptop.get("/login").get_data(as_text=True)) == "ru"
    assert laptop.login().status_code == 200
    body = laptop.get("/", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert lang_of(body) == "th" and picked(body) == "th"
    # Logging out keeps the page in the language it was in; quick exit forgets it.
    assert laptop.post_form("/auth/logout", {}).status_code == 302
    assert lang_of(laptop.get("/login").get_data(as_text=True)) == "ru"
    assert laptop.post_form("/quick-exit", {}).status_code == 204
    assert lang_of(laptop.get("/login").get_data(as_text=True)) == "en"


def test_a_choice_made_before_logging_in_is_kept_but_not_saved(
        coordinator: Browser, new_browser: Callable[[str], Browser]) -> None:
    phone = new_browser(coordinator.email)
    choose(phone, "pt")
    assert phone.login().status_code == 200
    assert lang_of(phone.get("/").get_data(as_text=True)) == "pt"
    assert saved_locale(coordinator.email) is None  # saved only when a logged-in person picks


MONTHS = {"en": "March 2026", "es": "marzo de 2026", "fr": "mars 2026", "pt": "março de 2026",
          "ru": "март 2026\u202fг.", "th": "มีนาคม 2026"}


def test_months_and_numbers_follow_the_language(coordinator: Browser) -> None:
    """Babel formats for the chosen language now, translated sentences or not: the incident
    list and page name the month; the amount is written the language's way."""
    kv = max(coordinator.org_keys)
    incident = sealed_incident(coordinator.org_keys[kv], org_of().pid, kv, month="2026-03",
                               amount_confiscated="1850.00", currency="EUR")
    assert coordinator.post_json("/api/v1/incidents", incident).status_code == 201
    amounts = {"en": "€1,850.00", "fr": "1\u202f850,00\u00a0€", "ru": "1\u00a0850,00\u00a0€"}
    for lang, month in MONTHS.items():
        choose(coordinator, lang, "/incidents")
        listed = coordinator.get("/incidents").get_data(as_text=True)
        assert lang_of(listed) == lang and month in listed, (lang, month)
        page = coordinator.get(f"/incidents/{incident['id']}").get_data(as_text=True)
        assert month in page
        if lang in amounts:
            assert amounts[lang] in page, (lang, re.findall(r"1.?850[^<]*", page))


def test_a_translated_catalogue_changes_title_and_heading(migrated_url: str,
                                                         tmp_path: Path) -> None:
    """The wiring from a compiled catalogue to the page: with a .mo that translates
    "Log in", the Spanish login page's <title> and heading come out in Spanish."""
    catalog = Catalog(locale="es")
    catalog.add("Log in", "Iniciar sesión")
    catalog.add("Collateral", "Collateral")
    folder = tmp_path / "es" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / "messages.mo").open("wb") as handle:
        write_mo(handle, catalog)
    app: Flask = make_app(migrated_url, BABEL_TRANSLATION_DIRECTORIES=str(tmp_path))
    # Flask-Babel caches loaded catalogues per language for the whole process (one shared
    # Domain): start and end with an empty cache so no other test sees this one's Spanish.
    cache = babel.domain_instance.cache
    cache.clear()
    try:
        with app.app_context():
            body = app.test_client().get("/login", headers={"Accept-Language": "es"}) \
                .get_data(as_text=True)
            db.engine.dispose()
    finally:
        cache.clear()
        choices.forget_translations()
    assert lang_of(body) == "es"
    assert "<title>Iniciar sesión · Collateral</title>" in body
    assert "<h1>Iniciar sesión</h1>" in body


def test_thai_uses_gregorian_years(app: Flask) -> None:
    """flask-babel's Thai locale writes Gregorian years (2026, not Buddhist-era 2569)."""
    with app.test_request_context(headers={"Accept-Language": "th"}):
        assert format_month("2026-03") == "มีนาคม 2026"
        assert format_month("2026-03", "short") == "มี.ค. 2026"


@pytest.mark.parametrize(("lang", "categories"), [
    ("en", {"one", "other"}), ("ru", {"one", "few", "many"}), ("th", {"other"}),
    ("fr", {"one", "many", "other"})])
def test_counted_script_sentences_come_in_the_languages_plural_forms(
        client: FlaskClient, lang: str, categories: set[str]) -> None:
    """The login page's scripts say "Try again in {minutes} minutes": one attribute per plural
    category of the language, for Intl.PluralRules to choose from (static/js/ui.js)."""
    body = client.get("/login", headers={"Accept-Language": lang}).get_data(as_text=True)
    assert set(re.findall(r'data-retry-after-(\w+)="', body)) == categories


def test_the_language_is_still_chosen_when_the_database_is_gone(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The 503 page for a logged-in person is made while the database is unreachable: the
    language then comes from the session and the browser instead of a 500."""
    from sqlalchemy.exc import OperationalError

    from app.auth import sessions
    from app.i18n import select_locale

    def gone() -> None:
        raise OperationalError("SELECT 1", {}, Exception("no database"))

    monkeypatch.setattr(sessions, "current", gone)
    with app.test_request_context(headers={"Accept-Language": "pt"}):
        assert select_locale() == "pt"


def test_after_a_post_the_picker_returns_to_a_page_that_can_be_opened(
        coordinator: Browser) -> None:
    """A page made by a POST: the picker comes back to the same address when it can be opened
    with GET, else to the home page (never to a 405)."""
    link_page = coordinator.post_form("/org/invites", {"email": "n@example.org",
                                                       "role": "outreach"})
    assert link_page.status_code == 200
    assert 'name="next" value=""' in link_page.get_data(as_text=True)
    refused = coordinator.post_form("/incidents/terms", {"list_name": "nonsense", "label": "x"})
    assert refused.status_code == 400
    assert 'name="next" value="/incidents/terms"' in refused.get_data(as_text=True)


def test_wtforms_messages_come_from_our_catalogue(migrated_url: str, tmp_path: Path) -> None:
    """WTForms' own messages ("Not a valid integer value.") are looked up in the app's
    catalogue, so a form refused in Thai says why in Thai (WTForms ships no Thai)."""
    catalog = Catalog(locale="th")
    catalog.add("Not a valid integer value.", "ไม่ใช่จำนวนเต็ม")
    folder = tmp_path / "th" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / "messages.mo").open("wb") as handle:
        write_mo(handle, catalog)
    app: Flask = make_app(migrated_url, BABEL_TRANSLATION_DIRECTORIES=str(tmp_path))
    with app.app_context():
        cache = babel.domain_instance.cache
    cache.clear()
    try:
        with app.test_request_context(headers={"Accept-Language": "th"}):
            form = IncidentForm(formdata=MultiDict({"people_affected": "many"}),
                                meta={"csrf": False})
            form.validate()
            assert form.people_affected.errors[0] == "ไม่ใช่จำนวนเต็ม"
            db.engine.dispose()
    finally:
        cache.clear()
        choices.forget_translations()


@pytest.mark.parametrize(("lang", "written", "amount"), [
    ("en", "1,850.50", "1850.50"), ("en", "1850.5", "1850.5"), ("fr", "1 850,50", "1850.50"),
    ("fr", "1\u202f850,50", "1850.50"), ("pt", "1.850,50", "1850.50"), ("es", "1.850", "1850"),
    ("ru", "1850,5", "1850.5"), ("th", "1,850.50", "1850.50"), ("es", "12.5", "12.5"),
])
def test_amounts_as_each_language_writes_them(app: Flask, lang: str, written: str,
                                              amount: str) -> None:
    with app.test_request_context(headers={"Accept-Language": lang}):
        assert parse_amount(written) == Decimal(amount)


@pytest.mark.parametrize(("lang", "written"), [
    ("en", "1850,50"), ("en", "1,85"), ("fr", "1.850,50"), ("en", "Infinity"), ("fr", "NaN"),
    ("en", "12abc"), ("en", "-"),
])
def test_an_amount_that_is_not_clear_is_refused(app: Flask, lang: str, written: str) -> None:
    """Strict about grouping: "1850,50" in English could be a typo for either reading."""
    with app.test_request_context(headers={"Accept-Language": lang}):
        with pytest.raises(ValueError):
            parse_amount(written)
        form = IncidentForm(formdata=MultiDict({"amount_confiscated": written}),
                            meta={"csrf": False})
        form.validate()
        assert form.amount_confiscated.errors and "1" in form.amount_confiscated.errors[0]
