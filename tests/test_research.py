"""Research requests end to end in Python: a researcher invited by an organisation registers
(a key pair like any member), asks, a coordinator approves, the extract is generated and
sealed to the researcher; refusals, bad input, access and expiry."""

from __future__ import annotations

import csv
import io
import json
import random
import subprocess
import sys
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, url_for
from werkzeug.datastructures import MultiDict

from app.crypto import open_export
from app.extensions import db
from app.models import AuditEvent, ExtractRequest, RequestStatus, User, utcnow
from app.payload import BadInput
from app.research import service
from tests.actors import Browser
from tests.people import org_of
from tests.report_data import add_incidents

FORM = {"from": "2025-01", "to": "2025-12", "purpose": "Effects of raids on earnings.",
        "institution": "University of Somewhere", "ethics_ref": "ERC-2026-17", "k": "5"}


def _user(browser: Browser) -> User:
    found = db.session.scalar(sa.select(User).where(User.email == browser.email))
    assert found is not None
    return found


@pytest.fixture(autouse=True)
def in_request(app: Flask) -> Any:
    """The service's messages are translated, so they need a request (as in the app)."""
    with app.test_request_context():
        yield


@pytest.fixture
def researcher(app: Flask, coordinator: Browser,
               new_browser: Callable[[str], Browser]) -> Browser:
    return _invited_researcher(app, coordinator, "Red Umbrella", "res@example.org", "Rae",
                               new_browser)


def _invited_researcher(app: Flask, inviter: Browser, org: str, email: str, name: str,
                        new_browser: Callable[[str], Browser]) -> Browser:
    """A researcher invited by `inviter` for their organisation, registered and logged in."""
    token = service.invite_researcher(email, _user(inviter), org=org_of(org))
    db.session.commit()
    assert token is not None
    with app.test_request_context():
        link = url_for("auth.register_page", token=token)
    person = new_browser(email)
    assert person.register(link, name).status_code == 201
    assert person.login().status_code == 200
    return person


def _approved_extract(coordinator: Browser, researcher: Browser) -> tuple[ExtractRequest, Any]:
    """300 incidents, a request over them approved by the coordinator, its extract made."""
    add_incidents(org_of(), 300, random.Random(8))
    request = service.create_request(_user(researcher), _form())
    service.decide(_user(coordinator), request, True, "")
    db.session.commit()
    extract = service.extract_of(request)
    assert extract is not None
    return request, extract


def _form(**changes: Any) -> MultiDict[str, str]:
    data = MultiDict(FORM | {"scope": f"org:{org_of().pid}",
                             "retention_until": (date.today() + timedelta(days=365)).isoformat()})
    for name, value in changes.items():
        if isinstance(value, list):
            data.setlist(name, value)
        else:
            data[name] = value
    if "fields" not in changes:
        data.setlist("fields", ["kinds", "country", "month"])
    return data


def test_request_approved_generated_and_sealed_to_the_researcher(
        coordinator: Browser, researcher: Browser) -> None:
    rows = add_incidents(org_of(), 300, random.Random(8))
    request = service.create_request(_user(researcher), _form())
    db.session.commit()
    assert request.status.value == "pending"
    assert service.to_review(_user(coordinator)) == [request]
    service.decide(_user(coordinator), request, True, "")
    db.session.commit()
    assert request.status == RequestStatus.READY, request.status_reason
    extract = service.extract_of(request)
    assert extract is not None and extract.achieved_k >= 5
    path = service.file_for(_user(researcher), extract, "data")
    assert researcher.private_key is not None
    text = open_export(path.read_bytes(), researcher.private_key, researcher.user_id).decode()
    lines = list(csv.DictReader(io.StringIO(text)))
    research = [r for r in rows if r["consent"] == "research" and r["status"] == "complete"]
    assert 0 < len(lines) <= len(research)
    assert set(lines[0]) <= {"kinds", "country", "period"}
    meta = json.loads(open_export(service.file_for(_user(researcher), extract,
                                                   "dictionary").read_bytes(),
                                  researcher.private_key, researcher.user_id))
    assert meta["k_achieved"] == extract.achieved_k and meta["terms"]["ethics_approval"]
    db.session.commit()  # as the download route does: audit events are written at commit
    actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert {"extract_requested", "extract_approved", "extract_generated",
            "extract_downloaded"} <= actions
    # Another person cannot download it; after expiry nobody can, and purge deletes it.
    with pytest.raises(LookupError):
        service.file_for(_user(coordinator), extract, "data")
    assert service.purge(utcnow() + timedelta(days=31)) == 1
    assert not path.exists()
    with pytest.raises(TimeoutError):
        service.file_for(_user(researcher), extract, "data")
    assert service.purge(utcnow() + timedelta(days=31)) == 0  # idempotent


