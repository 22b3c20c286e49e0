"""The seized-database and intercepted-request tests of issue 5.

Through the real form in Chromium, 50 incidents are logged whose sealed fields carry unique
marker strings (Latin, Cyrillic, Thai, Chinese), with sealed attachments; one is edited and the
list is searched in the browser. Then every request the browser sent, every table (or a
pg_dump), the SQLite file with its WAL and journal, the application log and the temp directory
are searched for every marker: there must be none.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Browser, Page, Request, expect

from app import logprivacy
from app.extensions import db
from tests.actors import Browser as PyBrowser
from tests.conftest import LiveServer, dump_tables, fresh_database, make_app, migrate_to_head
from tests.people import make_coordinator

pytestmark = pytest.mark.browser

INCIDENTS = 50


@dataclass
class Seized:
    app: Flask
    url: str
    workdir: Path
    markers: list[str] = field(default_factory=list)
    sent: list[bytes] = field(default_factory=list)
    shown: dict[str, str] = field(default_factory=dict)


def _marker(n: int) -> list[str]:
    tag = secrets.token_hex(4)
    return [f"MRK{n:03d}x{tag}", f"ЗНАК{n:03d}ж{tag}", f"เครื่องหมาย{n:03d}{tag}",
            f"標記{n:03d}號{tag}"]


def _forms(marker: str) -> list[bytes]:
    """How a marker could be written down: UTF-8, and JSON's \\u escapes."""
    escaped = json.dumps(marker)[1:-1].encode()
    return [marker.encode(), escaped, escaped.lower()]


def _hits(markers: list[str], haystack: bytes) -> list[str]:
    return [m for m in markers if any(form in haystack for form in _forms(m))]


def _choose(page: Page, name: str, value: str) -> None:
    target = page.locator(f"[name='{name}']").first
    if target.evaluate("e => e.tagName") == "SELECT":
        page.select_option(f"select[name='{name}']", value)
    else:
        page.check(f"input[name='{name}'][value='{value}']")


def _log_incident(page: Page, s: Seized, n: int, upload: Path) -> str:
    words = _marker(n)
    s.markers += words
    page.goto(s.url + "/incidents/new")
    expect(page.locator("body")).to_have_attribute("data-page-state", "ready", timeout=20_000)
    _choose(page, "kinds", ("raid", "eviction", "confiscation")[n % 3])
    _choose(page, "four_p", "protection")
    _choose(page, "actors", "police")
    _choose(page, "country", "PT")
    page.fill("input[name='month']", f"2026-{n % 9 + 1:02d}")
    _choose(page, "work_setting", "indoor_private")
    _choose(page, "source", "firsthand")
    _choose(page, "consent", "aggregate")
    _choose(page, "status", "complete")
    page.fill("#sealed-narrative", f"Raid on the flat. {words[0]} {words[1]}")
    page.fill("#sealed-place", f"Rua {words[2]}")
    page.fill("#sealed-officers", f"Unit {words[3]}")
    if n % 5 == 0:
        upload.write_text(f"notice {words[0]}", encoding="utf-8")
        page.set_input_files("#attachment-files", str(upload))
    page.click("#incident-submit")
    page.wait_for_url(lambda u: "/incidents/" in u and u.rstrip("/").split("/")[-1] not in (
        "new", "edit"), timeout=30_000)
    return page.url


def _browser_page(browser: Browser, s: Seized) -> Page:
    context = browser.new_context()

    def record(request: Request) -> None:
        headers = "\n".join(f"{k}: {v}" for k, v in request.headers.items())
        s.sent.append(request.url.encode() + b"\n" + headers.encode() + b"\n" +
                      (request.post_data_buffer or b""))
        assert urlsplit(request.url).hostname in ("127.0.0.1", None), request.url

    context.on("request", record)
    return context.new_page()


