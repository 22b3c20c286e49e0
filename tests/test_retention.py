"""Retention: a coordinator sets a rule in months; `flask retention run` destroys the sealed tier
and attachments of old incidents, keeps their coded tier (reports do not change), is safe to
repeat and audited; the pages and the API handle an incident without a sealed tier; and the
destroyed ciphertext is gone from the database file (SQLite, write-ahead log included) or from
the rows and a dump (PostgreSQL)."""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import current_app
from flask.testing import FlaskCliRunner

from app.audit_verify import verify_all
from app.crypto import b64u_decode
from app.extensions import db
from app.i18n import format_day
from app.models import Attachment, AuditEvent, Incident, Organisation, utcnow
from app.retention.service import months_before
from tests.actors import Browser
from tests.conftest import backend
from tests.incident_data import form_fields, sealed_file, sealed_incident
from tests.people import joined, make_coordinator, org_of
from tests.report_data import add_incidents

LONG_AGO = datetime(2019, 6, 1, tzinfo=UTC)


@dataclass
class Logged:
    id: str
    ct: str                 # the sealed tier's ciphertext (b64u, as stored in the envelope)
    attachment: bytes | None  # the attachment's ciphertext, as stored


def log(who: Browser, marker: str, attachment_size: int | None = 6000,
        **coded: Any) -> Logged:
    """An incident logged through the incident form, sealed (with an attachment) in Python."""
    org_id = org_of().pid
    incident = sealed_incident(who.org_keys[1], org_id, 1, {
        "narrative": f"{marker} narrative " * 40, "place": f"{marker} place"}, **coded)
    data = form_fields(incident) | {"attachments_meta": "[]"}
    stored = None
    if attachment_size is not None:
        meta, stored, _ = sealed_file(who.org_keys[1], org_id, incident["id"], 1,
                                      attachment_size)
        data |= {"attachments_meta": json.dumps([meta]),
                 f"attachment-{meta['id']}": (io.BytesIO(stored), "blob")}
    who.get("/incidents/new")
    response = who.client.post("/incidents/new", data=data, headers={
        "X-CSRFToken": who.csrf, "Accept": "application/json"},
        content_type="multipart/form-data")
    assert response.status_code == 201, response.get_data(as_text=True)
    return Logged(incident["id"], incident["sealed"]["ct"], stored)


def age(*logged: Logged, month: str = "2019-05", saved: datetime = LONG_AGO) -> None:
    """Make incidents old: an old month, last saved long ago."""
    db.session.execute(sa.update(Incident).where(Incident.public_id.in_(
        [uuid.UUID(x.id) for x in logged])).values(month=month, updated_at=saved))
    db.session.commit()


def row(logged: Logged) -> Incident:
    db.session.expire_all()
    found = db.session.scalar(sa.select(Incident).where(
        Incident.public_id == uuid.UUID(logged.id)))
    assert found is not None
    return found


def set_rule(coord: Browser, months: str, require_2fa: bool = False) -> Any:
    coord.get("/org/members")
    fields = {"retention_months": months} | ({"require_2fa": "y"} if require_2fa else {})
    return coord.post_form("/org/settings", fields)


def run(runner: FlaskCliRunner, *args: str) -> str:
    db.session.remove()
    result = runner.invoke(args=["retention", "run", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return result.output


# The rule.

@pytest.mark.parametrize("moment,months,expected", [
    (datetime(2026, 3, 31, 12, tzinfo=UTC), 1, datetime(2026, 2, 28, 12, tzinfo=UTC)),
    (datetime(2024, 3, 31, tzinfo=UTC), 1, datetime(2024, 2, 29, tzinfo=UTC)),
    (datetime(2026, 1, 15, tzinfo=UTC), 1, datetime(2025, 12, 15, tzinfo=UTC)),
    (datetime(2026, 11, 29, tzinfo=UTC), 24, datetime(2024, 11, 29, tzinfo=UTC)),
    (datetime(2026, 5, 1, tzinfo=UTC), 600, datetime(1976, 5, 1, tzinfo=UTC)),
])
def test_months_before_counts_calendar_months(moment: datetime, months: int,
                                              expected: datetime) -> None:
    assert months_before(moment, months) == expected


def test_a_coordinator_sets_and_clears_the_rule_and_it_is_audited(
        coordinator: Browser, new_browser: Callable[[str], Browser]) -> None:
    page = coordinator.get("/org/members").get_data(as_text=True)
    assert "Destroy the sealed details of old incidents after this many months" in page
    response = set_rule(coordinator, "24", require_2fa=False)
    assert response.status_code == 302
    assert org_of().retention_months == 24
    page = coordinator.get("/org/members").get_data(as_text=True)
    assert 'value="24"' in page and "Not applied yet" in page
    assert set_rule(coordinator, "").status_code == 302
    db.session.expire_all()
    assert org_of().retention_months is None
    changes = db.session.scalars(sa.select(AuditEvent.details).where(
        AuditEvent.action == "org_retention_policy").order_by(AuditEvent.seq)).all()
    assert changes == [{"months": 24}, {"months": None}]
    # Saving the form again without a change records nothing new.
    assert set_rule(coordinator, "").status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).where(
        AuditEvent.action == "org_retention_policy")) == 2
    # Only coordinators may change it.
    analyst = joined(coordinator, new_browser, "ana@example.org", "analyst")
    assert set_rule(analyst, "1").status_code == 403
    db.session.expire_all()
    assert org_of().retention_months is None