def test_another_researcher_can_neither_ask_for_this_scope_nor_download(
        app: Flask, coordinator: Browser, researcher: Browser, runner: Any,
        new_browser: Callable[[str], Browser]) -> None:
    """A researcher invited by another organisation: a request over Red Umbrella (a real
    organisation that did not invite them) is refused on the scope, and Rae's extract is not
    theirs to download — by the service or by URL."""
    from tests.people import make_coordinator

    request, extract = _approved_extract(coordinator, researcher)
    owls = make_coordinator(runner, new_browser, "Night Owls", "owls@example.org")
    sam = _invited_researcher(app, owls, "Night Owls", "sam@example.org", "Sam", new_browser)
    with pytest.raises(BadInput) as refused:
        service.create_request(_user(sam), _form())
    assert refused.value.field == "scope"
    with pytest.raises(LookupError):
        service.file_for(_user(sam), extract, "data")
    for part in ("data", "dictionary"):
        response = sam.get(f"/research/extracts/{extract.pid}/{part}")
        assert response.status_code == 404, response.status_code
    assert sam.get(f"/research/requests/{request.pid}").status_code == 404
    assert researcher.get(f"/research/extracts/{extract.pid}/data").status_code == 200
    downloads = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "extract_downloaded")).all()
    assert len(downloads) == 1  # Sam's tries downloaded nothing


def test_a_refusal_needs_a_reason_and_ends_the_request(coordinator: Browser,
                                                       researcher: Browser) -> None:
    add_incidents(org_of(), 30, random.Random(1), consent="research")
    request = service.create_request(_user(researcher), _form())
    with pytest.raises(BadInput, match="Say why"):
        service.decide(_user(coordinator), request, False, " ")
    service.decide(_user(coordinator), request, False, "Too close to an open court case.")
    db.session.commit()
    assert request.status == RequestStatus.REFUSED
    assert request.decisions[0].reason == "Too close to an open court case."
    with pytest.raises(BadInput, match="already been decided"):
        service.decide(_user(coordinator), request, True, "")


@pytest.mark.parametrize("changes,field", [
    ({"fields": ["narrative"]}, "fields"), ({"fields": []}, "fields"),
    ({"scope": "org:00000000-0000-0000-0000-000000000000"}, "scope"),
    ({"from": "2025-13"}, "from"), ({"to": "2024-01"}, "to"), ({"purpose": ""}, "purpose"),
    ({"retention_until": "2020-01-01"}, "retention_until"), ({"k": "2"}, "k"),
    ({"from": "2019-01", "to": "2019-12"}, "from")])  # no research data in that window
def test_bad_requests_are_refused_with_the_field(researcher: Browser, changes: dict[str, Any],
                                                 field: str) -> None:
    add_incidents(org_of(), 30, random.Random(1), consent="research")
    with pytest.raises(BadInput) as refused:
        service.create_request(_user(researcher), _form(**changes))
    assert refused.value.field == field
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ExtractRequest)) == 0


def test_unreachable_k_fails_with_a_reason(coordinator: Browser, researcher: Browser) -> None:
    add_incidents(org_of(), 20, random.Random(2), consent="research", status="complete")
    request = service.create_request(_user(researcher), _form(
        k="100", fields=["kinds", "country", "region", "month", "people_affected"]))
    service.decide(_user(coordinator), request, True, "")
    db.session.commit()
    assert request.status == RequestStatus.FAILED
    assert "would have to be dropped" in (request.status_reason or "")


