"""A collective report in Chromium, and its PDF read back ("Done when" of issue 6).

Three organisations (one named in Cyrillic, one in Thai, one in Latin letters that asked not to
be named) join a collective; a collective analyst logs in through the real login page, makes
the report from the form, checks the headline figures against a count by hand, and downloads
the PDF. The PDF is turned into PNG pages (pdftoppm), its text read (pdftotext) and its fonts
listed (pdffonts): the figures are there as text, and the Cyrillic and Thai names are drawn
with fonts that have those scripts, so no tofu boxes. WeasyPrint draws a missing glyph as
.notdef and says so in a warning (the text still extracts), so the warnings are checked too.
"""

from __future__ import annotations

import logging
import random
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from PIL import Image  # a WeasyPrint dependency
from playwright.sync_api import Page, expect

from app.extensions import db
from app.models import CollectiveMember, CollectiveStatus, Organisation, utcnow
from tests.actors import Browser as PyBrowser
from tests.people import make_coordinator
from tests.report_data import add_incidents

pytestmark = pytest.mark.browser

COLLECTIVE = "Regional network"
CYRILLIC = "Сеть поддержки"
THAI = "เครือข่ายพนักงานบริการ"
UNNAMED = "Rose Alliance"  # joined, but did not agree to be named
ANALYST = "report-analyst@example.org"
WAIT = 30_000
THAI_FONTS = re.compile(r"Loma|Garuda|Kinnari|Norasi|Waree|Umpush|Sawasdee|Tlwg|Purisa|"
                        r"Laksaman|NotoSansThai|Noto Sans Thai", re.I)
NOTDEF = ".notdef glyph rendered"  # WeasyPrint's warning when no font has a character


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:  # fail, never skip: a green run must mean the PDF was read back
        pytest.fail(f"{name} is missing: run `make test` (it installs poppler-utils)",
                    pytrace=False)
    return found


def _run(*args: str) -> str:
    return subprocess.run(args, capture_output=True, text=True, check=True, timeout=60).stdout


def _setup(app: Flask) -> dict[str, Any]:
    """Organisations that joined a collective, their incidents, and an analyst appointed to
    it; returns the headline figures counted by hand."""
    runner = app.test_cli_runner()

    def cli(*args: str) -> None:
        result = runner.invoke(args=list(args))
        assert result.exit_code == 0, result.output

    with app.app_context():
        # The analyst is the coordinator of an organisation outside the collective.
        analyst = make_coordinator(runner, lambda email: PyBrowser(app.test_client(), email),
                                   "Lead organisation", ANALYST)
        rng = random.Random(6)
        rows: list[dict[str, Any]] = []
        cli("collective", "create", COLLECTIVE)
        for name in (CYRILLIC, THAI, UNNAMED):
            org = Organisation(name=name)
            db.session.add(org)
            db.session.commit()
            cli("collective", "invite", COLLECTIVE, name)
            member = db.session.scalar(sa.select(CollectiveMember).where(
                CollectiveMember.org_id == org.id))
            assert member is not None
            member.status, member.joined_at = CollectiveStatus.JOINED, utcnow()
            member.may_be_named = name != UNNAMED
            db.session.commit()
            rows += add_incidents(org, 60, rng, months=[f"2025-{m:02d}" for m in range(1, 13)])
            # Outside the window: never counted.
            rows += add_incidents(org, 3, rng, months=["2024-12", "2026-01"])
        cli("collective", "appoint", COLLECTIVE, ANALYST, "--role", "analyst")
    counted = [r for r in rows if r["status"] == "complete"
               and r["consent"] in ("aggregate", "research")
               and "2025-01" <= r["month"] <= "2025-12"]
    return {"analyst": analyst, "incidents": len(counted),
            "people": sum(r["people_affected"] for r in counted)}


