"""Two organisations, A and B, with everything a URL of the app can name: members of each
role, incidents with attachments, collectives, saved reports, researchers with requests and
extracts, open invitations. Built once through the real interface (pages, API, CLI), for the
authorisation matrix and the hostile-input tests.

Every actor belongs to side A; side B holds the same kinds of objects, so each URL parameter
can be filled with an object of the actor's own scope and with one of another scope."""

from __future__ import annotations

import io
import json
import random
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskCliRunner

from app.extensions import db
from app.models import Collective, ExtractRequest, SavedReport
from app.research import service as research
from tests.actors import Browser
from tests.incident_data import sealed_file, sealed_incident
from tests.people import create_org, invite, link_path, org_of
from tests.report_data import add_incidents

ORGS = {"A": "Red Umbrella", "B": "Night Owls"}
COLLECTIVES = {"A": "Network A", "B": "Network B"}
WINDOW = {"from": "2025-01", "to": "2025-12"}


@dataclass
class Side:
    """One organisation's people and objects."""

    name: str
    coordinator: Browser
    outreach: Browser
    analyst: Browser
    incident: str = ""  # made by the outreach worker, so they may edit it
    attachment: str = ""
    invite_token: str = ""
    recovery_token: str = ""
    collective: str = ""
    saved_report: str = ""  # the organisation's own
    collective_report: str = ""  # the collective's
    researcher: Browser | None = None
    request: str = ""  # pending
    extract: str = ""  # of another request, approved and generated


@dataclass
class World:
    a: Side
    b: Side
    collective_analyst: Browser
    operator: Browser  # an account with no membership, collective role or research access
    pending: Browser  # registered in A as outreach worker, not yet confirmed
    anonymous: Browser
    extra: dict[str, str] = field(default_factory=dict)

    def side(self, name: str) -> Side:
        return self.a if name == "A" else self.b

    def __repr__(self) -> str:  # keeps Hypothesis' failure reports short
        return "World(A, B)"


def _member(coord: Browser, new_browser: Callable[[str], Browser], email: str,
            role: str) -> Browser:
    person = new_browser(email)
    assert person.register(invite(coord, email, role), email.split("@")[0]).status_code == 201
    assert person.login().status_code == 200
    assert coord.confirm(person.user_id).status_code == 200
    assert person.login().status_code == 200  # again, to open the keys just given
    return person


def _organisation(runner: FlaskCliRunner, new_browser: Callable[[str], Browser],
                  key: str) -> Side:
    domain = key.lower() + ".example.org"
    coord = new_browser(f"coord@{domain}")
    assert coord.register(create_org(runner, ORGS[key], coord.email), "Coco").status_code == 201
    assert coord.login().status_code == 200
    side = Side(ORGS[key], coord, _member(coord, new_browser, f"out@{domain}", "outreach"),
                _member(coord, new_browser, f"analyst@{domain}", "analyst"))
    org = org_of(ORGS[key])
    out = side.outreach
    incident = sealed_incident(out.org_keys[1], org.pid, 1)
    made = out.post_json("/api/v1/incidents", incident)
    assert made.status_code == 201, made.get_data(as_text=True)
    side.incident = incident["id"]
    meta, ct, _ = sealed_file(out.org_keys[1], org.pid, incident["id"], 1)
    upload = out.client.post(f"/api/v1/incidents/{incident['id']}/attachments", data={
        "meta": json.dumps(meta), "file": (io.BytesIO(ct), "blob")},
        headers={"X-CSRFToken": out.csrf}, content_type="multipart/form-data")
    assert upload.status_code == 201, upload.get_data(as_text=True)
    side.attachment = meta["id"]
    side.invite_token = invite(coord, f"later@{domain}", "outreach").rsplit("/", 1)[1]
    recovered = runner.invoke(args=["org", "recover", ORGS[key], "--email",
                                    f"rescue@{domain}"])
    assert recovered.exit_code == 0, recovered.output
    side.recovery_token = link_path(recovered.output).rsplit("/", 1)[1]
    # Research data: enough complete incidents with research consent for k = 5.
    add_incidents(org, 40, random.Random(7), consent="research", status="complete",
                  country="PT", region=None, months=["2025-03"])
    return side