def test_pages_from_request_to_sealed_download(coordinator: Browser, researcher: Browser,
                                               new_browser: Callable[[str], Browser],
                                               runner: Any) -> None:
    add_incidents(org_of(), 300, random.Random(8))
    assert researcher.get("/research").status_code == 200
    form = {k: v for k, v in _form().items(multi=False)}
    refused = researcher.post_form("/research/requests", form | {"fields": "narrative"})
    assert refused.status_code == 400 and "Only coded fields" in refused.get_data(True)
    data = _form()
    data["csrf_token"] = researcher.csrf
    made = researcher.client.post("/research/requests", data=data)
    assert made.status_code == 302, made.get_data(as_text=True)[:500]
    url = made.headers["Location"]
    assert "Approve" in coordinator.get(url).get_data(as_text=True)
    decided = coordinator.post_form(url + "/decide", {"decision": "approve", "reason": ""})
    assert decided.status_code == 302
    page = researcher.get(url).get_data(as_text=True)
    assert "k achieved" in page and "approved" in page
    request = db.session.scalar(sa.select(ExtractRequest))
    assert request is not None
    extract = service.extract_of(request)
    assert extract is not None
    download = researcher.get(f"/research/extracts/{extract.pid}/data")
    assert download.status_code == 200 and download.get_data()[:19] == b"COLLATERAL-EXPORT-1"
    # The organisation sees who downloaded what, and when, in its audit log.
    log = coordinator.get("/org/audit").get_data(as_text=True)
    assert "extract_downloaded" in log and "Rae" in log, log[log.find("<table"):][:3000]
    # Another organisation's coordinator sees neither the request nor the file.
    from tests.people import make_coordinator
    other = make_coordinator(runner, new_browser, "Night Owls", "owls@example.org")
    assert other.get(url).status_code == 404
    assert other.get(f"/research/extracts/{extract.pid}/data").status_code == 404
    keyfile = researcher.get("/research/keyfile").get_json()
    assert keyfile["user"] == researcher.user_id and "wrapped_private_key" in keyfile