def _login(page: Page, base: str, who: PyBrowser) -> None:
    """The real login page: the passphrase is stretched with Argon2id in the page."""
    page.goto(base + "/login")
    expect(page.locator("body")).to_have_attribute("data-page-state", "ready", timeout=WAIT)
    page.fill("#email", who.email)
    page.fill("#passphrase", who.passphrase)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(lambda u: "/login" not in u, timeout=WAIT)


def _not_blank(png: Path) -> bool:
    """Some ink: at least 1 % of the pixels clearly darker than the white page."""
    with Image.open(png) as image:
        grey = image.convert("L")
        dark = sum(grey.histogram()[:160])
        return dark > grey.width * grey.height // 100


def _tofu(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if NOTDEF in r.getMessage()]


def test_collective_report_and_its_pdf(live_app: Flask, live_server: str, page: Page,
                                       tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    for tool in ("pdftoppm", "pdftotext", "pdffonts"):
        _tool(tool)
    caplog.set_level(logging.WARNING, logger="weasyprint")
    data = _setup(live_app)
    incidents, people = f"{data['incidents']:,}", f"{data['people']:,}"

    _login(page, live_server, data["analyst"])
    page.goto(live_server + "/reports")
    page.select_option("#scope", label=f"{COLLECTIVE} (collective)")
    page.fill("#from", "2025-01")
    page.fill("#to", "2025-12")
    page.click("form.report-form button[type=submit]")
    page.wait_for_url(re.compile(r"/reports/view\?"), timeout=WAIT)

    headline = page.locator("dl.headline")
    figures = dict(zip(headline.locator("dt").all_inner_texts(),
                       headline.locator("dd").all_inner_texts(), strict=True))
    assert figures["Incidents"] == incidents, figures
    assert figures["People affected"] == people, figures
    expect(page.locator(".report-head")).to_contain_text(
        f"Organisations included: {CYRILLIC}, {THAI} and 1 other organisation.")
    assert UNNAMED not in page.inner_text("main")
    expect(page.locator("#method-h")).to_have_text("Methodology")
    assert page.locator("svg[role=img]").count() >= 3  # 4P, kinds, months

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download PDF").click()
    download = download_info.value
    assert download.suggested_filename == "collateral-report-2025-01-2025-12.pdf"
    pdf = tmp_path / "report.pdf"
    download.save_as(pdf)
    assert pdf.read_bytes()[:5] == b"%PDF-"

    _run("pdftoppm", "-png", "-r", "60", str(pdf), str(tmp_path / "page"))
    pages = sorted(tmp_path.glob("page-*.png"))
    assert pages, "pdftoppm made no pages"
    assert _not_blank(pages[0]), "the first page of the PDF is blank"

    text = _run("pdftotext", "-raw", str(pdf), "-")  # drawing order: a label, then its figure
    assert re.search(rf"^Incidents\n{re.escape(incidents)}$", text, re.M), text[:1500]
    assert re.search(rf"^People affected\n{re.escape(people)}$", text, re.M), text[:1500]
    assert "Methodology" in text
    assert CYRILLIC in text and THAI in text, text[:600]
    assert UNNAMED not in text
    layout = _run("pdftotext", "-layout", "-f", "1", "-l", "1", str(pdf), "-")
    assert CYRILLIC in layout and THAI in layout.replace(" ", ""), layout[:600]

    fonts = _run("pdffonts", str(pdf))
    embedded = [line for line in fonts.splitlines()[2:] if " yes " in line]
    assert any("DejaVu" in line for line in embedded), fonts  # Latin and Cyrillic
    assert any(THAI_FONTS.search(line) for line in embedded), \
        f"no Thai font embedded, Thai would be tofu:\n{fonts}"
    assert not re.search(r"LastResort|notdef", fonts, re.I), fonts
    assert _tofu(caplog) == [], "characters no font has were drawn as boxes"

    # The check above can fail: a character that no installed font has is reported.
    from weasyprint import HTML

    HTML(string="<p>\U000f0000</p>").write_pdf()  # a private-use character in plane 15
    assert _tofu(caplog), "WeasyPrint no longer reports missing glyphs; change this test"
