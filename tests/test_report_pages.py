"""Report pages, downloads, saved reports and collectives through HTTP: who may see what,
every kind of bad input refused with a reason, and the figures a reader gets."""

from __future__ import annotations

import csv
import io
import random
import re
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskCliRunner
from openpyxl import load_workbook

from app.extensions import db
from app.models import (
    AuditEvent,
    Collective,
    CollectiveMember,
    Incident,
    OrgTerm,
    SavedReport,
    utcnow,
)
from tests.actors import Browser
from tests.people import joined, make_coordinator, org_of
from tests.report_data import add_incidents

YEAR = {"from": "2025-01", "to": "2025-12"}


def _count(rows: list[dict[str, Any]], consent_floor: bool = False) -> int:
    return sum(1 for r in rows if r["status"] == "complete" and (
        not consent_floor or r["consent"] != "org_only"))


def _headline(body: str) -> int:
    found = re.search(r"<dt>Incidents</dt><dd>([\d,]+)</dd>", body)
    assert found, body[:2000]
    return int(found.group(1).replace(",", ""))


@pytest.fixture
def rows(coordinator: Browser) -> list[dict[str, Any]]:
    return add_incidents(org_of(), 90, random.Random(4))


@pytest.fixture
def other(runner: FlaskCliRunner, new_browser: Callable[[str], Browser]) -> Browser:
    """The coordinator of a second organisation, with incidents of its own."""
    coord = make_coordinator(runner, new_browser, "Night Owls", "owls@example.org")
    add_incidents(org_of("Night Owls"), 60, random.Random(9))
    return coord


def test_internal_report_counts_every_complete_incident(coordinator: Browser,
                                                        rows: list[dict[str, Any]]) -> None:
    response = coordinator.get("/reports/view", query_string=YEAR)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert _headline(body) == _count(rows)
    assert "Internal report" in body and "<svg" in body and "Methodology" in body


def test_published_report_counts_only_consented_incidents(coordinator: Browser,
                                                          rows: list[dict[str, Any]]) -> None:
    response = coordinator.get("/reports/view", query_string=YEAR | {"publish": "1"})
    assert response.status_code == 200
    assert _headline(response.get_data(as_text=True)) == _count(rows, consent_floor=True)


def test_methodology_says_how_the_figures_were_made(coordinator: Browser,
                                                   rows: list[dict[str, Any]]) -> None:
    """A published report's methodology names its scope, window, comparison, filters,
    consent rule, suppression rule with k, vocabulary version and generation time."""
    query = YEAR | {"publish": "1", "four_p": "protection", "compare_from": "2024-01",
                    "compare_to": "2024-12"}
    response = coordinator.get("/reports/view", query_string=query)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    method = re.sub(r"\s+", " ", body[body.index('id="method-h"'):])
    for words in ("Scope: Red Umbrella.", "Window: Jan 2025 to Dec 2025.",
                  "Compared with: Jan 2024 to Dec 2024.", "Protection",
                  "only incidents whose consent allows aggregate use",
                  "a count from 1 to 4 is shown as &#34;fewer than 5&#34;",
                  "Vocabulary version 1.", "Generated "):
        assert words in method, words
    internal = coordinator.get("/reports/view", query_string=YEAR).get_data(as_text=True)
    assert "Filters: none." in internal and "exact counts of all its complete" in internal


@pytest.mark.parametrize("args,message", [
    ({"from": "2025-06", "to": "2025-01"}, "ends (2025-01) before it starts"),
    ({"from": "2025-13", "to": "2025-12"}, "write the month as YYYY-MM"),
    ({"from": "２０２５-01", "to": "２０２５-12"}, "write the month as YYYY-MM"),
    ({"from": "2025-01"}, "Give both the first and the last month"),
    ({"kinds": "nope"} | YEAR, "Unknown code"),
    ({"country": "XX"} | YEAR, "Unknown code"),
    ({"compare_from": "2025-06", "compare_to": "2026-01"} | YEAR, "overlaps"),
    ({"publish": "1", "from": "2025-02", "to": "2025-12"}, "whole calendar quarters"),
])
def test_bad_input_is_refused_with_a_reason(coordinator: Browser, rows: Any,
                                            args: dict[str, str], message: str) -> None:
    response = coordinator.get("/reports/view", query_string=args)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_an_empty_selection_says_so(coordinator: Browser, rows: Any) -> None:
    body = coordinator.get("/reports/view", query_string={"from": "2010-01",
                                                          "to": "2010-03"}).get_data(True)
    assert "No incidents match" in body and "<svg" not in body


