"""`flask demo load`: refuses unless the instance is a demo with an empty database; otherwise
builds organisations, members, sealed incidents, a collective and an extract that work the
way real ones do (people log in with the printed passphrases and open sealed records)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskCliRunner
from markupsafe import escape

from app.crypto import open_record
from app.extensions import db
from app.models import (
    Collective,
    CollectiveMember,
    Extract,
    Incident,
    Membership,
    MembershipStatus,
    Organisation,
    User,
)
from app.reports.params import last_four_quarters
from tests.actors import Browser
from tests.conftest import dump_tables
from tests.people import create_org

ACCOUNT = re.compile(r"^  (coordinator|outreach|analyst(?: \+ collective analyst)?|researcher)"
                     r"\s{2,}.*?\s{2,}(\S+@\S+\.example)\s{2,}(.+)$", re.M)
CURRENCY = {"TH": "THB", "BR": "BRL", "FR": "EUR", "ES": "EUR"}


def _nothing_stored() -> bool:
    return not any(db.session.scalar(sa.select(sa.func.count()).select_from(model))
                   for model in (Organisation, User, Collective, Incident))


def test_refuses_without_the_demo_setting(app: Flask, runner: FlaskCliRunner) -> None:
    assert not app.config["DEMO"]  # the default: production never sets COLLATERAL_DEMO
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code != 0
    assert "COLLATERAL_DEMO=1" in result.output
    assert _nothing_stored()


def test_refuses_a_database_that_is_in_use(app: Flask, runner: FlaskCliRunner) -> None:
    app.config["DEMO"] = True
    create_org(runner, "A real organisation", "someone@example.org")
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code != 0
    assert "already holds organisations or accounts" in result.output
    assert db.session.scalar(sa.select(sa.func.count(Organisation.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count(Incident.id))) == 0


def test_never_a_web_route(app: Flask) -> None:
    assert not [rule.rule for rule in app.url_map.iter_rules() if "demo" in rule.rule]


def test_demo_instance_works_like_a_real_one(app: Flask, runner: FlaskCliRunner) -> None:
    app.config["DEMO"] = True
    result = runner.invoke(args=["demo", "load", "--seed", "7"])
    assert result.exit_code == 0, result.output
    accounts = {email: (role, secret) for role, email, secret in ACCOUNT.findall(result.output)}
    assert len(accounts) == 9, result.output
    # Printed once, stored nowhere: no passphrase appears in any table.
    dump = dump_tables()
    for email, (_role, secret) in accounts.items():
        assert result.output.count(email) == 1
        assert secret.encode() not in dump

    orgs = db.session.scalars(sa.select(Organisation).order_by(Organisation.id)).all()
    assert len(orgs) == 3 and all(o.name.endswith("(demo)") for o in orgs)
    assert all(m.status == MembershipStatus.CONFIRMED
               for m in db.session.scalars(sa.select(Membership)))
    joined = db.session.scalars(sa.select(CollectiveMember)).all()
    assert len(joined) == 3 and all(m.status.value == "joined" and m.may_be_named
                                    for m in joined)
    assert db.session.scalar(sa.select(sa.func.count(Extract.id))) == 1

    incidents = db.session.scalars(sa.select(Incident)).all()
    assert 300 <= len(incidents) <= 500
    assert len({i.month for i in incidents}) >= 20
    assert {i.country for i in incidents} == set(CURRENCY)
    assert sum(1 for i in incidents if i.published_case_study) == 6
    consent = Counter(i.consent for i in incidents)
    assert min(consent.values()) >= 30, consent
    for incident in incidents:
        kinds, areas = set(incident.values("kinds")), set(incident.values("four_p"))
        if "raid" in kinds:
            assert areas & {"protection", "prosecution"}
        if "deportation" in kinds:
            assert "immigration" in incident.values("actors")
            assert incident.days_detained
        if "confiscation" in kinds:
            assert incident.amount_confiscated and incident.amount_confiscated > 0
            assert incident.currency == CURRENCY[incident.country]
        else:
            assert incident.amount_confiscated is None
    raids = [i for i in incidents if "raid" in i.values("kinds")]
    assert any("deportation" in i.values("kinds") for i in raids)

    # Everyone logs in with the printed passphrase; key holders open sealed tiers.
    opened = 0
    for email, (role, secret) in accounts.items():
        person = Browser(app.test_client(), email, secret)
        assert person.login().status_code == 200, email
        if role in ("coordinator", "outreach"):
            assert person.org_keys, email
            user = db.session.scalar(sa.select(User).where(User.email == email))
            assert user is not None
            org_id = db.session.scalar(sa.select(Membership.org_id).where(
                Membership.user_id == user.id))
            latest = db.session.scalar(sa.select(Incident).where(Incident.org_id == org_id)
                                       .order_by(Incident.id.desc()).limit(1))
            assert latest is not None
            item = person.get(f"/api/v1/incidents/{latest.pid}").get_json()
            fields = open_record(person.org_keys[item["sealed"]["kv"]], _org_pid(org_id),
                                 latest.pid, item["sealed"])
            assert "Fictional record made for the Collateral demo." in fields["narrative"]
            assert fields["exact_date"].startswith(latest.month)
            opened += 1
        else:
            assert not person.org_keys  # analysts and researchers never hold the org key
    assert opened == 6  # three coordinators, three outreach workers

    # The collective's analyst sees a report with numbers and charts.
    analyst = next(e for e, (r, _) in accounts.items() if "collective" in r)
    person = Browser(app.test_client(), analyst, accounts[analyst][1])
    person.login()
    collective = db.session.scalar(sa.select(Collective))
    assert collective is not None
    window = last_four_quarters(datetime.now(UTC).date())
    page = person.get("/reports/view", query_string={
        "scope": collective.pid, "from": window.start, "to": window.end})
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    total = re.search(r"<dt>Incidents</dt><dd>([\d,]+)</dd>", body)
    assert total and int(total.group(1).replace(",", "")) >= 100
    assert body.count('class="bar"') >= 10
    for org in orgs:
        assert str(escape(org.name)) in body  # named, with their consent

    again = runner.invoke(args=["demo", "load"])
    assert again.exit_code != 0 and "already holds" in again.output


def _org_pid(org_id: int | None) -> str:
    org = db.session.get(Organisation, org_id)
    assert org is not None
    return org.pid