@pytest.mark.parametrize("value", ["0", "601", "-3", "twelve", "1.5"])
def test_a_bad_period_is_refused_with_a_reason(coordinator: Browser, value: str) -> None:
    set_rule(coordinator, "12")
    response = set_rule(coordinator, value, require_2fa=True)
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "field-error" in body and ("between 1 and 600" in body or "integer" in body)
    db.session.expire_all()
    org = org_of()
    assert (org.retention_months, org.require_2fa) == (12, False)  # nothing half-saved


# Running it.

def test_run_destroys_old_sealed_tiers_keeps_the_coded_tier_and_is_idempotent(
        coordinator: Browser, outreach: Browser, runner: FlaskCliRunner) -> None:
    old = log(outreach, "OLD-ONE")
    old_no_file = log(outreach, "OLD-TWO", attachment_size=None)
    recent = log(outreach, "RECENT")
    old_month_saved_lately = log(outreach, "TOUCHED")
    age(old, old_no_file)
    age(old_month_saved_lately, saved=utcnow() - timedelta(days=20))
    set_rule(coordinator, "24")
    before = {x.id: (row(x).month, row(x).version, sorted(row(x).values("kinds")))
              for x in (old, old_no_file)}

    output = run(runner)
    assert "Red Umbrella: 2 incident(s) older than 24 month(s) lost their sealed tier; " \
           "1 attachment(s) deleted." in output
    for gone in (old, old_no_file):
        incident = row(gone)
        assert incident.sealed is None and incident.sealed_destroyed_at is not None
        assert incident.attachments == []
        month, version, kinds = before[gone.id]
        assert (incident.month, incident.version, sorted(incident.values("kinds"))) == (
            month, version + 1, kinds)
    for kept in (recent, old_month_saved_lately):
        incident = row(kept)
        assert incident.sealed is not None and incident.sealed["ct"] == kept.ct
        assert incident.sealed_destroyed_at is None and len(incident.attachments) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 2

    # A second run finds nothing more to destroy, and says so in the audit log too.
    assert "Red Umbrella: 0 incident(s)" in run(runner)
    runs = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "retention_run").order_by(AuditEvent.seq)).all()
    assert [(e.details, e.actor_id, e.object_id) for e in runs] == [
        ({"months": 24, "incidents": 2, "attachments": 1}, None, org_of().pid),
        ({"months": 24, "incidents": 0, "attachments": 0}, None, org_of().pid)]
    page = coordinator.get("/org/members").get_data(as_text=True)
    assert "0 incident(s) lost their sealed details" in page
    with runner.app.test_request_context():
        assert all(state.ok for state in verify_all())


def test_organisations_without_a_rule_are_left_alone(
        coordinator: Browser, outreach: Browser, runner: FlaskCliRunner,
        new_browser: Callable[[str], Browser]) -> None:
    old = log(outreach, "MINE")
    age(old)
    assert run(runner).startswith("No organisation has a retention rule.")
    assert row(old).sealed is not None
    # A second organisation sets a rule; the first is still untouched.
    owls = make_coordinator(runner, new_browser, "Night Owls", "owls@example.org")
    set_rule(owls, "1")
    output = run(runner)
    assert "Night Owls: 0 incident(s)" in output and "Red Umbrella" not in output
    assert row(old).sealed is not None


