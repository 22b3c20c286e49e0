"""An incident whose sealed tier the retention rule destroyed, in Chromium: its page says so
and offers no editing, the edit address leads back with the reason, the search in sealed text
skips it, and it can still be deleted."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from app.extensions import db
from app.i18n import format_day
from app.models import Incident, Organisation

# The live site and its logged-in coordinator's tabs (pytest finds fixtures by these names).
from tests.browser.test_incident_pages import WAIT, Site, site, tab  # noqa: F401

pytestmark = pytest.mark.browser


def _destroy(live: Site, rid: str) -> None:
    with live.app.app_context():
        db.session.execute(sa.update(Incident).where(Incident.public_id == uuid.UUID(rid))
                           .values(month="2019-01",
                                   updated_at=datetime(2019, 2, 1, tzinfo=UTC)))
        db.session.execute(sa.update(Organisation).values(retention_months=12))
        db.session.commit()
        result = live.app.test_cli_runner().invoke(args=["retention", "run"])
        assert result.exit_code == 0, result.output
        db.session.remove()


def test_a_destroyed_incident_page(site: Site, tab: Page) -> None:  # noqa: F811
    kept = site.seed("The heron stays readable.", month="2026-01")
    gone = site.seed("The kestrel detail will be destroyed.", month="2026-02")
    _destroy(site, gone)
    row = site.row(gone)
    assert row is not None and row.sealed is None and row.sealed_destroyed_at is not None
    with site.app.test_request_context():  # the page writes the day as English does
        date = format_day(row.sealed_destroyed_at)

    tab.goto(f"{site.url}/incidents/{gone}")
    expect(tab.locator("body")).to_have_attribute("data-view-state", "ready", timeout=WAIT)
    notice = tab.locator("#sealed-destroyed")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text(f"On {date} your organisation's retention rule destroyed")
    expect(tab.locator(f"a[href='/incidents/{gone}/edit']")).to_have_count(0)
    expect(tab.locator("#page-alert")).to_be_empty()
    expect(tab.locator("dl.facts").first).to_contain_text("Raid")  # the coded answers stay

    tab.goto(f"{site.url}/incidents/{gone}/edit")
    tab.wait_for_url(re.compile(rf"/incidents/{gone}$"), timeout=WAIT)
    expect(tab.locator("body")).to_contain_text("It can no longer be edited")

    tab.goto(site.url + "/incidents")
    expect(tab.locator("body")).to_have_attribute("data-page-state", "ready", timeout=WAIT)
    tab.fill("#search-q", "kestrel")
    tab.click("#search-form button[type=submit]")
    expect(tab.locator("#search-count")).to_contain_text("of 1 searched", timeout=WAIT)
    expect(tab.locator("#search-results li")).to_have_count(0)
    tab.fill("#search-q", "heron")
    tab.click("#search-form button[type=submit]")
    expect(tab.locator("#search-count")).to_have_text("1 incident matches (of 1 searched).",
                                                      timeout=WAIT)
    expect(tab.locator("#search-results li a")).to_have_attribute("href", f"/incidents/{kept}")

    tab.goto(f"{site.url}/incidents/{gone}")
    expect(tab.locator("body")).to_have_attribute("data-view-state", "ready", timeout=WAIT)
    button = tab.locator("#delete-incident")
    button.click()
    button.click()
    tab.wait_for_url(re.compile(r"/incidents$"), timeout=WAIT)
    assert site.row(gone) is None and site.count() == 1