@pytest.fixture(scope="module")
def seized(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seized]:
    workdir = tmp_path_factory.mktemp("seized")
    (workdir / "tmp").mkdir()
    old_tempdir = tempfile.tempdir
    tempfile.tempdir = str(workdir / "tmp")  # where the app would spool uploads
    try:
        with fresh_database("seized") as url:
            migrate_to_head(url)
            # The most talkative log: LOG_PRIVACY off keeps the request lines (with paths and
            # ids) that a production log leaves out; even so it must hold no marker.
            app = make_app(url, LOG_FILE=str(workdir / "app.log"), LOG_PRIVACY=False)
            with LiveServer(app) as server:
                s = Seized(app, server.url, workdir)
                with app.app_context():
                    coord = make_coordinator(app.test_cli_runner(),
                                             lambda e: PyBrowser(app.test_client(), e))
                    coord_email = coord.email
                page = _browser_page(browser, s)
                page.goto(s.url + "/login")
                expect(page.locator("body")).to_have_attribute("data-page-state", "ready")
                page.fill("#email", coord_email)
                page.fill("#passphrase", coord.passphrase)
                page.click("#login-form button[type=submit]")
                page.wait_for_url(lambda u: "/login" not in u, timeout=30_000)
                upload = workdir / "notice.txt"
                views = [_log_incident(page, s, n, upload) for n in range(INCIDENTS)]
                # Edit one: the new text is sealed again.
                page.goto(views[0].rstrip("/") + "/edit")
                expect(page.locator("body")).to_have_attribute("data-page-state", "ready",
                                                               timeout=20_000)
                edited = _marker(999)
                s.markers += edited
                page.fill("#sealed-narrative", f"Edited. {edited[0]} {edited[2]}")
                page.click("#incident-submit")
                page.wait_for_url(lambda u: not u.endswith("/edit"), timeout=30_000)
                # What the view shows proves the markers really were sealed and stored.
                page.goto(views[0])
                expect(page.locator("#sealed-view")).to_contain_text(edited[0], timeout=20_000)
                s.shown["view"] = page.inner_text("#sealed-view")
                # Search in the browser for a marker of incident 7.
                page.goto(s.url + "/incidents")
                expect(page.locator("body")).to_have_attribute("data-page-state", "ready",
                                                               timeout=20_000)
                page.fill("#search-q", s.markers[7 * 4 + 1])
                page.click("#search-form button[type=submit]")
                expect(page.locator("#search-results li")).to_have_count(1, timeout=30_000)
                s.shown["search"] = page.inner_text("#search-results")
                yield s
            with app.app_context():
                if db.engine.dialect.name == "postgresql":
                    s.shown["pg_dump"] = _pg_dump(db.engine.url)
                db.engine.dispose()
    finally:
        tempfile.tempdir = old_tempdir
        logprivacy.install(True)


def _pg_dump(url: sa.engine.URL) -> str:
    out = subprocess.run(
        ["pg_dump", "--no-owner", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
         "-U", url.username or "postgres", url.database or ""],
        check=True, capture_output=True, env={**os.environ, "PGPASSWORD": url.password or ""})
    return out.stdout.decode()


def test_markers_were_really_logged(seized: Seized) -> None:
    assert len(seized.markers) == (INCIDENTS + 1) * 4
    assert seized.markers[-4] in seized.shown["view"]
    assert seized.shown["search"].strip()
    with seized.app.app_context():
        from app.models import Attachment, Incident
        assert db.session.scalar(sa.select(sa.func.count(Incident.id))) == INCIDENTS
        assert db.session.scalar(sa.select(sa.func.count(Attachment.id))) == INCIDENTS // 5


def test_no_request_carries_a_marker(seized: Seized) -> None:
    assert len(seized.sent) > INCIDENTS
    found = {m for body in seized.sent for m in _hits(seized.markers, body)}
    assert found == set()


def test_seized_database_logs_and_temp_files_hold_no_marker(seized: Seized) -> None:
    with seized.app.app_context():
        dump = dump_tables()
        assert b"indoor_private" in dump  # the coded tier is there, in clear, by design
        places: dict[str, bytes] = {"tables": dump}
        if db.engine.dialect.name == "sqlite":
            database = Path(str(db.engine.url.database))
            for suffix in ("", "-wal", "-journal", "-shm"):
                path = Path(f"{database}{suffix}")
                if path.exists():
                    places[path.name] = path.read_bytes()
            assert places.get(database.name)
    log = seized.workdir / "app.log"
    assert log.exists() and b"/incidents/new" in log.read_bytes()
    places["app.log"] = log.read_bytes()
    for path in (seized.workdir / "tmp").rglob("*"):
        if path.is_file():
            places[f"tmp/{path.name}"] = path.read_bytes()
    found = {where: _hits(seized.markers, data) for where, data in places.items()}
    assert {k: v for k, v in found.items() if v} == {}


def test_pg_dump_holds_no_marker(seized: Seized) -> None:
    """On PostgreSQL the whole database is dumped with pg_dump and searched."""
    with seized.app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite run: its file, WAL and journal are searched above")
        dump = _pg_dump(db.engine.url)
    assert "indoor_private" in dump
    assert _hits(seized.markers, dump.encode()) == []
