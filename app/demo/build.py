"""Building the demo instance the way people and their browsers would.

The operator's steps (create organisations, the collective, appoint its analyst) call the
same services as the `flask org` and `flask collective` commands. Everything a person does
goes through the app's own routes with a Python-played browser (browser.py): registering with
a passphrase through Argon2id at the configured parameters, confirming members by wrapping
the organisation key to them, sealing each incident's sealed tier with the organisation key,
publishing case studies, joining the collective, asking for and approving a research extract.
So the demo holds nothing a real instance could not hold, and every rule of the app applies.
"""

from __future__ import annotations

import random
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.test import TestResponse

from app.extensions import db
from app.models import Collective, CollectiveRoleName, Extract, Organisation, User
from app.orgs import collectives
from app.orgs import service as orgs

from . import cast
from .browser import Browser
from .incidents import generate, months_until
from .writing import published_text

LINK = re.compile(r"/(?:register|recover)/[A-Za-z0-9_-]+")
PUBLISHED_PER_ORG = 2


class Refused(Exception):
    """The demo may not run here; the message says why and what to do."""


class Failed(Exception):
    """A step was refused by the app: the demo stops and says which step."""


@dataclass(frozen=True)
class Account:
    person: cast.Person
    organisation: str | None
    passphrase: str


@dataclass
class Summary:
    accounts: list[Account] = field(default_factory=list)
    recovery_codes: dict[str, str] = field(default_factory=dict)
    incidents: int = 0
    published: int = 0
    collective: str = cast.COLLECTIVE
    extract_made: bool = False
    seconds: float = 0.0


def check_allowed(app: Flask) -> None:
    """Only on an instance marked as a demo (COLLATERAL_DEMO=1) whose database is empty."""
    if not app.config.get("DEMO"):
        raise Refused(
            "The demo is not allowed here. It runs only when the environment says this "
            "instance is a demo (COLLATERAL_DEMO=1) and the database is empty; a production "
            "instance never sets COLLATERAL_DEMO.")
    try:
        used = any(db.session.scalar(sa.select(sa.func.count()).select_from(model))
                   for model in (Organisation, User, Collective))
    except SQLAlchemyError as exc:
        db.session.rollback()
        raise Refused("The database has no tables yet: run `flask db upgrade` (or `make "
                      "migrate`) first.") from exc
    if used:
        raise Refused(
            "The database already holds organisations or accounts, so the demo will not "
            "touch it. Load the demo into an empty database (for example a new DATABASE_URL, "
            "or a fresh instance/collateral.db after `flask db upgrade`).")


def _expect(response: TestResponse, status: int, step: str) -> TestResponse:
    if response.status_code != status:
        body = response.get_json(silent=True) or {}
        reason = body.get("error") if isinstance(body, dict) else None
        raise Failed(f"{step}: the app answered {response.status_code}"
                     + (f" ({reason})" if reason else ""))
    return response


def _link(response: TestResponse, step: str) -> str:
    found = LINK.search(_expect(response, 200, step).get_data(as_text=True))
    if not found:
        raise Failed(f"{step}: the page shows no link")
    return found.group(0)


