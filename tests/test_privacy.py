"""Privacy of operation: what the log filter removes, error pages without stack traces, the
session cookie's flags, and a new session (server row and cookie) at every login."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from app.extensions import db
from app.logprivacy import Scrub, scrub
from app.models import LoginSession
from tests.actors import Browser
from tests.conftest import make_app
from tests.people import make_coordinator

COOKIE = "collateral_session"
RID = "8f9f37de-2598-4462-8656-deed3aab9e82"


@pytest.mark.parametrize(("text", "expected"), [
    (f'127.0.0.1 - - [29/Nov/2026 21:56:29] "GET /incidents/{RID}?email=a@b.org HTTP/1.1" 404',
     '[ip] - - [29/Nov/2026 21:56:29] "GET /incidents/<id>?<query> HTTP/1.1" 404'),
    ("Invalid request from ip=2001:db8::17: Invalid HTTP Version 'x alice@example.org'",
     "Invalid request from ip=[ip]: Invalid HTTP Version 'x [email]'"),
    ("fe80::1%eth0 ::1 ::ffff:192.0.2.1 [::1]:8000 10.1.2.3, 192.168.0.1.",
     "[ip] [ip] [ip] [[ip]]:8000 [ip], [ip]."),
    ("/register/Ab3dEfGhIjKlMnOpQrStUvWxYz0123456789_-abcd /org/members/42 /static/js/app.js",
     "/register/<token> /org/members/<n> /static/js/app.js"),
    (f"id {RID.replace('-', '')} and {RID.upper()} mailto alice%40example.org",
     "id <id> and <id> mailto [email]"),
    # What is not personal stays: times, versions, places in the code, fixed paths.
    ("12:30:45 gunicorn 23.0.0 at routes.py:12 < app.py:1234 /auth/logout-everywhere",
     "12:30:45 gunicorn 23.0.0 at routes.py:12 < app.py:1234 /auth/logout-everywhere"),
    ("[2026-11-29 21:56:29,123] ERROR in errors: unhandled KeyError at x.py:3",
     "[2026-11-29 21:56:29,123] ERROR in errors: unhandled KeyError at x.py:3"),
])
def test_scrub(text: str, expected: str) -> None:
    assert scrub(text) == expected


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(Scrub())
    logger = logging.getLogger("collateral.test.privacy")
    logger.addHandler(handler)
    logger.propagate = False
    yield logger, out
    logger.removeHandler(handler)
    Scrub.enabled = True


def test_the_filter_scrubs_arguments_and_tracebacks(
        captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = captured
    try:
        raise ValueError("no account for bob@example.org at 203.0.113.5")
    except ValueError:
        logger.exception("login of %s from %s for /incidents/%s", "bob@example.org",
                         "203.0.113.5", RID)
    text = out.getvalue()
    assert "login of [email] from [ip] for /incidents/<id>" in text
    assert "ValueError: no account for [email] at [ip]" in text and "Traceback" in text
    for leak in ("bob@", "203.0.113.5", RID):
        assert leak not in text


def test_request_lines_are_dropped_and_log_privacy_off_keeps_everything(
        captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = captured
    werkzeug = logging.LogRecord("werkzeug", logging.INFO, __file__, 1,
                                 '127.0.0.1 - - [x] "%s" %s %s', ("GET /x HTTP/1.1", 200, "-"),
                                 None)
    assert Scrub().filter(werkzeug) is False
    Scrub.enabled = False
    assert Scrub().filter(werkzeug) is True
    logger.warning("raw %s", "bob@example.org")
    assert "raw bob@example.org" in out.getvalue()


def test_log_privacy_setting_reaches_the_filter(migrated_url: str) -> None:
    try:
        make_app(migrated_url, LOG_PRIVACY=False)
        assert Scrub.enabled is False
        werkzeug = logging.getLogger("werkzeug")
        assert any(isinstance(f, Scrub) for f in werkzeug.filters)
    finally:
        make_app(migrated_url)
    assert Scrub.enabled is True


@pytest.mark.parametrize("accept", ["text/html", "application/json"])
def test_an_unhandled_error_answers_without_a_stack_trace(migrated_url: str,
                                                          accept: str) -> None:
    app = make_app(migrated_url, TESTING=False, DEBUG=False)

    @app.get("/explode/<value>")
    def explode(value: str) -> str:
        raise ValueError(f"cannot handle {value}")

    response = app.test_client().get("/explode/bob@example.org", headers={"Accept": accept})
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong on our side" in body
    for leak in ("Traceback", "ValueError", "cannot handle", "bob@example.org",
                 "test_privacy", 'File "'):
        assert leak not in body, leak


@pytest.mark.parametrize(("setting", "base_url", "headers", "proxies", "secure"), [
    (True, "http://localhost", {}, 0, True),  # the default: always Secure
    (False, "http://localhost", {}, 0, False),  # plain-http development (make run)
    (False, "https://localhost", {}, 0, True),  # HTTPS straight to the app
    (False, "http://localhost", {"X-Forwarded-Proto": "https"}, 1, True),  # behind a proxy
    (False, "http://localhost", {"X-Forwarded-Proto": "https"}, 0, False),  # untrusted header
])
def test_session_cookie_flags(migrated_url: str, setting: bool, base_url: str,
                              headers: dict[str, str], proxies: int, secure: bool) -> None:
    app = make_app(migrated_url, SESSION_COOKIE_SECURE=setting, PROXY_COUNT=proxies)
    response = app.test_client().get("/login", base_url=base_url, headers=headers)
    cookie = response.headers["Set-Cookie"]
    flags = cookie.split("; ")
    assert flags[0].startswith(f"{COOKIE}=")
    assert "HttpOnly" in flags and "SameSite=Strict" in flags
    assert ("Secure" in flags) == secure


def _cookie(client: FlaskClient) -> str:
    found = client.get_cookie(COOKIE)
    assert found is not None
    return found.value


def _session_of(app: Flask, value: str) -> dict[str, object]:
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    return dict(serializer.loads(value))


def test_login_starts_a_new_session_and_nothing_from_before_survives(
        app: Flask, coordinator: Browser, new_browser: Callable[[str], Browser]) -> None:
    person = new_browser(coordinator.email)
    person.get("/login")
    before = _cookie(person.client)
    old = _session_of(app, before)
    assert "csrf_token" in old
    assert person.login().status_code == 200
    after = _cookie(person.client)
    new = _session_of(app, after)
    assert after != before and new.get("sid")
    assert [key for key, value in old.items() if new.get(key) == value] == []
    # The pre-login cookie opens nothing.
    replay = app.test_client()
    replay.set_cookie(COOKIE, before)
    assert replay.get("/auth/keyring").status_code == 401


def test_a_planted_session_cookie_is_replaced_at_login(
        app: Flask, runner: FlaskCliRunner, coordinator: Browser,
        new_browser: Callable[[str], Browser]) -> None:
    """Session fixation: someone plants their own logged-in cookie in the victim's browser.
    The victim's login gets a new token; the planted one ends and never opens the victim's
    account."""
    mallory = make_coordinator(runner, new_browser, "Other Org", "mallory@example.org")
    planted = _cookie(mallory.client)
    victim = new_browser(coordinator.email)
    victim.client.set_cookie(COOKIE, planted)
    assert victim.login().status_code == 200
    mine = _cookie(victim.client)
    assert _session_of(app, mine)["sid"] != _session_of(app, planted)["sid"]
    assert (victim.client.get("/auth/keyring").json or {})["user"]["email"] == coordinator.email
    probe = app.test_client()
    probe.set_cookie(COOKIE, planted)
    assert probe.get("/auth/keyring").status_code == 401
    reasons = db.session.scalars(sa.select(LoginSession.ended_reason)).all()
    assert "replaced" in reasons


def test_logging_in_again_ends_the_earlier_session(app: Flask, coordinator: Browser) -> None:
    first = _cookie(coordinator.client)
    assert coordinator.login().status_code == 200
    assert _cookie(coordinator.client) != first
    probe = app.test_client()
    probe.set_cookie(COOKIE, first)
    assert probe.get("/auth/keyring").status_code == 401
    assert coordinator.client.get("/auth/keyring").status_code == 200
