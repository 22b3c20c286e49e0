"""The incident pages of issue 5 in Chromium against the real app ("Done when").

One coordinator, registered with the Python actor (tests.people.make_coordinator), logs in
through the real login page once; each test then uses a fresh tab of that browser. Before every
test the incident tables are emptied, so the database counts below are exact. What is checked
is what a person would notice (the page they land on, the text they see, a message, a file they
download) and, through the organisation's key held by the Python actor, what the server stored.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import struct
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, FilePayload, Page, Request, expect

from app.crypto import b64u_encode, open_attachment, open_record
from app.extensions import db
from app.models import Attachment, Incident, IncidentCode, Organisation
from tests.actors import Browser as PyBrowser
from tests.conftest import LiveServer, fresh_database, make_app, migrate_to_head
from tests.incident_data import sealed_incident
from tests.people import make_coordinator

pytestmark = pytest.mark.browser

LOCAL = {"data", "blob", "about"}
VIEW_URL = re.compile(r"/incidents/[0-9a-f-]{36}$")
WAIT = 30_000


@dataclass
class Site:
    """The live app, its one organisation, and a browser context logged in as its coordinator."""

    app: Flask
    url: str
    org_id: str
    odk: bytes
    coord: PyBrowser
    context: BrowserContext
    sent: list[tuple[str, bytes]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    expected_console: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> Page:
        """Fail the test on a console error (other than one it expects) or uncaught exception."""
        def on_console(message: Any) -> None:
            if message.type == "error" and not any(
                    text in message.text for text in self.expected_console):
                self.problems.append(f"console error: {message.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.problems.append(f"uncaught exception: {error}"))
        return page

    def tab(self) -> Page:
        return self.watch(self.context.new_page())

    def count(self) -> int:
        with self.app.app_context():
            return db.session.scalar(sa.select(sa.func.count(Incident.id))) or 0

    def row(self, rid: str) -> Incident | None:
        with self.app.app_context():
            incident = db.session.scalar(
                sa.select(Incident).where(Incident.public_id == uuid.UUID(rid)))
            if incident is not None:
                db.session.expunge(incident)
            return incident

    def opened(self, rid: str) -> dict[str, Any]:
        """The sealed fields the server stores for an incident, opened with the org key."""
        incident = self.row(rid)
        assert incident is not None and incident.sealed is not None, rid
        return open_record(self.odk, self.org_id, rid, incident.sealed)

    def seed(self, narrative: str, **coded: Any) -> str:
        """An incident saved through the JSON API, sealed as a browser would seal it."""
        body = sealed_incident(self.odk, self.org_id, 1, {"narrative": narrative}, **coded)
        response = self.coord.post_json("/api/v1/incidents", body)
        assert response.status_code == 201, response.get_data(as_text=True)
        return str(body["id"])


@pytest.fixture(scope="module")
def site(browser: Browser) -> Iterator[Site]:
    with fresh_database("incpages") as url:
        migrate_to_head(url)
        app = make_app(url)
        with LiveServer(app) as server:
            with app.app_context():
                coord = make_coordinator(app.test_cli_runner(),
                                         lambda email: PyBrowser(app.test_client(), email))
                org = db.session.scalar(sa.select(Organisation))
                assert org is not None
                org_id = org.pid
            context = browser.new_context()
            s = Site(app, server.url, org_id, coord.org_keys[1], coord, context)

            def record(request: Request) -> None:
                headers = "\n".join(f"{k}: {v}" for k, v in request.headers.items())
                s.sent.append((request.url, headers.encode() + b"\n" +
                               (request.post_data_buffer or b"")))
                parts = urlsplit(request.url)
                if parts.scheme not in LOCAL and parts.hostname != "127.0.0.1":
                    s.problems.append(f"request to another host: {request.url}")

            context.on("request", record)
            context.route("**/*", lambda route: route.continue_() if (
                urlsplit(route.request.url).hostname == "127.0.0.1"
                or urlsplit(route.request.url).scheme in LOCAL) else route.abort())
            page = s.tab()
            page.goto(s.url + "/login")
            expect(page.locator("body")).to_have_attribute("data-page-state", "ready")
            page.fill("#email", coord.email)
            page.fill("#passphrase", coord.passphrase)
            page.click("#login-form button[type=submit]")
            page.wait_for_url(lambda u: "/login" not in u, timeout=WAIT)
            page.close()
            assert s.problems == [], s.problems
            yield s
            context.close()
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def tab(site: Site) -> Iterator[Page]:
    """A new tab of the coordinator's browser, over an empty incident table."""
    with site.app.app_context():
        for model in (Attachment, IncidentCode, Incident):
            db.session.execute(sa.delete(model))
        db.session.commit()
    site.sent.clear()
    site.problems.clear()
    site.expected_console.clear()
    page = site.tab()
    yield page
    for other in site.context.pages:
        other.close()
    if site.problems:
        pytest.fail("the pages misbehaved:\n" + "\n".join(site.problems), pytrace=False)