class Builder:
    def __init__(self, app: Flask, rng: random.Random, today: date) -> None:
        self.app = app
        self.rng = rng
        self.today = today
        self.summary = Summary()
        self.browsers: dict[str, Browser] = {}

    def _browser(self, person: cast.Person, org: str | None) -> Browser:
        secret = cast.passphrase()
        browser = Browser(self.app.test_client(), person.email, secret)
        self.browsers[person.email] = browser
        self.summary.accounts.append(Account(person, org, secret))
        return browser

    def organisation(self, spec: cast.DemoOrg) -> Organisation:
        org, token = orgs.create_org(spec.name, spec.coordinator.email)
        db.session.commit()
        coordinator = self._browser(spec.coordinator, spec.name)
        _expect(coordinator.register(f"/register/{token}", spec.coordinator.name), 201,
                f"registering {spec.coordinator.email}")
        _expect(coordinator.login(), 200, f"logging in {spec.coordinator.email}")
        assert coordinator.recovery is not None
        self.summary.recovery_codes[spec.name] = coordinator.recovery
        for person in spec.members:
            link = _link(coordinator.post_form("/org/invites", {
                "email": person.email, "role": person.role}), f"inviting {person.email}")
            member = self._browser(person, spec.name)
            _expect(member.register(link, person.name), 201, f"registering {person.email}")
            # The coordinator compares fingerprints, then wraps the key to the member.
            _expect(coordinator.confirm(member.user_id), 200, f"confirming {person.email}")
            if person.role == "outreach":
                _expect(member.login(), 200, f"logging in {person.email}")
        return org

    def incidents(self, spec: cast.DemoOrg, org: Organisation) -> None:
        coordinator = self.browsers[spec.coordinator.email]
        writers = [self.browsers[p.email] for p in spec.members if p.role == "outreach"]
        publishable: dict[str, str] = {}  # scenario → incident: each excerpt once
        for item in generate(spec.profile, self.today, self.rng):
            author = coordinator if not writers or self.rng.random() < 0.25 else \
                self.rng.choice(writers)
            record = str(uuid.uuid4())
            body = {"id": record, "coded": item.coded,
                    "sealed": author.seal_incident(org.pid, record, item.fields)}
            _expect(author.post_json("/api/v1/incidents", body), 201,
                    f"saving an incident of {spec.name}")
            self.summary.incidents += 1
            text = published_text(item.scenario)
            if item.coded["case_study"] and item.coded["status"] == "complete" and text:
                publishable[item.scenario] = record
        chosen = self.rng.sample(sorted(publishable), min(PUBLISHED_PER_ORG, len(publishable)))
        for scenario in chosen:
            record, text = publishable[scenario], published_text(scenario)
            _expect(coordinator.post_json(f"/api/v1/incidents/{record}/case-study",
                                          {"text": text}, method="PUT"), 200,
                    "publishing a case study")
            self.summary.published += 1

    def collective(self, members: list[tuple[cast.DemoOrg, Organisation]]) -> None:
        made = orgs.create_collective(cast.COLLECTIVE)
        for _spec, org in members:
            collectives.invite(made, org)
        analyst = db.session.scalar(sa.select(User).where(User.email == cast.COLLECTIVE_ANALYST))
        assert analyst is not None
        collectives.appoint(made, analyst, CollectiveRoleName.ANALYST)
        db.session.commit()
        for spec, _org in members:
            coordinator = self.browsers[spec.coordinator.email]
            # Each organisation accepts, and agrees to be named in the collective's reports.
            _expect(coordinator.post_form(f"/org/collectives/{made.pid}/accept",
                                          {"may_be_named": "1"}), 302,
                    f"{spec.name} joining the collective")

    def research(self, spec: cast.DemoOrg, org: Organisation) -> None:
        coordinator = self.browsers[spec.coordinator.email]
        person = cast.RESEARCHER
        link = _link(coordinator.post_form("/research/invite", {
            "scope": "org", "email": person.email}), "inviting the researcher")
        researcher = self._browser(person, None)
        _expect(researcher.register(link, person.name), 201, "registering the researcher")
        _expect(researcher.login(), 200, "logging in the researcher")
        months = months_until(self.today)
        asked = _expect(researcher.post_form("/research/requests", {
            "scope": f"org:{org.pid}", "from": months[0], "to": months[-2],
            "fields": ["kinds", "four_p", "actors", "instrument", "country", "month",
                       "source"],
            "purpose": "A study of what 'rescue' raids cost the workers they are meant to "
                       "protect: detention, deportation, lost earnings (fictional demo "
                       "request).",
            "institution": "Example University (demo)", "ethics_ref": "DEMO-ETH-001",
            "retention_until": (self.today + timedelta(days=365)).isoformat(), "k": "5"}),
            302, "asking for a research extract")
        detail = asked.headers["Location"]
        _expect(coordinator.post_form(detail.rstrip("/") + "/decide", {
            "decision": "approve", "reason": "Purpose and safeguards are clear (demo)."}),
            302, "approving the research request")
        db.session.expire_all()
        self.summary.extract_made = bool(db.session.scalar(sa.select(sa.func.count(Extract.id))))


def load(app: Flask, seed: int | None = None, today: date | None = None) -> Summary:
    """Build the demo instance; `check_allowed` first. Returns who can log in, and how."""
    check_allowed(app)
    started = time.monotonic()
    # The invented content only; passphrases come from `secrets` (cast.passphrase).
    rng = random.Random(seed)  # noqa: S311
    builder = Builder(app, rng, today or date.today())
    made = [(spec, builder.organisation(spec)) for spec in cast.ORGS]
    for spec, org in made:
        builder.incidents(spec, org)
    builder.collective(made)
    builder.research(*made[0])
    builder.summary.seconds = time.monotonic() - started
    return builder.summary