def test_reports_count_destroyed_incidents_as_before(coordinator: Browser, outreach: Browser,
                                                     runner: FlaskCliRunner) -> None:
    org = org_of()
    add_incidents(org, 80, random.Random(3), months=[f"2019-{m:02d}" for m in range(1, 13)])
    db.session.execute(sa.update(Incident).where(Incident.org_id == org.id).values(
        updated_at=LONG_AGO))
    db.session.commit()
    add_incidents(org, 40, random.Random(4), months=["2026-01", "2026-02"])
    query = {"from": "2019-01", "to": "2026-06"}
    before = coordinator.get("/reports/download/csv", query_string=query)
    assert before.status_code == 200
    headline_before = headline_block(
        coordinator.get("/reports/view", query_string=query).get_data(as_text=True))
    assert "<dt>Incidents</dt>" in headline_before
    set_rule(coordinator, "36")
    assert "Red Umbrella: 80 incident(s)" in run(runner)
    after = coordinator.get("/reports/download/csv", query_string=query)
    # Every figure the same; only the methodology's generation time (to the second) may move.
    assert without_generated(after.get_data(as_text=True)) == \
        without_generated(before.get_data(as_text=True))
    headline = coordinator.get("/reports/view", query_string=query).get_data(as_text=True)
    assert headline_block(headline) == headline_before


def headline_block(page: str) -> str:
    start = page.index('<dl class="headline">')
    return page[start:page.index("</dl>", start)]


def without_generated(csv_text: str) -> list[str]:
    lines = csv_text.splitlines()
    assert any(line.startswith('"Generated ') for line in lines)
    return [line for line in lines if not line.startswith('"Generated ')]


# Pages and API for an incident without a sealed tier.

def test_pages_and_api_handle_a_destroyed_sealed_tier(
        coordinator: Browser, outreach: Browser, runner: FlaskCliRunner,
        new_browser: Callable[[str], Browser]) -> None:
    analyst = joined(coordinator, new_browser, "ana@example.org", "analyst")
    assert coordinator.confirm(analyst.user_id).status_code == 200
    assert analyst.login().status_code == 200
    gone, kept = log(outreach, "GONE"), log(outreach, "KEPT")
    age(gone)
    set_rule(coordinator, "12")
    run(runner)
    when = row(gone).sealed_destroyed_at
    assert when is not None
    with current_app.test_request_context():  # the page writes the day in its language
        date = format_day(when)

    for who in (coordinator, outreach, analyst):
        page = who.get(f"/incidents/{gone.id}").get_data(as_text=True)
        assert "Sealed details destroyed" in page and date in page
        assert f"/incidents/{gone.id}/edit" not in page
        assert 'data-sealed=""' in page or "data-sealed" not in page
    page = coordinator.get(f"/incidents/{kept.id}").get_data(as_text=True)
    assert "Sealed details destroyed" not in page and f"/incidents/{kept.id}/edit" in page

    # Editing is closed, and says why; the form page sends the person back to the incident.
    edit = outreach.get(f"/incidents/{gone.id}/edit")
    assert edit.status_code == 302 and edit.headers["Location"].endswith(f"/incidents/{gone.id}")
    assert "retention rule" in outreach.get(f"/incidents/{gone.id}").get_data(as_text=True)
    stale = sealed_incident(outreach.org_keys[1], org_of().pid, 1, record_id=gone.id)
    response = outreach.client.post(f"/incidents/{gone.id}/edit", data=form_fields(stale, 1),
                                    headers={"X-CSRFToken": outreach.csrf},
                                    content_type="multipart/form-data")
    assert response.status_code == 409 and "retention rule" in (response.json or {})["error"]
    url = f"/api/v1/incidents/{gone.id}"
    put = outreach.client.put(url, json={"version": row(gone).version, "coded": stale["coded"],
                                         "sealed": stale["sealed"]},
                              headers={"X-CSRFToken": outreach.csrf})
    assert put.status_code == 409 and "retention rule" in (put.json or {})["error"]
    meta, ct, _ = sealed_file(outreach.org_keys[1], org_of().pid, gone.id, 1, 100)
    upload = outreach.client.post(f"{url}/attachments", data={
        "meta": json.dumps(meta), "file": (io.BytesIO(ct), "blob")},
        headers={"X-CSRFToken": outreach.csrf}, content_type="multipart/form-data")
    assert upload.status_code == 409
    assert row(gone).sealed is None and row(gone).attachments == []

    # The API returns it with sealed null and the date; the search feed skips it.
    item = outreach.client.get(url).json or {}
    assert item["sealed"] is None
    assert item["sealed_destroyed_at"].startswith(when.strftime("%Y-%m-%d"))
    assert item["attachments"] == [] and item["kinds"]
    listed = {i["id"]: i for i in (outreach.client.get("/api/v1/incidents").json or {})["items"]}
    assert listed[gone.id]["sealed"] is None and listed[kept.id]["sealed"]["ct"] == kept.ct
    assert listed[kept.id]["sealed_destroyed_at"] is None
    feed = outreach.client.get("/api/v1/incidents/sealed").json or {}
    assert [i["id"] for i in feed["items"]] == [kept.id] and feed["total"] == 1
    assert "sealed details destroyed" in coordinator.get("/incidents").get_data(as_text=True)
    spec = coordinator.client.get("/api/v1/openapi.json").json or {}
    assert "sealed_destroyed_at" in json.dumps(spec)

    # It can still be deleted as a whole.
    deleted = coordinator.client.delete(url, headers={"X-CSRFToken": coordinator.csrf})
    assert deleted.status_code == 200