# Filling the form ------------------------------------------------------------------------------

def _choose(page: Page, name: str, value: str) -> None:
    target = page.locator(f"[name='{name}']").first
    if target.evaluate("e => e.tagName") == "SELECT":
        page.select_option(f"select[name='{name}']", value)
    else:
        page.check(f"input[name='{name}'][value='{value}']")


def _form_ready(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.locator("body")).to_have_attribute("data-form-state", "ready", timeout=WAIT)


def _fill_coded(page: Page, month: str = "2026-03") -> None:
    _choose(page, "kinds", "raid")
    _choose(page, "four_p", "protection")
    _choose(page, "actors", "police")
    _choose(page, "country", "PT")
    page.fill("input[name='month']", month)
    _choose(page, "work_setting", "indoor_private")
    _choose(page, "source", "firsthand")
    _choose(page, "consent", "aggregate")
    _choose(page, "status", "complete")


def _file(name: str, mime_type: str, data: bytes) -> FilePayload:
    return {"name": name, "mimeType": mime_type, "buffer": data}


def _submit_and_land(page: Page) -> str:
    """Press "Seal and save" and wait for the incident's page; its id."""
    page.click("#incident-submit")
    page.wait_for_url(VIEW_URL, timeout=WAIT)
    expect(page.locator("body")).to_have_attribute("data-view-state", "ready", timeout=WAIT)
    return page.url.rsplit("/", 1)[1]


# A JPEG with EXIF (orientation and a GPS position), built by hand around a canvas JPEG ----------

def _tiff_with_gps(description: bytes, orientation: int) -> bytes:
    desc = description + b"\x00"
    ifd0 = 8
    desc_off = ifd0 + 2 + 3 * 12 + 4
    gps_off = desc_off + len(desc) + (desc_off + len(desc)) % 2
    lat_off = gps_off + 2 + 4 * 12 + 4
    lon_off = lat_off + 24
    out = bytearray(b"MM\x00\x2a" + struct.pack(">I", ifd0))
    out += struct.pack(">H", 3)
    out += struct.pack(">HHII", 0x010E, 2, len(desc), desc_off)  # ImageDescription
    out += struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0)  # Orientation
    out += struct.pack(">HHII", 0x8825, 4, 1, gps_off)  # GPS IFD pointer
    out += struct.pack(">I", 0) + desc
    out += b"\x00" * (gps_off - len(out))
    out += struct.pack(">H", 4)
    out += struct.pack(">HHI", 0x0001, 2, 2) + b"N\x00\x00\x00"
    out += struct.pack(">HHII", 0x0002, 5, 3, lat_off)
    out += struct.pack(">HHI", 0x0003, 2, 2) + b"E\x00\x00\x00"
    out += struct.pack(">HHII", 0x0004, 5, 3, lon_off)
    out += struct.pack(">I", 0)
    out += struct.pack(">IIIIII", 38, 1, 42, 1, 4321, 100)  # 38° 42' 43.21"
    out += struct.pack(">IIIIII", 9, 1, 8, 1, 1234, 100)  # 9° 8' 12.34"
    return bytes(out)