def test_who_may_report(coordinator: Browser, new_browser: Callable[[str], Browser],
                        rows: Any) -> None:
    outreach = joined(coordinator, new_browser, "out@example.org", "outreach")
    analyst = joined(coordinator, new_browser, "an@example.org", "analyst")
    for who in (outreach, analyst):
        assert coordinator.confirm(who.user_id).status_code == 200
        assert who.login().status_code == 200
    assert outreach.get("/reports").status_code == 403
    assert outreach.get("/reports/view", query_string=YEAR).status_code == 403
    assert analyst.get("/reports/view", query_string=YEAR).status_code == 200
    unknown = coordinator.get("/reports/view", query_string=YEAR | {
        "scope": "6f1c2a9e-4b1d-4c55-9a3e-2f0d8c6b1a02"})
    assert unknown.status_code == 404


def test_downloads_carry_the_same_suppression(coordinator: Browser, rows: Any) -> None:
    args = YEAR | {"publish": "1"}
    csv_response = coordinator.get("/reports/download/csv", query_string=args)
    assert csv_response.status_code == 200 and csv_response.mimetype == "text/csv"
    assert "attachment" in csv_response.headers["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(csv_response.get_data().decode("utf-8-sig"))))
    assert lines[0] == ["table", "category", "window", "count", "note"]
    hidden = [line for line in lines[1:] if len(line) == 5 and line[4] == "fewer than 5"]
    assert hidden and all(line[3] == "" for line in hidden)
    shown = [int(line[3]) for line in lines[1:] if len(line) == 5 and line[3]
             and line[2] != "Change"]
    assert all(v == 0 or v >= 5 for v in shown)

    xlsx = coordinator.get("/reports/download/xlsx", query_string=args)
    book = load_workbook(io.BytesIO(xlsx.get_data()))
    values = [cell for ws in book.worksheets[1:] for row in ws.iter_rows(min_row=2,
                                                                         values_only=True)
              for cell in row[1:] if isinstance(cell, int)]
    assert values and all(v == 0 or v >= 5 for v in values)

    pdf = coordinator.get("/reports/download/pdf", query_string=args)
    assert pdf.status_code == 200 and pdf.get_data()[:5] == b"%PDF-"


@pytest.mark.parametrize("lang,headline,by_area,summary", [
    ("ru", "Основные цифры", "По направлениям политики (4P)", "Сводка"),
    ("th", "ตัวเลขสำคัญ", "ตามด้านนโยบาย (4P)", "สรุป")])
def test_reports_and_their_downloads_speak_the_readers_language(
        coordinator: Browser, rows: Any, tmp_path: Any, lang: str, headline: str,
        by_area: str, summary: str) -> None:
    """The page, the CSV, the XLSX and the PDF of a report in the language the reader chose
    in the header (the codes' labels and the headings translated, the figures the same)."""
    assert coordinator.post_form("/language", {"lang": lang}).status_code == 303
    page = coordinator.get("/reports/view", query_string=YEAR).get_data(as_text=True)
    assert headline in page and by_area in page
    lines = list(csv.reader(io.StringIO(coordinator.get(
        "/reports/download/csv", query_string=YEAR).get_data().decode("utf-8-sig"))))
    assert lines[1][0] == by_area
    book = load_workbook(io.BytesIO(coordinator.get(
        "/reports/download/xlsx", query_string=YEAR).get_data()))
    assert book.sheetnames[0] == summary
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(coordinator.get("/reports/download/pdf", query_string=YEAR).get_data())
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True, timeout=60).stdout
    # pdftotext reads Thai's sara am (U+0E33) back as sara aa: compare without that difference.
    def loose(words: str) -> str:
        return re.sub(r"\s+", " ", words.replace("\u0e33", "\u0e32").replace("\u0e4d", ""))

    assert loose(headline) in loose(text) and loose(by_area.split(" (")[0]) in loose(text)
    assert str(_count(rows)) in text


