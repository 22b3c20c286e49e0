"""What an operator or a visitor notices of the skeleton: pages, errors, session, secrets."""

from __future__ import annotations

import html
import json
import stat
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.exc import StatementError

from app import _instance_secret
from app.extensions import db
from app.models import Organisation, User
from config import database_url
from tests.actors import Browser


def test_first_run_page_explains_how_to_start(client: FlaskClient) -> None:
    body = client.get("/").get_data(as_text=True)
    assert "There is no organisation on this server yet" in body
    assert "flask org create" in body


def test_home_page_once_an_organisation_exists(app: Flask, client: FlaskClient) -> None:
    db.session.add(Organisation(name="Red Umbrella"))
    db.session.commit()
    body = client.get("/").get_data(as_text=True)
    assert "There is no organisation" not in body
    assert "sealed in your browser" in body


def test_every_page_has_a_quick_exit(client: FlaskClient, app: Flask) -> None:
    for path in ("/", "/selftest", "/missing"):
        body = client.get(path).get_data(as_text=True)
        assert 'id="quick-exit"' in body
        assert f'href="{app.config["QUICK_EXIT_URL"]}"' in body
        assert "/static/js/quickexit.js" in body


def test_healthz_reports_database(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": True}


def test_healthz_says_503_when_database_is_gone(tmp_path: Path) -> None:
    from tests.conftest import make_app
    app = make_app(f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert (response.json or {})["status"] == "unavailable"


def test_quick_exit_needs_csrf_and_clears_the_session(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    token = page.split('name="csrf-token" content="')[1].split('"')[0]
    with client.session_transaction() as session:
        session["marker"] = "keys-here"
    assert client.post("/quick-exit").status_code == 400  # no token: refused, with a reason
    response = client.post("/quick-exit", data={"csrf_token": token})
    assert response.status_code == 204
    with client.session_transaction() as session:
        assert "marker" not in session


def test_csrf_refusal_is_explained(client: FlaskClient) -> None:
    response = client.post("/quick-exit")
    assert response.status_code == 400
    assert "did not come from this site" in response.get_data(as_text=True)


def test_api_errors_are_json(client: FlaskClient) -> None:
    response = client.get("/api/nothing")
    assert response.status_code == 404
    body = response.json or {}
    assert body["status"] == 404 and body["error"]


def test_oversized_request_is_refused_early(app: Flask, client: FlaskClient) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = client.post("/quick-exit", data={"x": "y" * 5000})
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)


def _user(**overrides: Any) -> User:
    fields: dict[str, Any] = dict(
        email="  Someone@Example.ORG ", display_name="S", kdf_salt="A" * 22,
        kdf_memory_kib=65536, kdf_time_cost=3, kdf_parallelism=1, auth_hash="$argon2id$x",
        public_key="B" * 87, wrapped_private_key={"v": 1, "iv": "A" * 16, "ct": "A" * 40})
    fields.update(overrides)
    return User(**fields)


def test_user_email_is_normalised_and_public_id_is_separate(app: Flask) -> None:
    user = _user()
    db.session.add(user)
    db.session.commit()
    assert user.email == "someone@example.org"
    assert len(user.pid) == 36 and user.pid != str(user.id)
    assert user.get_id() == user.pid


@pytest.mark.parametrize("bad", [
    {"narrative": "in clear"},
    {"v": 2, "iv": "A" * 16, "ct": "A" * 40},
    {"v": 1, "iv": "AAAA", "ct": "A" * 40},
    {"v": 1, "iv": "A" * 16, "ct": "A" * 40, "extra": 1},
    "not even an object",
])
def test_database_refuses_anything_but_an_envelope(app: Flask, bad: Any) -> None:
    db.session.add(_user(wrapped_private_key=bad))
    with pytest.raises(StatementError, match="malformed envelope"):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_secret_key_is_generated_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "secret_key"
    first = _instance_secret(path)
    assert len(first) >= 48
    assert _instance_secret(path) == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_database_url_defaults_to_sqlite_in_instance() -> None:
    assert database_url(None).startswith("sqlite:///") and database_url("").endswith(
        "instance/collateral.db")
    assert database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"


def test_translate_extract_finds_template_and_python_strings(runner: Any, tmp_path: Path) -> None:
    pot = tmp_path / "messages.pot"
    result = runner.invoke(args=["translate", "extract", "-o", str(pot)])
    assert result.exit_code == 0, result.output
    text = pot.read_text(encoding="utf-8")
    assert 'msgid "Quick exit"' in text  # templates/base.html
    assert 'msgid "What you sent is too large."' in text  # app/errors.py


def test_a_refusal_says_why(coordinator: Any, client: FlaskClient) -> None:
    """The sentence given at abort() reaches the person; a JSON client gets JSON."""
    response = coordinator.get(f"/reports/collectives/{uuid.uuid4()}")
    assert response.status_code == 404
    assert "no collective with this address that you may see" in response.get_data(True)
    client.get("/")
    refused = client.post("/auth/prelogin", json={"email": "a@b.cd"})  # no CSRF token
    assert refused.status_code == 400 and refused.json
    assert "did not come from this site" in refused.json["detail"]


def test_control_characters_are_refused_with_a_reason(coordinator: Any) -> None:
    """Found by the hostile-input tests: a NUL in a form field or JSON text was stored (and
    is a 500 on PostgreSQL)."""
    form = coordinator.post_form("/incidents/terms", {"list_name": "actors",
                                                      "label": "Unit\x007"})
    assert form.status_code == 400 and "control character" in form.get_data(as_text=True)
    query = coordinator.get("/incidents", query_string={"country": "\x1b[2J"})
    assert query.status_code == 400
    for text in ("a\x00b", "\ud800"):
        refused = coordinator.client.post(
            "/auth/prelogin", data=json.dumps({"email": f"{text}@b.cd"}),
            content_type="application/json", headers={"X-CSRFToken": coordinator.csrf})
        assert refused.status_code == 400 and refused.json
        assert refused.json["field"] == "email" and "control character" in refused.json["error"]
    fine = coordinator.post_form("/incidents/terms", {"list_name": "actors",
                                                      "label": "Unit 7", "description": "a\r\n\tb"})
    assert fine.status_code == 302


@pytest.mark.parametrize("part", ['Content-Disposition: form-data\r\n\r\nx',
                                  'Content-Disposition: form-data; filename="f"\r\n\r\nx'])
def test_a_form_part_without_a_name_is_refused(client: FlaskClient, part: str) -> None:
    """Found by schemathesis: Flask-WTF's CSRF check failed with a 500 on such a part."""
    body = f"--b\r\n{part}\r\n--b--\r\n".encode()
    response = client.post("/auth/login", data=body,
                           content_type="multipart/form-data; boundary=b")
    assert response.status_code == 400
    assert "has no name" in response.get_data(as_text=True)


@pytest.fixture
def database_down(app: Flask) -> Iterator[None]:
    """The database stops answering: every new connection fails as a stopped server's does."""
    dbapi_error = db.engine.dialect.loaded_dbapi.OperationalError  # sqlite3's or psycopg's

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise dbapi_error("connection refused")

    db.session.remove()
    db.engine.dispose()
    sa.event.listen(db.engine, "do_connect", refuse)
    yield
    sa.event.remove(db.engine, "do_connect", refuse)
    db.engine.dispose()


def test_a_logged_in_person_gets_the_unavailable_page_while_the_database_is_down(
        coordinator: Browser, database_down: None) -> None:
    # Pages answer 503 with the reason (rendered without asking the database who is
    # logged in), the API answers JSON, and nothing is a bare 500.
    for path in ("/incidents", "/reports/view?scope=org", "/", "/account"):
        response = coordinator.client.get(path)
        assert response.status_code == 503, path
        body = html.unescape(response.get_data(as_text=True))
        assert "The service is briefly unavailable" in body, path
        assert 'id="quick-exit"' in body
    answer = coordinator.post_json("/api/v1/incidents", {"id": "x"})
    assert answer.status_code == 503
    assert "briefly unavailable" in (answer.json or {})["error"]


def test_a_connection_lost_after_the_answer_was_made_still_gives_the_answer(
        coordinator: Browser, monkeypatch: pytest.MonkeyPatch) -> None:
    # The server dies between the last query and the end of the request: closing the session
    # cannot roll back. The page already made is sent; the dead connection is dropped.
    rollbacks = []
    dbapi_error = db.engine.dialect.loaded_dbapi.OperationalError

    def lost(_connection: Any) -> None:
        rollbacks.append(1)
        raise dbapi_error("server closed the connection unexpectedly")

    def in_own_context(path: str) -> int:
        # A thread of its own has no app context pushed, so the request gets one and ends
        # it, as under gunicorn (the fixture's context would otherwise span every request).
        result: list[int] = []
        thread = threading.Thread(target=lambda: result.append(
            coordinator.client.get(path).status_code))
        thread.start()
        thread.join(timeout=30)
        return result[0] if result else 0

    monkeypatch.setattr(db.engine.dialect, "do_rollback", lost)
    assert in_own_context("/incidents") == 200
    assert rollbacks, "the session's rollback at the end of the request was not reached"
    monkeypatch.undo()
    assert in_own_context("/api/v1/incidents") == 200