def _jpeg_with_gps(page: Page, description: bytes) -> bytes:
    """A 40×20 JPEG drawn on a canvas, with an APP1 Exif segment (orientation 6: rotate)."""
    data_url = page.evaluate("""() => {
        const c = document.createElement('canvas'); c.width = 40; c.height = 20;
        const g = c.getContext('2d');
        g.fillStyle = '#c33'; g.fillRect(0, 0, 20, 20);
        g.fillStyle = '#33c'; g.fillRect(20, 0, 20, 20);
        return c.toDataURL('image/jpeg', 0.9);
    }""")
    jpeg = base64.b64decode(data_url.split(",", 1)[1])
    assert jpeg[:2] == b"\xff\xd8"
    payload = b"Exif\x00\x00" + _tiff_with_gps(description, 6)
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def _jpeg_segments(data: bytes) -> list[tuple[int, bytes]]:
    """(marker, payload) of every segment before the scan."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    out, i = [], 2
    while i < len(data) and data[i + 1] != 0xDA:
        assert data[i] == 0xFF, f"bad marker at {i}"
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        out.append((data[i + 1], data[i + 4:i + 2 + length]))
        i += 2 + length
    return out


def _jpeg_size(data: bytes) -> tuple[int, int]:
    for marker, payload in _jpeg_segments(data):
        if marker in (0xC0, 0xC1, 0xC2):
            height, width = struct.unpack(">HH", payload[1:5])
            return width, height
    raise AssertionError("no SOF segment")


# The tests -------------------------------------------------------------------------------------

def test_create_shows_the_sealed_text(site: Site, tab: Page) -> None:
    """Fill the form, submit, land on the incident's page, which opens and shows the sealed
    text; the server holds it only sealed."""
    narrative = "Two officers came at night and took the phones.\nNobody was arrested."
    _form_ready(tab, site.url + "/incidents/new")
    _fill_coded(tab)
    tab.fill("#sealed-narrative", narrative)
    tab.fill("#sealed-place", "Rua das Flores 12, 3º")
    tab.fill("#sealed-exact-date", "2026-03-14")
    tab.locator("[data-person-field='alias']").first.fill("Mimi")
    rid = _submit_and_land(tab)

    expect(tab.locator('[data-sealed="narrative"]')).to_have_text(narrative)
    expect(tab.locator('[data-sealed="place"]')).to_have_text("Rua das Flores 12, 3º")
    expect(tab.locator('[data-sealed="people"]')).to_contain_text("Mimi")
    expect(tab.locator(".facts").first).to_contain_text("Portugal")
    incident = site.row(rid)
    assert incident is not None and incident.month == "2026-03"
    assert "phones" not in json.dumps(incident.sealed)
    stored = site.opened(rid)
    assert stored["narrative"] == narrative and stored["exact_date"] == "2026-03-14"
    assert site.count() == 1


def test_edit_and_a_stale_edit_conflict(site: Site, tab: Page) -> None:
    """Two tabs edit the same incident. Tab A saves first; tab B's save is refused with the
    conflict message, and what was typed in tab B is still in its fields."""
    site.expected_console.append("status of 409")
    rid = site.seed("The first account.")
    edit = f"{site.url}/incidents/{rid}/edit"
    tab_a, tab_b = tab, site.tab()
    _form_ready(tab_a, edit)
    _form_ready(tab_b, edit)
    expect(tab_b.locator("#sealed-narrative")).to_have_value("The first account.")
    tab_b.fill("#sealed-narrative", "Tab B: the officer had badge 4471.")
    tab_b.fill("#sealed-support", "Tab B: lawyer called.")

    tab_a.fill("#sealed-narrative", "Tab A: the raid started at 22:00.")
    _submit_and_land(tab_a)
    expect(tab_a.locator('[data-sealed="narrative"]')).to_have_text(
        "Tab A: the raid started at 22:00.")

    tab_b.click("#incident-submit")
    expect(tab_b.locator("#page-alert")).to_contain_text(
        "Someone saved a newer version of this incident (version 2)", timeout=WAIT)
    assert tab_b.url == edit
    assert tab_b.input_value("#sealed-narrative") == "Tab B: the officer had badge 4471."
    assert tab_b.input_value("#sealed-support") == "Tab B: lawyer called."
    assert tab_b.is_enabled("#incident-submit")

    incident = site.row(rid)
    assert incident is not None and incident.version == 2
    stored = site.opened(rid)
    assert stored["narrative"] == "Tab A: the raid started at 22:00."
    assert stored["support"] is None
    # Tab B's refused save left a (sealed) draft on this device; the next tests start clean.
    tab_b.evaluate("""async () => {
        const {withStore} = await import('/static/js/idb.js');
        await withStore('drafts', 'readwrite', (s) => s.clear());
    }""")


def test_search_lists_only_the_match_and_sends_no_word(site: Site, tab: Page) -> None:
    """Three incidents with distinct words; searching one word lists exactly that incident,
    and the word is in no request the browser sent."""
    words = {"heron": "", "kestrel": "", "osprey": ""}
    for word in words:
        words[word] = site.seed(f"Seen near the {word} mural, cash kept as 'evidence'.")
    tab.goto(site.url + "/incidents")
    expect(tab.locator("body")).to_have_attribute("data-page-state", "ready", timeout=WAIT)
    tab.fill("#search-q", "KESTREL")
    tab.click("#search-form button[type=submit]")
    expect(tab.locator("#search-count")).to_have_text("1 incident matches (of 3 searched).",
                                                      timeout=WAIT)
    results = tab.locator("#search-results li")
    expect(results).to_have_count(1)
    expect(results.locator("a")).to_have_attribute("href", f"/incidents/{words['kestrel']}")
    expect(results).to_contain_text("kestrel mural")
    assert any("/api/v1/incidents" in url for url, _ in site.sent), "sealed records fetched"
    leaks = [url for url, body in site.sent
             if "kestrel" in url.lower() or b"kestrel" in body.lower()]
    assert leaks == []


def test_attachments_round_trip_and_photo_loses_its_location(site: Site, tab: Page,
                                                               tmp_path: Path) -> None:
    """A text file and a JPEG with EXIF GPS are added and saved; on the incident's page the
    text file downloads with the same bytes and the photo shows; the photo the server stores
    (opened with the org key) has no Exif segment and no position."""
    notes = "Receipt for 1,850 EUR — kept as 'evidence'.\n".encode()
    photo = _jpeg_with_gps(tab, b"GPSMARKERq7Zx")
    _form_ready(tab, site.url + "/incidents/new")
    _fill_coded(tab)
    tab.fill("#sealed-narrative", "The receipt and a photo of the door.")
    tab.set_input_files("#attachment-files", files=[
        _file("receipt.txt", "text/plain", notes), _file("door.jpg", "image/jpeg", photo)])
    expect(tab.locator("#attachment-list li")).to_have_count(2)
    rid = _submit_and_land(tab)

    items = tab.locator("#attachment-list li")
    expect(items).to_have_count(2)
    with tab.expect_download() as info:
        items.filter(has_text="receipt.txt").locator("[data-download]").click()
    assert info.value.suggested_filename == "receipt.txt"
    assert Path(info.value.path()).read_bytes() == notes
    door = items.filter(has_text="door.jpg")
    door.locator("[data-preview]").click()
    tab.wait_for_function("(img) => img.complete && img.naturalWidth > 0",
                          arg=door.locator("img").element_handle(), timeout=WAIT)

    metas = {m["name"]: m for m in site.opened(rid)["attachments"]}
    assert set(metas) == {"receipt.txt", "door.jpg"}
    with site.app.app_context():
        stored = {str(a.public_id): (a.kv, a.iv, a.ciphertext) for a in db.session.scalars(
            sa.select(Attachment).join(Incident).where(Incident.public_id == uuid.UUID(rid)))}
    assert set(stored) == {m["id"] for m in metas.values()}

    def plain(name: str) -> bytes:
        kv, iv, ct = stored[metas[name]["id"]]
        return open_attachment(site.odk, site.org_id, rid, metas[name]["id"],
                               {"v": 1, "kv": kv, "iv": iv, "ct": b64u_encode(ct)})

    assert plain("receipt.txt") == notes
    jpeg = plain("door.jpg")
    assert metas["door.jpg"]["type"] == "image/jpeg" and metas["door.jpg"]["size"] == len(jpeg)
    assert 0xE1 not in [marker for marker, _ in _jpeg_segments(jpeg)], "an APP1 (Exif) segment"
    for trace in (b"Exif", b"GPSMARKERq7Zx", struct.pack(">IIIIII", 38, 1, 42, 1, 4321, 100)):
        assert trace not in jpeg
    assert _jpeg_size(jpeg) == (20, 40), "drawn upright (EXIF orientation 6) before stripping"


def test_delete_with_confirmation(site: Site, tab: Page) -> None:
    """Delete from the incident's page: the first press only asks; the second deletes and goes
    back to the list, where the incident is gone."""
    keep = site.seed("An incident that stays.", month="2026-01")
    rid = site.seed("An incident to delete.", month="2026-02")
    tab.goto(f"{site.url}/incidents/{rid}")
    expect(tab.locator("body")).to_have_attribute("data-view-state", "ready", timeout=WAIT)
    button = tab.locator("#delete-incident")
    button.click()
    expect(button).to_have_text("Yes, delete this incident")
    assert site.row(rid) is not None, "the first press only asks"
    button.click()
    tab.wait_for_url(re.compile(r"/incidents$"), timeout=WAIT)
    expect(tab.locator("#results-title")).to_have_text("1 incident")
    expect(tab.locator(f"a[href='/incidents/{rid}']")).to_have_count(0)
    expect(tab.locator(f"a[href='/incidents/{keep}']")).to_have_count(1)
    assert site.row(rid) is None and site.count() == 1


def _csv(header: list[str], rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(column, "") for column in header])
    return ("\ufeff" + out.getvalue()).encode()


def test_import_good_and_bad_csv(site: Site, tab: Page) -> None:
    """A CSV with row errors lists them at their rows and sends nothing; a good CSV with the
    template's columns imports every row, its sealed columns sealed in the browser."""
    template = site.coord.get("/incidents/import/template.csv").get_data(as_text=True)
    header = next(csv.reader(io.StringIO(template.lstrip("\ufeff"))))
    base = {"kinds": "raid;confiscation", "four_p": "protection", "actors": "police",
            "country": "PT", "month": "2026-03", "work_setting": "indoor_private",
            "people_affected": "2", "source": "firsthand", "consent": "aggregate",
            "case_study": "false", "status": "complete"}
    good = [base | {"narrative": "Raid at the flat, cash kept.", "place": "Porto",
                    "exact_date": "2026-03-14", "exact_time": "22:30"},
            base | {"kinds": "eviction", "country": "DE", "region": "DE-BE", "month": "2025-11",
                    "amount_confiscated": "120.50", "currency": "EUR",
                    "narrative": "Landlord changed the locks."},
            base | {"month": "2026-01", "status": "draft", "narrative": ""}]
    bad = [base | {"kinds": "raid;bogus"},
           base,
           base | {"month": "2099-01", "amount_confiscated": "10"}]

    tab.goto(site.url + "/incidents/import")
    expect(tab.locator("body")).to_have_attribute("data-import-state", "ready", timeout=WAIT)
    site.sent.clear()
    tab.set_input_files("#import-file", files=[_file("bad.csv", "text/csv", _csv(header, bad))])
    expect(tab.locator("#import-summary")).to_have_text("3 rows read; 2 need changes.")
    problems = tab.locator("#import-problems")
    expect(problems).to_contain_text("Row 1 (line 2), kinds")
    expect(problems).to_contain_text("bogus")
    expect(problems).to_contain_text("Row 3 (line 4), month")
    expect(problems).to_contain_text("Row 3 (line 4), currency")
    expect(problems).not_to_contain_text("Row 2")
    expect(tab.locator("#import-send")).to_be_disabled()
    assert [url for url, _ in site.sent if "/import" in url] == [], "nothing was sent"
    assert site.count() == 0

    tab.set_input_files("#import-file", files=[_file("good.csv", "text/csv", _csv(header, good))])
    expect(tab.locator("#import-summary")).to_have_text("3 rows are ready to import.")
    expect(problems).to_be_hidden()
    tab.click("#import-send")
    expect(tab.locator("#page-status")).to_have_text("3 incidents imported.", timeout=WAIT)
    assert site.count() == 3
    assert not [url for url, body in site.sent if b"Landlord" in body or b"Porto" in body]
    with site.app.app_context():
        rows = {(i.country, i.month): (i.pid, i.sealed, i.amount_confiscated, i.region)
                for i in db.session.scalars(sa.select(Incident))}
    assert set(rows) == {("PT", "2026-03"), ("DE", "2025-11"), ("PT", "2026-01")}
    opened = {key: open_record(site.odk, site.org_id, pid, sealed or {})
              for key, (pid, sealed, _, _) in rows.items()}
    first = opened[("PT", "2026-03")]
    assert (first["narrative"], first["place"], first["exact_date"], first["exact_time"]) == (
        "Raid at the flat, cash kept.", "Porto", "2026-03-14", "22:30")
    assert opened[("DE", "2025-11")]["narrative"] == "Landlord changed the locks."
    assert opened[("PT", "2026-01")]["narrative"] is None
    _, _, amount, region = rows[("DE", "2025-11")]
    assert str(amount) == "120.50" and region == "DE-BE"