def test_saved_reports_are_regenerated_and_private(coordinator: Browser, other: Browser,
                                                   rows: Any) -> None:
    response = coordinator.post_form("/reports/save", YEAR | {"title": "Year 2025"})
    assert response.status_code == 302
    url = response.headers["Location"]
    saved = db.session.scalar(sa.select(SavedReport))
    assert saved is not None and saved.params["from"] == "2025-01"
    page = coordinator.get(url)
    assert page.status_code == 200 and _headline(page.get_data(as_text=True)) == _count(rows)
    db.session.refresh(saved)
    assert saved.generated_at is not None
    assert "Year 2025" in coordinator.get("/reports").get_data(as_text=True)
    assert coordinator.get(url + "?format=csv").status_code == 200
    # Another organisation's coordinator can neither open nor delete it.
    assert other.get(url).status_code == 404
    assert other.post_form(url + "/delete", {}).status_code == 404
    assert coordinator.post_form("/reports/save", YEAR | {"title": "  "}).status_code == 400
    assert coordinator.post_form(url + "/delete", {}).status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SavedReport)) == 0


def _collective(runner: FlaskCliRunner, *orgs: str) -> Collective:
    assert runner.invoke(args=["collective", "create", "Network"]).exit_code == 0
    for name in orgs:
        result = runner.invoke(args=["collective", "invite", "Network", name])
        assert result.exit_code == 0, result.output
    found = db.session.scalar(sa.select(Collective))
    assert found is not None
    return found


def _action(who: Browser, collective: Collective, action: str, named: bool = False) -> Any:
    return who.post_form(f"/org/collectives/{collective.pid}/{action}",
                         {"may_be_named": "1"} if named else {})


def test_collective_join_report_and_leave(coordinator: Browser, other: Browser,
                                          runner: FlaskCliRunner, rows: list[dict[str, Any]],
                                          ) -> None:
    collective = _collective(runner, "Red Umbrella", "Night Owls")
    assert collective.pid in coordinator.get("/org/collectives").get_data(as_text=True)
    assert _action(coordinator, collective, "accept", named=True).status_code == 302
    assert _action(other, collective, "accept").status_code == 302
    assert _action(other, collective, "accept").status_code == 302  # refused, flashed
    result = runner.invoke(args=["collective", "appoint", "Network", "coord@example.org"])
    assert result.exit_code == 0, result.output
    # Only people appointed to the collective see it.
    assert other.get("/reports/view", query_string=YEAR | {
        "scope": collective.pid}).status_code == 404

    args = YEAR | {"scope": collective.pid}
    body = coordinator.get("/reports/view", query_string=args).get_data(as_text=True)
    joined_orgs = db.session.scalars(sa.select(CollectiveMember)).all()
    assert [m.status.value for m in joined_orgs] == ["joined", "joined"]
    # Named only with consent: Night Owls did not agree, so it is "1 other organisation".
    assert "Red Umbrella and 1 other organisation" in body and "Night Owls" not in body
    assert "Figures for publication" in body
    total = _headline(body)
    assert total >= _count(rows, consent_floor=True)
    not_quarter = coordinator.get("/reports/view", query_string={
        "scope": collective.pid, "from": "2025-01", "to": "2025-02"})
    assert not_quarter.status_code == 400
    assert "whole calendar quarters" in not_quarter.get_data(as_text=True)

    assert _action(coordinator, collective, "leave").status_code == 302
    after = _headline(coordinator.get("/reports/view", query_string=args).get_data(True))
    assert after == total - _count(rows, consent_floor=True)
    actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert {"collective_joined", "collective_left", "report_generated"} <= actions


def test_collective_threshold(coordinator: Browser, runner: FlaskCliRunner, rows: Any) -> None:
    collective = _collective(runner, "Red Umbrella")
    assert runner.invoke(args=["collective", "threshold", "Network", "2"]).exit_code != 0
    assert runner.invoke(args=["collective", "appoint", "Network", "coord@example.org",
                               "--role", "coordinator"]).exit_code == 0
    page = f"/reports/collectives/{collective.pid}"
    assert coordinator.get(page).status_code == 200
    refused = coordinator.post_form(page + "/threshold", {"k": "2"})
    assert refused.status_code == 400
    assert "from 3 to 50" in refused.get_data(as_text=True)
    assert coordinator.post_form(page + "/threshold", {"k": ""}).status_code == 400
    assert coordinator.post_form(page + "/threshold", {"k": "8"}).status_code == 302
    db.session.refresh(collective)
    assert collective.min_cell == 8