def _saved(who: Browser, scope: str) -> str:
    response = who.post_form("/reports/save", WINDOW | {"scope": scope, "title": "Probe"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return response.headers["Location"].rstrip("/").rsplit("/", 1)[1]


def _account_without_standing(coord: Browser, new_browser: Callable[[str], Browser],
                              email: str) -> Browser:
    """Every account here starts from an invitation; this one was a member and was removed,
    so it holds no membership, collective role or research access."""
    person = new_browser(email)
    assert person.register(invite(coord, email, "analyst"), "Former").status_code == 201
    removed = coord.post_json(f"/org/members/{person.user_id}/remove", {})
    assert removed.status_code == 200, removed.get_data(as_text=True)
    assert person.login().status_code == 200
    return person


def _researcher(side: Side, new_browser: Callable[[str], Browser], email: str) -> Browser:
    made = side.coordinator.post_form("/research/invite", {"scope": "org", "email": email})
    assert made.status_code == 200, made.get_data(as_text=True)[:2000]
    person = new_browser(email)
    assert person.register(link_path(made.get_data(as_text=True)), "Rae").status_code == 201
    assert person.login().status_code == 200
    return person


def _request(side: Side, approve: bool) -> str:
    assert side.researcher is not None
    data = WINDOW | {"scope": f"org:{org_of(side.name).pid}", "purpose": "Probe.",
                     "institution": "Uni", "ethics_ref": "E-1", "k": "5",
                     "retention_until": "2099-01-01", "csrf_token": side.researcher.csrf}
    made = side.researcher.client.post("/research/requests", data=data | {
        "fields": ["kinds", "country", "month"]})
    assert made.status_code == 302, made.get_data(as_text=True)[:2000]
    pid = made.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    if approve:
        decided = side.coordinator.post_form(f"/research/requests/{pid}/decide",
                                             {"decision": "approve", "reason": ""})
        assert decided.status_code == 302
        request = db.session.scalar(sa.select(ExtractRequest).where(
            ExtractRequest.public_id == uuid.UUID(pid)))
        assert request is not None
        extract = research.extract_of(request)
        assert extract is not None, request.status_reason
        return extract.pid
    return pid


def build(app: Flask) -> World:
    runner = app.test_cli_runner()

    def new_browser(email: str) -> Browser:
        return Browser(app.test_client(), email)

    a = _organisation(runner, new_browser, "A")
    b = _organisation(runner, new_browser, "B")
    operator = _account_without_standing(a.coordinator, new_browser, "operator@example.org")
    analyst = _account_without_standing(a.coordinator, new_browser, "network@example.org")
    # Collectives: A's organisation is in Network A, B's in Network B. The collective analyst
    # is appointed to Network A; B's coordinator to Network B (to save a report there).
    for side, key, who in ((a, "A", analyst), (b, "B", b.coordinator)):
        for args in (["collective", "create", COLLECTIVES[key]],
                     ["collective", "invite", COLLECTIVES[key], side.name],
                     ["collective", "appoint", COLLECTIVES[key], who.email]):
            result = runner.invoke(args=args)
            assert result.exit_code == 0, result.output
        found = db.session.scalar(sa.select(Collective).where(
            Collective.name == COLLECTIVES[key]))
        assert found is not None
        side.collective = found.pid
        accepted = side.coordinator.post_form(f"/org/collectives/{found.pid}/accept", {})
        assert accepted.status_code == 302
        side.saved_report = _saved(side.coordinator, "org")
        side.collective_report = _saved(who, found.pid)
    for side, email in ((a, "res@a.example.org"), (b, "res@b.example.org")):
        side.researcher = _researcher(side, new_browser, email)
        side.request = _request(side, approve=False)
        side.extract = _request(side, approve=True)
    pending = new_browser("pending@a.example.org")
    assert pending.register(invite(a.coordinator, pending.email, "outreach")).status_code == 201
    assert pending.login().status_code == 200
    anonymous = new_browser("nobody@example.org")
    anonymous.get("/")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SavedReport)) == 4
    return World(a, b, analyst, operator, pending, anonymous)


# Requests that leave no trace: each runs in a transaction that is rolled back afterwards.

def sqlite_savepoints(engine: sa.engine.Engine) -> None:
    """pysqlite's own transaction handling breaks SAVEPOINT; let SQLAlchemy emit BEGIN."""
    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN")


@contextmanager
def rolled_back() -> Iterator[None]:
    """The app's commits become savepoints of one transaction that is rolled back at the end
    (needs an app context, shared with the test client's requests)."""
    engines: Any = db.engines
    engine = engines[None]
    connection = engine.connect()
    outer = connection.begin()
    db.session.remove()
    engines[None] = connection
    db.session.registry.set(db.session.session_factory(join_transaction_mode="create_savepoint"))
    try:
        yield
    finally:
        db.session.remove()
        engines[None] = engine
        outer.rollback()
        connection.close()


def row_counts() -> dict[str, int]:
    """How many rows every table has, in one query (plain SQL: this runs twice a probe)."""
    tables = [t.name for t in db.metadata.sorted_tables]
    quote = db.session.get_bind().dialect.identifier_preparer.quote
    sql = "SELECT " + ", ".join(f"(SELECT count(*) FROM {quote(t)})" for t in tables)
    return dict(zip(tables, db.session.execute(sa.text(sql)).one(), strict=True))


@contextmanager
def cookie_kept(who: Browser) -> Iterator[None]:
    """Logging out, quick exit, registration pages and flashes change the session cookie: the
    next request starts from the same one."""
    cookie = who.client.get_cookie("collateral_session")
    try:
        yield
    finally:
        if cookie is None:
            who.client.delete_cookie("collateral_session")
        else:
            who.client.set_cookie("collateral_session", cookie.value)