def test_without_javascript_the_form_refuses(site: Site, browser: Browser, tab: Page) -> None:
    """With JavaScript off, the form explains why it cannot be used and its button stays
    disabled; even a plain form POST (the button forced on) stores nothing."""
    context = browser.new_context(java_script_enabled=False,
                                  storage_state=site.context.storage_state())
    try:
        page = context.new_page()
        page.goto(site.url + "/incidents/new")
        # (Playwright's text locators skip <noscript>, so a CSS locator finds the notice.)
        notice = page.locator("noscript p.notice")
        expect(notice).to_be_visible()
        expect(notice).to_contain_text("without JavaScript nothing can be sealed")
        expect(page.locator("#incident-submit")).to_be_disabled()
        expect(page.locator("body")).not_to_have_attribute("data-form-state", "ready")
        # A browser that submits anyway (Playwright removes `disabled`; the page runs no
        # script): the coded fields and the CSRF token go, the sealed envelope cannot.
        page.locator("#incident-fields").evaluate("f => f.disabled = false")
        page.locator("#incident-submit").evaluate("b => b.disabled = false")
        _fill_coded(page)
        page.fill("#sealed-narrative", "Typed without JavaScript.")
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.click("#incident-submit")
        assert answer.value.status == 400
        assert answer.value.json()["field"] == "sealed"
        assert b"Typed without" not in (answer.value.request.post_data_buffer or b"")
    finally:
        context.close()
    assert site.count() == 0