def test_open_offline_with_the_key_file(coordinator: Browser, researcher: Browser,
                                        runner: Any, tmp_path: Any) -> None:
    _, extract = _approved_extract(coordinator, researcher)
    sealed = service.extracts_dir() / extract.pid / "data.sealed"
    keyfile = tmp_path / "key.json"
    keyfile.write_bytes(researcher.get("/research/keyfile").get_data())
    out = tmp_path / "extract.csv"
    wrong = runner.invoke(args=["extract", "open", str(sealed), "--key", str(keyfile),
                                "--out", str(out)], input="not my passphrase\n")
    assert wrong.exit_code != 0 and "does not open" in wrong.output and not out.exists()
    opened = runner.invoke(args=["extract", "open", str(sealed), "--key", str(keyfile),
                                 "--out", str(out)], input=researcher.passphrase + "\n")
    assert opened.exit_code == 0, opened.output
    assert out.read_text().splitlines()[0] == "kinds,country,period"
    good = out.read_bytes()
    # The standalone script the Research page names opens it the same way.
    script_out = tmp_path / "by-script.csv"
    script = [sys.executable, "scripts/open_extract.py", str(sealed), "--key", str(keyfile),
              "--out", str(script_out)]
    done = subprocess.run(script, input=researcher.passphrase + "\n", capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert script_out.read_bytes() == good
    # A damaged file (one bit flipped in the middle) or a cut-off one: refused, nothing written.
    data = sealed.read_bytes()
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x01
    for name, damaged in (("flipped", bytes(flipped)), ("truncated", data[:-10]),
                          ("half", data[:len(data) // 2])):
        bad, bad_out = tmp_path / f"{name}.sealed", tmp_path / f"{name}.csv"
        bad.write_bytes(damaged)
        refused = runner.invoke(args=["extract", "open", str(bad), "--key", str(keyfile),
                                      "--out", str(bad_out)], input=researcher.passphrase + "\n")
        assert refused.exit_code != 0 and "Nothing was written" in refused.output, name
        assert not bad_out.exists(), name
        by_script = subprocess.run([*script[:2], str(bad), *script[3:6], str(bad_out)],
                                   input=researcher.passphrase + "\n", capture_output=True,
                                   text=True, timeout=120, check=False)
        assert by_script.returncode == 1 and "Nothing was written" in by_script.stderr, name
        assert "Traceback" not in by_script.stderr and not bad_out.exists(), name
    assert runner.invoke(args=["extract", "purge"]).exit_code == 0


def test_an_organisation_can_ask_for_two_approvals(coordinator: Browser, researcher: Browser,
                                                   new_browser: Callable[[str], Browser],
                                                   runner: Any) -> None:
    from tests.people import joined

    add_incidents(org_of(), 300, random.Random(8))
    result = runner.invoke(args=["org", "quorum", "Red Umbrella", "2"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["org", "quorum", "Red Umbrella", "0"]).exit_code != 0
    second = joined(coordinator, new_browser, "second@example.org", "coordinator")
    assert coordinator.confirm(second.user_id).status_code == 200
    request = service.create_request(_user(researcher), _form())
    service.decide(_user(coordinator), request, True, "Fine by us.")
    db.session.commit()
    assert request.status.value == "pending"  # one of two
    service.decide(_user(second), request, True, "")
    db.session.commit()
    assert request.status == RequestStatus.READY


@pytest.mark.parametrize("fields", [
    ["kinds", "actors", "instrument", "source", "country", "month"],
    ["four_p", "region", "month"], ["work_setting", "country"], ["groups"],
    ["people_affected", "days_detained"], ["amount_confiscated"]],
    ids=["codes", "places", "settings", "groups", "people-and-days", "amounts"])
def test_no_free_text_or_sealed_tier_in_any_extract(coordinator: Browser, researcher: Browser,
                                                    fields: list[str]) -> None:
    """Everything on the server that is free text or sealed — published case studies, the
    sealed envelope, attachments, organisation terms' labels and descriptions — stays out of
    the extract and its dictionary, whichever coded fields are asked for (together these
    requests ask for every field a researcher may)."""
    from app.models import Attachment, Incident, OrgTerm
    from app.research.anonymise import FIELDS

    marker, sealed_marker = "MARKER-ZX81", "ZX81SEALEDZX81SEALED"
    org = org_of()
    db.session.add(OrgTerm(org_id=org.id, list_name="actors", code="own-7",
                           label=f"{marker} squad", description=f"{marker} described"))
    add_incidents(org, 600, random.Random(8), actors=["police", "own-7"])
    for n, incident in enumerate(db.session.scalars(sa.select(Incident))):
        incident.published_case_study, incident.published_at = f"{marker} story", utcnow()
        incident.sealed = {"v": 1, "kv": 1, "iv": f"{n:016d}", "ct": sealed_marker * 3}
        db.session.add(Attachment(incident_id=incident.id, kv=1, iv=f"a{n:015d}",
                                  ciphertext=sealed_marker.encode() * 10, size=200))
    db.session.commit()
    request = service.create_request(_user(researcher), _form(fields=fields, k="3"))
    service.decide(_user(coordinator), request, True, "")
    db.session.commit()
    extract = service.extract_of(request)
    assert extract is not None and request.status == RequestStatus.READY, request.status_reason
    assert researcher.private_key is not None
    plains = {}
    for part in ("data", "dictionary"):
        sealed = service.file_for(_user(researcher), extract, part).read_bytes()
        plains[part] = open_export(sealed, researcher.private_key, researcher.user_id).decode()
        for needle in (marker, sealed_marker, '"ct"', "0000000000000001"):
            assert needle not in plains[part], (part, needle)
    header = next(csv.reader(io.StringIO(plains["data"])))
    assert header and set(header) <= set(FIELDS) | {"period", "place", "amount", "currency"}, header
    if "actors" in fields:  # the organisation's own actor travels as a generic code
        assert "own-7" not in plains["data"] and "org_term;police" in plains["data"]
        assert "org_term" in plains["dictionary"]


def test_an_expired_extract_says_so(coordinator: Browser, researcher: Browser) -> None:
    _, extract = _approved_extract(coordinator, researcher)
    service.purge(utcnow() + timedelta(days=31))
    db.session.commit()
    gone = researcher.get(f"/research/extracts/{extract.pid}/data")
    assert gone.status_code == 410
    page = gone.get_data(as_text=True)
    assert "no longer available" in page and "has expired and its files were deleted" in page
    assert "Something went wrong" not in page


@pytest.mark.parametrize("month", ["２０２５-01", "2025-1"])
def test_months_are_written_in_ascii_digits(researcher: Browser, month: str) -> None:
    add_incidents(org_of(), 30, random.Random(1), consent="research")
    with pytest.raises(BadInput, match="Write the month as YYYY-MM"):
        service.create_request(_user(researcher), _form(**{"from": month, "to": month}))