def test_quorums_are_set_by_coordinators_on_their_pages(
        coordinator: Browser, runner: FlaskCliRunner) -> None:
    """An organisation's coordinators set how many of them approve a research extract on the
    members page; a collective's coordinators set the collective's on its page. Bad numbers
    are refused with the reason and change nothing; each change is audited."""
    org = org_of()
    assert org.extract_quorum == 1
    for bad in ("0", "11"):
        refused = coordinator.post_form("/org/settings", {"extract_quorum": bad})
        assert refused.status_code == 400
        assert "whole number from 1 to 10" in refused.get_data(as_text=True)
    assert coordinator.post_form("/org/settings", {"extract_quorum": "x"}).status_code == 400
    db.session.refresh(org)
    assert org.extract_quorum == 1
    assert coordinator.post_form("/org/settings", {"extract_quorum": "2"}).status_code == 302
    db.session.refresh(org)
    assert org.extract_quorum == 2
    assert 'name="extract_quorum" type="number" value="2"' in \
        coordinator.get("/org/members").get_data(as_text=True)
    assert coordinator.post_form("/org/settings", {}).status_code == 302  # empty keeps it
    db.session.refresh(org)
    assert org.extract_quorum == 2

    collective = _collective(runner, "Red Umbrella")
    page = f"/reports/collectives/{collective.pid}"
    assert runner.invoke(args=["collective", "appoint", "Network", "coord@example.org"]
                         ).exit_code == 0  # an analyst first: may look, not decide
    assert coordinator.post_form(page + "/quorum", {"quorum": "3"}).status_code == 403
    assert runner.invoke(args=["collective", "appoint", "Network", "coord@example.org",
                               "--role", "coordinator"]).exit_code == 0
    refused = coordinator.post_form(page + "/quorum", {"quorum": "0"})
    assert refused.status_code == 400
    assert "whole number from 1 to 10" in refused.get_data(as_text=True)
    assert coordinator.post_form(page + "/quorum", {"quorum": "3"}).status_code == 302
    db.session.refresh(collective)
    assert collective.extract_quorum == 3
    assert "approved by 3 of its coordinators" in coordinator.get(page).get_data(as_text=True)
    quorums = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "extract_quorum")).all()
    assert sorted(e.details["quorum"] for e in quorums) == [2, 3]


def test_spreadsheet_formulas_are_never_run(coordinator: Browser) -> None:
    """An organisation's own term is free text: in a CSV it must not become a formula."""
    org = org_of()
    db.session.add(OrgTerm(org_id=org.id, list_name="actors", code="own-1",
                           label='=HYPERLINK("http://evil.example","x")'))
    db.session.commit()
    add_incidents(org, 6, random.Random(2), actors=["own-1"], status="complete")
    body = coordinator.get("/reports/download/csv", query_string=YEAR).get_data()
    lines = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    labels = [line[1] for line in lines if len(line) == 5 and "HYPERLINK" in line[1]]
    assert labels and all(label.startswith("'=") for label in labels)
    counts = [line[3] for line in lines if len(line) == 5 and line[0] == "By actor"]
    assert "6" in counts  # numbers stay numbers


def test_comparison_with_the_window_before(coordinator: Browser) -> None:
    org = org_of()
    add_incidents(org, 7, random.Random(1), months=["2025-02"], kinds=["raid"],
                  status="complete")
    add_incidents(org, 3, random.Random(2), months=["2024-11"], kinds=["raid"],
                  status="complete")
    body = coordinator.get("/reports/view", query_string={
        "from": "2025-01", "to": "2025-03", "compare": "previous"}).get_data(as_text=True)
    assert "compared with Oct 2024 to Dec 2024" in body
    row = re.search(r'<table class="report-table" id="table-kinds">.*?</table>', body, re.S)
    assert row is not None
    raid = re.search(r"<th scope=\"row\">Raid</th>\s*<td[^>]*>7</td><td[^>]*>3</td>\s*"
                     r"<td[^>]*>\+4</td>", row.group(0))
    assert raid, row.group(0)[:1500]


def test_published_case_studies_of_the_scope_and_window(coordinator: Browser) -> None:
    org = org_of()
    add_incidents(org, 2, random.Random(3), months=["2025-05"], consent="aggregate",
                  status="complete")
    add_incidents(org, 1, random.Random(4), months=["2024-05"], consent="aggregate",
                  status="complete")
    for incident, text in zip(db.session.scalars(sa.select(Incident).order_by(Incident.month)),
                              ("Outside the window.", "Evicted after the raid.", "Not yet."),
                              strict=True):
        if text != "Not yet.":
            incident.published_case_study, incident.published_at = text, utcnow()
    db.session.commit()
    body = coordinator.get("/reports/view", query_string=YEAR).get_data(as_text=True)
    assert "Evicted after the raid." in body and "Outside the window." not in body
