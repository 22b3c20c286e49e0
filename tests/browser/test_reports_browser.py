"""A collective report in Chromium, and its PDF read back ("Done when" of issue 6).

Three organisations (one named in Cyrillic, one in Thai) join a collective and consent to be
named; a collective analyst logs in through the real login page, makes the report from the
form, checks the headline figures, downloads the PDF; the PDF is turned into PNG pages
(pdftoppm), its text read (pdftotext) and its fonts listed (pdffonts): the figures are there
as text, and the Cyrillic and Thai names are drawn with fonts that have those scripts, so
no tofu boxes.
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Page, expect

from app.extensions import db
from app.models import CollectiveMember, CollectiveStatus, Organisation, utcnow
from tests.actors import Browser as PyBrowser
from tests.people import make_coordinator
from tests.report_data import add_incidents

pytestmark = pytest.mark.browser

CYRILLIC = "Сеть поддержки"
THAI = "เครือข่ายพนักงานบริการ"
WAIT = 30_000
THAI_FONTS = re.compile(r"Loma|Garuda|Kinnari|Norasi|Waree|Umpush|Sawasdee|Tlwg|Purisa|"
                        r"Laksaman|NotoSansThai|Noto Sans Thai", re.I)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is missing: `make test` installs poppler-utils", pytrace=False)
    return found


def _run(*args: str) -> str:
    return subprocess.run(args, capture_output=True, text=True, check=True, timeout=60).stdout


def _setup(app: Flask) -> dict[str, Any]:
    """Organisations, a collective they joined, incidents, and an analyst appointed to it."""
    runner = app.test_cli_runner()
    with app.app_context():
        analyst = make_coordinator(runner, lambda email: PyBrowser(app.test_client(), email),
                                   "Lead organisation", "analyst@example.org")
        rng = random.Random(6)
        rows: list[dict[str, Any]] = []
        assert runner.invoke(args=["collective", "create", "Regional network"]).exit_code == 0
        for name in (CYRILLIC, THAI, "Rose Alliance"):
            org = Organisation(name=name)
            db.session.add(org)
            db.session.commit()
            result = runner.invoke(args=["collective", "invite", "Regional network", name])
            assert result.exit_code == 0, result.output
            member = db.session.scalar(sa.select(CollectiveMember).where(
                CollectiveMember.org_id == org.id))
            assert member is not None
            member.status, member.joined_at = CollectiveStatus.JOINED, utcnow()
            member.may_be_named = name != "Rose Alliance"
            db.session.commit()
            rows += add_incidents(org, 60, rng, months=[f"2025-{m:02d}" for m in range(1, 13)])
        result = runner.invoke(args=["collective", "appoint", "Regional network",
                                     "analyst@example.org"])
        assert result.exit_code == 0, result.output
        counted = [r for r in rows if r["status"] == "complete" and r["consent"] != "org_only"]
        return {"analyst": analyst, "incidents": len(counted),
                "people": sum(r["people_affected"] for r in counted)}


def test_collective_report_and_its_pdf(live_app: Flask, live_server: str, page: Page,
                                       tmp_path: Path) -> None:
    for tool in ("pdftoppm", "pdftotext", "pdffonts"):
        _tool(tool)
    data = _setup(live_app)
    analyst: PyBrowser = data["analyst"]

    page.goto(live_server + "/login")
    expect(page.locator("body")).to_have_attribute("data-page-state", "ready", timeout=WAIT)
    page.fill("#email", analyst.email)
    page.fill("#passphrase", analyst.passphrase)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(lambda u: "/login" not in u, timeout=WAIT)

    page.goto(live_server + "/reports")
    page.select_option("#scope", label="Regional network (collective)")
    page.fill("#from", "2025-01")
    page.fill("#to", "2025-12")
    page.click("form.report-form button[type=submit]")
    page.wait_for_url(re.compile(r"/reports/view\?"), timeout=WAIT)
    headline = page.locator(".headline")
    incidents = f"{data['incidents']:,}"
    people = f"{data['people']:,}"
    expect(headline).to_contain_text(f"Incidents{incidents}")
    expect(headline).to_contain_text(f"People affected{people}")
    expect(page.locator(".report-head")).to_contain_text(
        f"{CYRILLIC}, {THAI} and 1 other organisation")
    expect(page.locator("#method-h")).to_be_visible()
    assert page.locator("svg[role=img]").count() >= 3  # 4P, kinds, months

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download PDF").click()
    pdf = tmp_path / "report.pdf"
    download_info.value.save_as(pdf)
    assert pdf.read_bytes()[:5] == b"%PDF-"

    _run("pdftoppm", "-png", "-r", "60", str(pdf), str(tmp_path / "page"))
    pages = sorted(tmp_path.glob("page-*.png"))
    assert pages, "pdftoppm made no pages"
    assert all(p.stat().st_size > 5_000 for p in pages[:1]), "the first page looks blank"

    text = _run("pdftotext", "-raw", str(pdf), "-")  # drawing order: a label, then its figure
    assert re.search(rf"Incidents\s+{re.escape(incidents)}", text), text[:1500]
    assert re.search(rf"People affected\s+{re.escape(people)}", text), text[:1500]
    flat = " ".join(text.split())
    assert CYRILLIC in flat and THAI.replace(" ", "") in flat.replace(" ", "")

    fonts = _run("pdffonts", str(pdf))
    assert "DejaVu" in fonts, fonts  # Latin and Cyrillic
    assert THAI_FONTS.search(fonts), f"no Thai font embedded, Thai would be tofu:\n{fonts}"
    assert not re.search(r"LastResort|notdef", fonts, re.I), fonts