# The destroyed ciphertext leaves the database.

def _fraction(needle: bytes, haystack: bytes, size: int = 32) -> float:
    """How much of `needle` is still in `haystack`, in `size`-byte pieces (a row may be cut
    over several pages, so the whole needle need not be in one place)."""
    pieces = [needle[i:i + size] for i in range(0, len(needle) - size + 1, size)]
    return sum(piece in haystack for piece in pieces) / len(pieces)


def _sqlite_file() -> bytes:
    path = db.engine.url.database
    assert path and os.path.exists(path)
    wal = Path(path + "-wal")
    return Path(path).read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def _pg_dump() -> bytes:
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    return subprocess.run(["pg_dump", "--data-only", url], check=True,
                          capture_output=True).stdout


def _seized() -> bytes:
    """What a copy of the database shows: the SQLite file and its WAL, or a PostgreSQL dump
    (bytea appears there in hex)."""
    if backend() == "sqlite":
        return _sqlite_file()
    return _pg_dump()


def _as_stored(data: bytes) -> bytes:
    return data if backend() == "sqlite" else data.hex().encode()


def test_destroyed_ciphertext_is_gone_from_the_database(
        coordinator: Browser, outreach: Browser, runner: FlaskCliRunner) -> None:
    old = [log(outreach, f"SEIZE-ME-{n}", attachment_size=9000) for n in range(3)]
    kept = [log(outreach, f"KEEP-ME-{n}", attachment_size=9000) for n in range(2)]
    age(*old)
    set_rule(coordinator, "12")
    db.session.remove()
    seized = _seized()
    for x in old + kept:  # the check can see them while they are there
        assert _fraction(x.ct.encode(), seized) > 0.9
        assert x.attachment is not None and _fraction(_as_stored(x.attachment), seized) > 0.9
    assert b"SEIZE-ME" not in seized  # sealed: never in clear, before or after

    output = run(runner)
    assert "3 incident(s)" in output
    for vacuum in (False, True):
        if vacuum:
            assert "0 incident(s)" in run(runner, "--vacuum")
        db.session.remove()
        seized = _seized()
        for x in old:
            assert x.attachment is not None
            assert _fraction(x.ct.encode(), seized) == 0, (vacuum, x.id)
            assert _fraction(_as_stored(x.attachment), seized) == 0, (vacuum, x.id)
        for x in kept:
            assert x.attachment is not None
            assert _fraction(x.ct.encode(), seized) > 0.9
            assert _fraction(_as_stored(x.attachment), seized) > 0.9
    # The rows themselves hold none of it either.
    for x in old:
        assert row(x).sealed is None
    held = db.session.scalars(sa.select(Attachment.ciphertext)).all()
    assert sorted(held) == sorted(x.attachment for x in kept if x.attachment)
    if backend() == "sqlite":
        path = db.engine.url.database
        assert path and (not os.path.exists(path + "-wal")
                         or os.path.getsize(path + "-wal") == 0)


def test_a_destroyed_envelope_cannot_come_back_through_the_api(
        coordinator: Browser, outreach: Browser, runner: FlaskCliRunner) -> None:
    """Whoever kept a copy of the old envelope cannot store it again: the incident is closed,
    and a new incident cannot reuse the envelope (its IV is still known, and its AAD names
    the old record)."""
    gone = log(outreach, "COPY", attachment_size=None)
    copy = dict(row(gone).sealed or {})
    age(gone)
    set_rule(coordinator, "12")
    run(runner)
    fresh = sealed_incident(outreach.org_keys[1], org_of().pid, 1) | {"sealed": copy}
    response = outreach.post_json("/api/v1/incidents", fresh)
    assert response.status_code in (400, 409)
    assert row(gone).sealed is None
    assert b64u_decode(copy["ct"])  # it was a real envelope


def test_run_on_an_organisation_object_without_a_rule_is_refused(app: Any) -> None:
    from app.retention import service

    org = Organisation(name="No rule")
    db.session.add(org)
    db.session.commit()
    with pytest.raises(ValueError):
        service.apply(org)
