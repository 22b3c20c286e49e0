"""A research extract end to end in Chromium ("Done when" of issue 7).

Two organisations have joined a collective; two people coordinate the collective. The first
logs in through the real login page and invites a researcher from /research; the researcher
opens the link in a browser of their own, registers (a key pair made in the page), asks for
kinds, country and month of the collective's incidents of 2025 with k = 5, and lands on the
request page. Both coordinators approve on that page, each in their own browser; the second
approval reaches the quorum and the extract is generated, sealed to the researcher. The
researcher opens the data and the data dictionary in the browser (research.js unseals them
with the key from login and saves them), and the saved CSV is checked against the rows
anonymised again here, by hand, from what was put in the database — and its k is measured
again here. No request the researcher's browser sent carried the plaintext.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Route, expect

from app.extensions import db
from app.models import Collective, CollectiveMember, CollectiveStatus, Organisation, utcnow
from tests.actors import Browser as PyBrowser
from tests.people import make_coordinator
from tests.report_data import add_incidents

pytestmark = pytest.mark.browser

COLLECTIVE = "Research network"
MEMBERS = ("Harbour Collective", "Lantern Project")
COORDINATORS = ("research-coord-1@example.org", "research-coord-2@example.org")
RESEARCHER = "rae.researcher@example.org"
RESEARCHER_PASSPHRASE = "marble violin harbour tundra"
INSTITUTION = "University of Somewhere"
K = 5
MAX_SUPPRESSED = 0.05  # app/research/anonymise.py: more suppression than this climbs a ladder
WAIT = 30_000
LOCAL_SCHEMES = {"data", "blob", "about"}


# Browsers: each person in a context of their own, as strict as the `page` fixture.

def _local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in LOCAL_SCHEMES or parts.hostname == "127.0.0.1"


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Callable[[list[bytes] | None], Page]]:
    """Fresh pages in new contexts that fail the test on a console error, an uncaught
    exception or a request to a host other than 127.0.0.1; `sent` collects every request's
    URL, headers and body."""
    problems: list[str] = []
    contexts = []

    def make(sent: list[bytes] | None = None) -> Page:
        context = browser.new_context()
        contexts.append(context)

        def on_request(request: Request) -> None:
            if not _local(request.url):
                problems.append(f"request to another host: {request.url}")
            if sent is not None:
                headers = "\n".join(f"{k}: {v}" for k, v in request.headers.items())
                sent.append(request.url.encode() + b"\n" + headers.encode() + b"\n" +
                            (request.post_data_buffer or b""))

        def on_route(route: Route) -> None:
            if _local(route.request.url):
                route.continue_()
            else:
                route.abort()  # reported by on_request

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                problems.append(f"console error: {message.text} "
                                f"({message.location.get('url')})")

        context.on("request", on_request)
        context.route("**/*", on_route)
        made = context.new_page()
        made.on("console", on_console)
        made.on("pageerror", lambda error: problems.append(f"uncaught exception: {error}"))
        return made

    yield make
    for context in contexts:
        context.close()
    if problems:
        pytest.fail("a page misbehaved:\n" + "\n".join(problems), pytrace=False)


def _ready(page: Page) -> None:
    expect(page.locator("body")).to_have_attribute("data-page-state", "ready", timeout=WAIT)


def _login(page: Page, base: str, email: str, passphrase: str) -> None:
    """The real login page: the passphrase is stretched with Argon2id in the page."""
    page.goto(base + "/login")
    _ready(page)
    page.fill("#email", email)
    page.fill("#passphrase", passphrase)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(lambda u: "/login" not in u, timeout=WAIT)


# Data.

def _setup(app: Flask) -> dict[str, Any]:
    """The collective, its two member organisations with their incidents, and its two
    coordinators (each the coordinator of an organisation outside the collective)."""
    runner = app.test_cli_runner()

    def cli(*args: str) -> None:
        result = runner.invoke(args=list(args))
        assert result.exit_code == 0, result.output

    with app.app_context():
        coordinators = [
            make_coordinator(runner, lambda email: PyBrowser(app.test_client(), email),
                             f"Outside organisation {n}", email)
            for n, email in enumerate(COORDINATORS, 1)]
        cli("collective", "create", COLLECTIVE)
        rng = random.Random(7)
        rows: list[dict[str, Any]] = []
        for name in MEMBERS:
            org = Organisation(name=name)
            db.session.add(org)
            db.session.commit()
            cli("collective", "invite", COLLECTIVE, name)
            member = db.session.scalar(sa.select(CollectiveMember).where(
                CollectiveMember.org_id == org.id))
            assert member is not None
            member.status, member.joined_at = CollectiveStatus.JOINED, utcnow()
            db.session.commit()
            rows += add_incidents(org, 300, rng)
            # Outside the window: never in the extract.
            rows += add_incidents(org, 20, rng, months=["2024-12", "2026-01"],
                                  consent="research", status="complete")
        for email in COORDINATORS:
            cli("collective", "appoint", COLLECTIVE, email, "--role", "coordinator")
        collective = db.session.scalar(sa.select(Collective).where(
            Collective.name == COLLECTIVE))
        assert collective is not None
        assert collective.extract_quorum == 2  # the default: both must approve
        scope = f"collective:{collective.pid}"
    return {"coordinators": coordinators, "rows": rows, "scope": scope}


# The independent computation.

PERIODS = ("month", "quarter", "year")


def _period(month: str, level: str) -> str:
    year, number = month[:4], int(month[5:])
    return {"month": month, "quarter": f"{year}-Q{(number + 2) // 3}", "year": year}[level]


def _anonymised(rows: list[dict[str, Any]], period: str,
                k: int) -> tuple[Counter[tuple[str, str, str]], int, int]:
    """(the extract's rows as a multiset of (kinds, country, period), rows selected, rows
    suppressed): research consent, complete, in 2025, generalised, rare combinations left
    out — in plain Python from the rows put in the database."""
    chosen = [(";".join(sorted(r["kinds"])), r["country"], _period(r["month"], period))
              for r in rows if r["consent"] == "research" and r["status"] == "complete"
              and "2025-01" <= r["month"] <= "2025-12"]
    sizes = Counter((country, when) for _, country, when in chosen)
    kept = Counter(row for row in chosen if sizes[row[1:]] >= k)
    return kept, len(chosen), len(chosen) - sum(kept.values())


def _k_of(lines: list[dict[str, str]], quasi: list[str]) -> int:
    return min(Counter(tuple(line[q] for q in quasi) for line in lines).values())


# The story.

def test_researcher_invited_asks_two_approve_and_the_extract_opens_in_the_browser(
        live_app: Flask, live_server: str, page: Page,
        new_page: Callable[[list[bytes] | None], Page], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(live_app.config, "EXTRACTS_DIR", str(tmp_path / "extracts"))
    data = _setup(live_app)
    first, second = data["coordinators"]

    # A collective coordinator invites the researcher and reads the link off the page.
    coordinator = page
    _login(coordinator, live_server, first.email, first.passphrase)
    coordinator.goto(live_server + "/research")
    coordinator.select_option("#invite-scope", label=COLLECTIVE)
    coordinator.fill("#invite-email", RESEARCHER)
    coordinator.click("form[action$='/research/invite'] button[type=submit]")
    shown = coordinator.locator("section[aria-labelledby=invite-h] .notice-success code")
    expect(shown).to_contain_text("/register/", timeout=WAIT)
    link = shown.inner_text().strip()
    assert re.fullmatch(re.escape(live_server) + r"/register/[A-Za-z0-9_-]+", link), link

    # The researcher registers in a browser of their own, which logs them in.
    sent: list[bytes] = []
    researcher = new_page(sent)
    researcher.goto(link)
    _ready(researcher)
    expect(researcher.locator("h1")).to_contain_text("researcher account")
    expect(researcher.locator("#email")).to_have_value(RESEARCHER)
    researcher.fill("#display-name", "Rae")
    researcher.fill("#passphrase", RESEARCHER_PASSPHRASE)
    researcher.fill("#passphrase-again", RESEARCHER_PASSPHRASE)
    researcher.click("#register-form button[type=submit]")
    researcher.wait_for_url(lambda u: "/register/" not in u, timeout=WAIT)

    # The request, through the form.
    researcher.goto(live_server + "/research")
    researcher.select_option("#scope", data["scope"])
    researcher.fill("#from", "2025-01")
    researcher.fill("#to", "2025-12")
    for name in ("kinds", "country", "month"):
        researcher.check(f"input[name=fields][value={name}]")
    researcher.fill("#purpose", "How raids under end-demand laws change what is taken.")
    researcher.fill("#institution", INSTITUTION)
    researcher.fill("#ethics_ref", "ERC-2026-17")
    researcher.fill("#retention_until", (date.today() + timedelta(days=365)).isoformat())
    researcher.fill("#k", str(K))
    researcher.click("form[action$='/research/requests'] button[type=submit]")
    researcher.wait_for_url(re.compile(r"/research/requests/[0-9a-f-]{36}$"), timeout=WAIT)
    request_url = researcher.url
    expect(researcher.locator("h1 .tag")).to_have_attribute("data-status", "pending")
    expect(researcher.locator("h1 .tag")).to_have_text("waiting for decisions")  # words, not a code
    expect(researcher.locator("main")).to_contain_text(", ".join(sorted(MEMBERS)))

    # Both collective coordinators approve, each on the request page in their own browser.
    coordinator.goto(live_server + "/research")
    coordinator.get_by_role("link", name=re.compile(re.escape(INSTITUTION))).click()
    coordinator.wait_for_url(request_url, timeout=WAIT)
    coordinator.get_by_role("button", name="Approve").click()
    coordinator.wait_for_load_state()
    expect(coordinator.locator("#decisions li")).to_have_count(1)
    expect(coordinator.locator("h1 .tag")).to_have_attribute("data-status", "pending")  # one of two
    expect(coordinator.get_by_role("button", name="Approve")).to_have_count(0)

    other = new_page(None)
    _login(other, live_server, second.email, second.passphrase)
    other.goto(request_url)
    other.get_by_role("button", name="Approve").click()
    other.wait_for_load_state()
    expect(other.locator("h1 .tag")).to_have_attribute("data-status", "ready")
    expect(other.locator("#open-data")).to_have_count(0)  # the file is the researcher's

    # The researcher sees both decisions and opens the files in the browser.
    researcher.reload()
    _ready(researcher)
    expect(researcher.locator("h1 .tag")).to_have_attribute("data-status", "ready")
    decisions = researcher.locator("#decisions li")
    expect(decisions).to_have_count(2)
    assert all(text.startswith("approved") for text in decisions.all_inner_texts())
    with researcher.expect_download(timeout=WAIT) as data_download:
        researcher.click("#open-data")
    assert data_download.value.suggested_filename == "extract.csv"
    saved_csv = tmp_path / "extract.csv"
    data_download.value.save_as(saved_csv)
    with researcher.expect_download(timeout=WAIT) as dictionary_download:
        researcher.click("#open-dictionary")
    assert dictionary_download.value.suggested_filename == "dictionary.json"
    saved_dictionary = tmp_path / "dictionary.json"
    dictionary_download.value.save_as(saved_dictionary)
    expect(researcher.locator("#page-status")).to_contain_text("dictionary.json ✓")
    expect(researcher.locator("#page-alert")).to_be_empty()

    # The CSV is the collective's research rows, anonymised again here by hand.
    text = saved_csv.read_text(encoding="utf-8")
    header = text.splitlines()[0]
    assert header == "kinds,country,period", header
    lines = list(csv.DictReader(io.StringIO(text)))
    meta = json.loads(saved_dictionary.read_text(encoding="utf-8"))
    period = meta["generalisation"]["period"]
    assert meta["generalisation"]["place"] == "country"  # no region asked for
    expected, selected, suppressed = _anonymised(data["rows"], period, K)
    assert Counter((line["kinds"], line["country"], line["period"]) for line in lines) \
        == expected
    assert len(lines) == meta["rows"] == selected - suppressed > 0
    assert meta["rows_suppressed"] == suppressed <= MAX_SUPPRESSED * selected
    # ... and no finer period would have kept enough rows (the least generalisation wins).
    tried = {t["period"]: t["suppressed"] for t in meta["levels_tried"]}
    for finer in PERIODS[:PERIODS.index(period)]:
        _, _, lost = _anonymised(data["rows"], finer, K)
        assert lost > MAX_SUPPRESSED * selected, \
            f"by {finer} only {lost} of {selected} rows are rare, yet the extract is by " \
            f"{period}; suppressed by level, as the app counted: {tried}"
        assert tried[finer] == lost, (finer, tried)

    # Achieved k, measured again on the file as it was saved.
    assert meta["quasi_identifiers"] == ["country", "period"]
    achieved = _k_of(lines, meta["quasi_identifiers"])
    assert achieved >= meta["k_requested"] == K
    assert meta["k_achieved"] == achieved
    expect(researcher.locator("main")).to_contain_text(f"k achieved {achieved}")

    # The file was opened here: nothing the researcher's browser sent carried its plaintext.
    assert sent, "no requests were recorded"
    leaked = [body[:200] for body in sent if header.encode() in body
              or text.splitlines()[1].encode() in body]
    assert leaked == [], leaked
