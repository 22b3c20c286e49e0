"""Hostile input to every form and every JSON endpoint: any Unicode text, control characters,
huge values, wrong types, missing and repeated fields, damaged envelopes, boundary numbers,
impossible dates and months, unknown codes. Whatever arrives:

- the answer is never a 5xx;
- a refusal says why: a form error, a flashed message or an error page (`role="alert"`) in
  HTML, `error` or `detail` in JSON; a redirect that changed nothing leads to a message;
- a refusal leaves the row count of every table as it was (no half-written record).

Each example runs in a rolled-back transaction on the shared two-organisation world
(tests/world.py), so examples neither see nor disturb each other. Hypothesis runs
derandomized with a bounded number of examples, so every run (and CI) tries the same cases.
tests/test_incidents_fuzz.py holds the first incident fuzzing; this file covers the rest."""

from __future__ import annotations

import html
import io
import json
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from app.crypto import b64u_encode, seal_record
from app.extensions import db
from app.models import Collective, CollectiveRole, CollectiveRoleName, Incident, User
from app.vocab import load
from tests.actors import Browser, page_data
from tests.incident_data import CODED, form_fields, sealed_incident
from tests.people import org_of
from tests.world import World, cookie_kept, rolled_back, row_counts

VOCAB = load()
FUZZ = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])

# Values people and scripts should never send, and some they might.
SPECIAL = ["", " ", "\x00", "a\x00b", "\t\r\n", "\u202e\u202d", "\ufeff", "\u200b", "İ", "ß",
           "💥", "０１", "２０２６-０３", "2026-03\n", "2026-3", "2026-13", "2026-00", "0000-01",
           "9999-12", "1989-12", "2025-02-30", "-1", "0", "1", "3", "100001", "1e9", "1e999",
           "-0", "NaN", "Infinity", "99999999999999999999999", "0x10", "1_000", " 5 ",
           "<script>alert(1)</script>", "'; DROP TABLE incident; --", "%00", "../../etc/passwd",
           "{{7*7}}", "null", "true", "[]", "{}", "org", "org:", "collective:x", "approve",
           "refuse", "accept", "y", "on", "coordinator", "analyst", "outreach", "researcher",
           "a@b.cd", "a\x00@b.cd", "A@B.CD ", "@", "a@b", "instruments", "actors", "raid",
           "PT", "PT-11", "DE-BE", "EUR", "XXX", "pt"]
text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(SPECIAL),
    st.text(st.characters(max_codepoint=0x20), max_size=6),  # control characters
    st.builds(lambda c, n: c * n, st.sampled_from(["x", "é", "\x00", "💥", "9"]),
              st.sampled_from([300, 5000, 70_000])),  # long
)
# A form field: one value, or the same field repeated.
field_value = st.one_of(text, st.lists(text, min_size=2, max_size=3))
big_ints = st.one_of(st.integers(-10, 10), st.sampled_from([2**31 - 1, 2**31, 2**63, 2**64,
                                                              -(2**63) - 1, 10**30]))
scalars = st.one_of(st.none(), st.booleans(), big_ints, st.floats(), text)
junk = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6)


def form_of(fields: dict[str, Any], base: dict[str, Any] | None = None) -> st.SearchStrategy[
        dict[str, Any]]:
    """`base` with some fields replaced (by a near-valid or hostile value, or repeated) and
    some dropped."""
    base = base or {}

    def apply(changes: dict[str, Any], dropped: list[str]) -> dict[str, Any]:
        merged = {**base, **changes}
        return {k: v for k, v in merged.items() if k not in dropped}
    strategies = {name: st.one_of(near, field_value) for name, near in fields.items()}
    return st.builds(apply, st.fixed_dictionaries({}, optional=strategies),
                     st.lists(st.sampled_from(sorted({*fields, *base}) or ["-"]), max_size=2))


def json_of(fields: dict[str, Any], base: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A JSON body: `base` with fields replaced, dropped or of the wrong type, or junk."""
    def apply(changes: dict[str, Any], dropped: list[str]) -> dict[str, Any]:
        return {k: v for k, v in {**base, **changes}.items() if k not in dropped}
    strategies = {name: st.one_of(near, junk) for name, near in fields.items()}
    return st.one_of(
        st.builds(apply, st.fixed_dictionaries({}, optional=strategies),
                  st.lists(st.sampled_from(sorted({*fields, *base})), max_size=2)),
        junk)


# Sending, and what every answer must satisfy.

ALERT = re.compile(r'role="alert"[^>]*>(.*?)</(?:p|ul|section)>', re.S)


def reason_of(response: TestResponse) -> str:
    if response.is_json:
        body = response.json
        if isinstance(body, dict):
            return str(body.get("error") or body.get("detail") or "")
        return ""
    found = ALERT.findall(response.get_data(as_text=True))
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", f)).strip() for f in found).strip()


ASCII_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def unsound_values() -> list[str]:
    """What a success must never have stored: a control character in any text column (NUL
    cannot even be stored in PostgreSQL), a month that is not YYYY-MM in ASCII digits, an
    e-mail address that is not trimmed and lower-case."""
    problems = []
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, sa.String)]
        for row in db.session.execute(sa.select(*columns)) if columns else ():
            for column, value in zip(columns, row, strict=True):
                where = f"{table.name}.{column.name} = {value!r:.60}"
                if isinstance(value, str) and CONTROL.search(value):
                    problems.append(f"{where}: a control character")
                if isinstance(value, str) and column.name in ("month", "month_from",
                                                              "month_to") and \
                        not ASCII_MONTH.fullmatch(value):
                    problems.append(f"{where}: not a month")
                if column.name == "email" and value is not None and \
                        value != value.strip().lower():
                    problems.append(f"{where}: not a normalised e-mail address")
    for params in db.session.scalars(sa.select(db.metadata.tables["saved_report"].c.params)):
        for name in ("from", "to", "compare_from", "compare_to"):
            if name in params and not ASCII_MONTH.fullmatch(params[name]):
                problems.append(f"saved_report.params[{name}] = {params[name]!r}: not a month")
    return problems


def send(who: Browser, method: str, path: str, *, refusal_may_write: bool = False,
         setup: Callable[[], None] | None = None, **kwargs: Any) -> TestResponse:
    """One request in a rolled-back transaction, checked: no 5xx, a refusal says why and
    writes nothing. `kwargs` go to the test client; unsafe methods carry the CSRF token."""
    if method != "GET":
        kwargs.setdefault("headers", {})["X-CSRFToken"] = who.csrf
        data = kwargs.get("data")
        if isinstance(data, dict):
            kwargs["data"] = {**data, "csrf_token": who.csrf}
    with cookie_kept(who), rolled_back():
        if setup is not None:
            setup()
        before = row_counts()
        response = who.client.open(path, method=method, **kwargs)
        changed = row_counts() != before
        status = response.status_code
        shown = f"{method} {path} -> {status}: {response.get_data(as_text=True)[:600]}"
        assert status < 500, shown
        if status >= 400:
            assert reason_of(response), f"a refusal without a reason: {shown}"
            assert refusal_may_write or not changed, f"a refusal wrote rows: {shown}"
        if changed:
            assert not unsound_values(), f"{shown}\nstored: {unsound_values()}"
        if status in (301, 302, 303) and not changed:
            # Nothing happened: the page it leads to must say why.
            page = who.client.get(response.headers["Location"])
            assert "notice" in page.get_data(as_text=True), \
                f"a redirect that changed nothing and said nothing: {shown}"
    return response


@pytest.fixture(autouse=True)
def _context(world: tuple[Flask, World]) -> Iterator[None]:
    with world[0].app_context():
        yield


@pytest.fixture
def people(world: tuple[Flask, World]) -> World:
    return world[1]


def _pid(model: Any, public_id: str) -> Any:
    return db.session.scalar(sa.select(model).where(model.public_id == uuid.UUID(public_id)))


# Forms.

INCIDENT_FIELDS: dict[str, Any] = {
    "kinds": st.lists(st.sampled_from([*VOCAB.codes("kinds"), "nope", ""]), max_size=4),
    "four_p": st.lists(st.sampled_from([*VOCAB.codes("four_p"), "fifth"]), max_size=3),
    "actors": st.lists(st.sampled_from([*VOCAB.codes("actors"), "org_x"]), max_size=3),
    "groups": st.lists(st.sampled_from([*VOCAB.codes("groups"), "x"]), max_size=3),
    "month": st.sampled_from(["2026-03", "2026-3", "2026-13", "２０２６-０３", "2026-03\n",
                              "1989-12", "9999-01", datetime.now(UTC).strftime("%Y-%m")]),
    "people_affected": st.sampled_from(["0", "1", "100000", "100001", "-1", "1.5", "1e3",
                                        "99999999999999999999"]),
    "amount_confiscated": st.sampled_from(["0", "0.001", "1850.50", "-1", "NaN", "1e999",
                                           "999999999999.99", "1,5"]),
    "days_detained": st.sampled_from(["0", "36500", "36501", "-0", "2147483648"]),
    "region": st.sampled_from(["PT-11", "DE-BE", "pt-11", "PT-", "XX-YY"]),
    "currency": st.sampled_from(["EUR", "eur", "XXX", "ZZZ"]),
    "country": st.sampled_from(["PT", "pt", "XX", "EU", "PRT"]),
    "case_study": st.sampled_from(["y", "n", "", "false"]),
    "status": st.sampled_from(["draft", "complete", "deleted"]),
    "consent": st.sampled_from(["org_only", "aggregate", "research", "all"]),
    **{k: text for k in ("instrument", "work_setting", "source")},
    "sealed": st.sampled_from(["", "{}", "null", '{"v":1}', '{"v":1,"kv":1,"iv":"AAAA","ct":""}',
                               '{"v":2,"kv":1,"iv":"AAAAAAAAAAAAAAAA","ct":"AAAA"}']),
    "record_id": st.sampled_from(["", "not-a-uuid", str(uuid.UUID(int=0))]),
    "version": st.sampled_from(["", "0", "-1", "x", "99999999999999999999"]),
    "attachments_meta": st.sampled_from(["", "{}", "[{}]", '[{"id":"x","kv":1,"iv":"A"}]',
                                         "[" + ",".join(["{}"] * 60) + "]"]),
    "remove_attachments": st.sampled_from(["", "{}", '["x"]', '[null]', "[1]"]),
}


@FUZZ
@given(changes=form_of(INCIDENT_FIELDS))
@example(changes={"month": "2026-03\n"})
@example(changes={"month": "２０２６-03"})
@example(changes={"kinds": ["raid", "raid"], "actors": ["police", "police"]})
@example(changes={"people_affected": "99999999999999999999"})
@example(changes={"region": "PT-11\x00", "country": ["PT", "DE"]})
@example(changes={"version": "99999999999999999999"})
def test_incident_form_new_and_edit(people: World, changes: dict[str, Any]) -> None:
    out = people.a.outreach
    org = org_of(people.a.name)
    for url in ("/incidents/new", f"/incidents/{people.a.incident}/edit"):
        editing = url.endswith("/edit")
        base = sealed_incident(out.org_keys[1], org.pid, 1,
                               record_id=people.a.incident if editing else None)
        version = _pid(Incident, people.a.incident).version if editing else 0
        data = form_fields(base, version) | changes
        send(out, "POST", url, data=data, content_type="multipart/form-data")


@FUZZ
@given(data=form_of({"email": st.sampled_from(["new@example.org", "out@a.example.org"]),
                     "role": st.sampled_from(["outreach", "coordinator", "analyst", "admin"])}))
@example(data={"email": "a\x00@b.cd"})
@example(data={"email": "A@B.CD\n"})
@example(data={"role": ["analyst", "coordinator"]})
def test_invite_form(people: World, data: dict[str, Any]) -> None:
    send(people.a.coordinator, "POST", "/org/invites", data=data)


@FUZZ
@given(data=form_of({"role": st.sampled_from(["outreach", "coordinator", "analyst", "x"])}),
       target=st.sampled_from(["outreach", "analyst", "coordinator", "pending"]))
@example(data={"role": "x"}, target="outreach")
@example(data={}, target="analyst")
def test_member_role_form(people: World, data: dict[str, Any], target: str) -> None:
    a = people.a
    member = {"outreach": a.outreach, "analyst": a.analyst, "coordinator": a.coordinator,
              "pending": people.pending}[target]
    send(a.coordinator, "POST", f"/org/members/{member.user_id}/role", data=data)


@FUZZ
@given(data=form_of({"require_2fa": st.sampled_from(["y", "", "0", "false"]),
                     "retention_months": st.sampled_from(["", "12", "0", "601", "x"]),
                     "extract_quorum": st.sampled_from(["", "1", "2", "0", "11", "x", "-1"])}),
       reset=st.booleans())
@example(data={"require_2fa": ["y", ""]}, reset=False)
def test_settings_and_reset_forms(people: World, data: dict[str, Any], reset: bool) -> None:
    a = people.a
    if reset:
        send(a.coordinator, "POST", f"/org/members/{a.analyst.user_id}/reset", data=data)
    else:
        send(a.coordinator, "POST", "/org/settings", data=data)


@FUZZ
@given(data=form_of({"code": st.sampled_from(["123456", "123 456", "12345", "1234567",
                                              "١٢٣٤٥٦", "12345６"])}),
       url=st.sampled_from(["/account/2fa", "/account/2fa/disable"]))
@example(data={"code": "١٢٣٤٥٦"}, url="/account/2fa")
def test_second_factor_forms(people: World, data: dict[str, Any], url: str) -> None:
    send(people.operator, "POST", url, data=data)


@FUZZ
@given(data=form_of({"list_name": st.sampled_from(["instruments", "actors", "kinds"]),
                     "label": st.sampled_from(["Operation Nightfall", "Police", "!!!", "ß"]),
                     "description": text}))
@example(data={"list_name": "actors", "label": "Police\x00"})
@example(data={"list_name": "actors", "label": "Unit 7", "description": "\x1b[31m"})
@example(data={"list_name": "actors", "label": "x" * 121})
def test_organisation_terms_form(people: World, data: dict[str, Any]) -> None:
    send(people.a.coordinator, "POST", "/incidents/terms", data=data)


@FUZZ
@given(data=form_of({"may_be_named": st.sampled_from(["1", "0", ""])}),
       action=st.sampled_from(["accept", "naming", "leave"]),
       collective=st.sampled_from(["A", "B"]))
def test_collective_action_form(people: World, data: dict[str, Any], action: str,
                                collective: str) -> None:
    target = people.side(collective).collective
    response = send(people.a.coordinator, "POST", f"/org/collectives/{target}/{action}",
                    data=data)
    # (400: the form held a control character, refused before anything else)
    assert response.status_code in ((302, 400) if collective == "A" else (404, 400))


REPORT_FIELDS: dict[str, Any] = {
    "scope": st.sampled_from(["org", "", "collective", str(uuid.UUID(int=0))]),
    "from": st.sampled_from(["2025-01", "2025-04", "2025-13", "1989-01", "2025-1"]),
    "to": st.sampled_from(["2025-12", "2025-03", "2024-12", "9999-12"]),
    "compare_from": st.sampled_from(["2024-01", "2025-06", ""]),
    "compare_to": st.sampled_from(["2024-12", "2025-09", ""]),
    "compare": st.sampled_from(["previous", "x"]),
    "publish": st.sampled_from(["1", "on", "0"]),
    "title": text,
    **{name: text for name in ("country", "region", "four_p", "kinds", "actors",
                                "instrument", "work_setting", "groups")},
}


@FUZZ
@given(args=form_of(REPORT_FIELDS), where=st.sampled_from(["view", "csv", "save"]),
       who=st.sampled_from(["analyst", "collective_analyst"]))
@example(args={"from": "2025-01\n", "to": "2025-12"}, where="save", who="analyst")
@example(args={"from": "２０２５-01", "to": "2025-12"}, where="view", who="analyst")
@example(args={"title": "a\x00b"}, where="save", who="analyst")
@example(args={"country": "\x00", "kinds": "raid\n"}, where="csv", who="collective_analyst")
def test_report_parameters(people: World, args: dict[str, Any], where: str, who: str) -> None:
    person = people.a.analyst if who == "analyst" else people.collective_analyst
    if who == "collective_analyst" and args.get("scope") == "org":
        args["scope"] = people.a.collective
    if where == "save":
        send(person, "POST", "/reports/save", data=args)
    else:
        path = "/reports/view" if where == "view" else "/reports/download/csv"
        send(person, "GET", path, query_string=args)


@FUZZ
@given(data=form_of({"k": st.sampled_from(["2", "3", "50", "51", "x", "-5", "1e3"])}))
@example(data={"k": "99999999999999999999"})
def test_collective_threshold_form(people: World, data: dict[str, Any]) -> None:
    send(people.collective_analyst, "POST",
         f"/reports/collectives/{people.a.collective}/threshold", data=data,
         setup=lambda: _appoint_coordinator(people))


@FUZZ
@given(data=form_of({"quorum": st.sampled_from(["0", "1", "10", "11", "x", "-5", "1e3"])}))
@example(data={"quorum": "99999999999999999999"})
def test_collective_quorum_form(people: World, data: dict[str, Any]) -> None:
    send(people.collective_analyst, "POST",
         f"/reports/collectives/{people.a.collective}/quorum", data=data,
         setup=lambda: _appoint_coordinator(people))


def _appoint_coordinator(people: World) -> None:
    """The collective analyst made one of its coordinators, who may change its settings."""
    collective = _pid(Collective, people.a.collective)
    user = db.session.scalar(sa.select(User).where(
        User.email == people.collective_analyst.email))
    assert user is not None
    role = db.session.scalar(sa.select(CollectiveRole).where(
        CollectiveRole.collective_id == collective.id, CollectiveRole.user_id == user.id))
    assert role is not None
    role.role = CollectiveRoleName.COORDINATOR
    db.session.flush()


RESEARCH_BASE = {"from": "2025-01", "to": "2025-12", "purpose": "Probe.", "institution": "Uni",
                 "ethics_ref": "E-1", "k": "5", "retention_until": "2099-01-01",
                 "fields": ["kinds", "country"]}


@FUZZ
@given(data=form_of({
    "scope": st.sampled_from(["org:", "collective:", "org:" + str(uuid.UUID(int=0))]),
    "from": st.sampled_from(["2025-01", "２０２５-01", "2025-1", "1989-12", "2025-13"]),
    "to": st.sampled_from(["2025-12", "2024-01", "9999-12"]),
    "fields": st.lists(st.sampled_from(["kinds", "narrative", "country", "month", "x"]),
                       max_size=4),
    "k": st.sampled_from(["2", "3", "100", "101", "x", "", "99999999999999999999"]),
    "retention_until": st.sampled_from(["2099-01-01", "2020-01-01", "2025-02-30",
                                        "99999-01-01", "2099-1-1", "20990101"]),
    "hxl": st.sampled_from(["1", "on", "x"]),
    **{name: text for name in ("purpose", "institution", "ethics_ref")}},
    RESEARCH_BASE))
@example(data=RESEARCH_BASE | {"scope": "org:", "from": "２０２５-01"})
@example(data=RESEARCH_BASE | {"scope": "org:", "to": "2025-12\n"})
@example(data=RESEARCH_BASE | {"scope": "org:", "purpose": "a\x00b"})
@example(data=RESEARCH_BASE | {"scope": "org:", "k": "99999999999999999999"})
@example(data=RESEARCH_BASE | {"scope": "org:", "retention_until": "99999-01-01"})
def test_research_request_form(people: World, data: dict[str, Any]) -> None:
    researcher = people.a.researcher
    assert researcher is not None
    if data.get("scope") == "org:":
        data["scope"] = f"org:{org_of(people.a.name).pid}"
    send(researcher, "POST", "/research/requests", data=data)


@FUZZ
@given(data=form_of({"decision": st.sampled_from(["approve", "refuse", "maybe"]),
                     "reason": text}),
       invite=form_of({"scope": st.sampled_from(["org", "", "collective"]),
                       "email": st.sampled_from(["res2@example.org", "out@a.example.org",
                                                 "res@b.example.org"])}))
@example(data={"decision": "refuse", "reason": "\x00"},
         invite={"scope": "org", "email": "x\x00@y.zz"})
def test_research_decision_and_invitation_forms(people: World, data: dict[str, Any],
                                                invite: dict[str, Any]) -> None:
    coord = people.a.coordinator
    send(coord, "POST", f"/research/requests/{people.a.request}/decide", data=data)
    send(coord, "POST", "/research/invite", data=invite)


LIST_QUERY: dict[str, Any] = {
    "page": st.sampled_from(["0", "-1", "2", "x", "99999999999999999999", "9" * 400]),
    "per_page": st.sampled_from(["0", "-5", "501", "2001", "x", "99999999999999999999"]),
    "month_from": st.sampled_from(["2025-01", "2025-13"]),
    "month_to": st.sampled_from(["2025-12", "0000-00"]),
    "exclude": st.sampled_from(["", "x", str(uuid.UUID(int=0))]),
    **{name: text for name in ("kind", "four_p", "actor", "country", "status")},
}


@pytest.mark.parametrize("path", ["/incidents", "/api/v1/incidents",
                                  "/api/v1/incidents/sealed", "/org/audit", "/org/keyholders",
                                  "/reports", "/research"])
@FUZZ
@given(query=form_of(LIST_QUERY))
@example(query={"page": "99999999999999999999"})
@example(query={"page": "-99999999999999999999", "per_page": "99999999999999999999"})
@example(query={"month_from": "2025-01\n", "country": "\x00"})
def test_list_and_filter_queries(people: World, query: dict[str, Any], path: str) -> None:
    send(people.a.coordinator, "GET", path, query_string=query)


# The JSON API (/api/v1) beyond what tests/test_incidents_fuzz.py covers.

def _envelope() -> st.SearchStrategy[Any]:
    good = {"v": 1, "kv": 1, "iv": "A" * 16, "ct": "A" * 40}
    return st.one_of(junk, st.builds(lambda k, v: {**good, k: v},
                                     st.sampled_from(["v", "kv", "iv", "ct", "extra"]), junk))


CODED_JSON = st.builds(lambda c: {**CODED, **c}, st.fixed_dictionaries({}, optional={
    k: st.one_of(junk, INCIDENT_FIELDS.get(k, junk)) for k in CODED}))


@FUZZ
@given(body=json_of({"version": big_ints, "coded": CODED_JSON, "sealed": _envelope()},
                    {"version": 1, "coded": CODED, "sealed": None}))
@example(body={"version": 2**64, "coded": CODED, "sealed": None})
@example(body={"version": 1, "coded": CODED | {"month": "2026-03\n"}, "sealed": None})
def test_api_edit(people: World, body: Any) -> None:
    out = people.a.outreach
    if isinstance(body, dict) and body.get("sealed") is None:
        body["sealed"] = seal_record(out.org_keys[1], org_of(people.a.name).pid,
                                     people.a.incident, 1, {"narrative": "x"})
    send(out, "PUT", f"/api/v1/incidents/{people.a.incident}", json=body)


@FUZZ
@given(body=json_of({"text": text}, {"text": "A de-identified story."}),
       method=st.sampled_from(["PUT", "DELETE"]))
@example(body={"text": "a\x00b"}, method="PUT")
@example(body={"text": "\ud800"}, method="PUT")
def test_api_case_study(people: World, body: Any, method: str) -> None:
    send(people.a.coordinator, method, f"/api/v1/incidents/{people.a.incident}/case-study",
         json=body)


@FUZZ
@given(meta=st.one_of(junk.map(json.dumps), text, st.builds(
    lambda k, v: {"id": str(uuid.uuid4()), "kv": 1, "iv": "A" * 16} | {k: v},
    st.sampled_from(["id", "kv", "iv"]), junk).map(json.dumps)),
    size=st.sampled_from([0, 1, 4111, 4112, 4113, 8208]))
def test_api_attachment_upload(people: World, meta: str, size: int) -> None:
    out = people.a.outreach
    send(out, "POST", f"/api/v1/incidents/{people.a.incident}/attachments",
         data={"meta": meta, "file": (io.BytesIO(b"\x01" * size), "blob")},
         content_type="multipart/form-data")


@FUZZ
@given(rows=st.lists(st.one_of(junk, st.builds(
    lambda c: {"coded": {**CODED, **c}}, st.fixed_dictionaries({}, optional={
        k: junk for k in ("kinds", "month", "people_affected", "country")}))), max_size=3))
def test_api_import_rows(people: World, rows: list[Any]) -> None:
    out = people.a.outreach
    org = org_of(people.a.name)
    body = []
    for row in rows:
        if isinstance(row, dict) and "coded" in row:
            row = sealed_incident(out.org_keys[1], org.pid, 1) | {"coded": row["coded"]}
        body.append(row)
    send(out, "POST", "/api/v1/incidents/import", json={"incidents": body})


# The JSON endpoints of the page scripts: login, registration, keys, members.

@FUZZ
@given(body=json_of({"email": text, "auth_key": text}, {"email": "coord@a.example.org",
                                                        "auth_key": "A" * 43}),
       path=st.sampled_from(["/auth/prelogin", "/auth/login", "/auth/totp"]))
@example(body={"email": "a\x00@b.cd"}, path="/auth/prelogin")
@example(body={"email": "a\x00@b.cd", "auth_key": "A" * 43}, path="/auth/login")
@example(body={"code": "\x00"}, path="/auth/totp")
def test_login_endpoints(people: World, body: Any, path: str) -> None:
    who = people.anonymous
    if path == "/auth/totp":
        operator = db.session.scalar(sa.select(User).where(User.email == people.operator.email))
        assert operator is not None
        with who.client.session_transaction() as session:
            session["pending_2fa"] = {"user": operator.pid,
                                      "at": datetime.now(UTC).timestamp()}
    # A wrong login is written down on purpose: failures count towards throttling.
    send(who, "POST", path, json=body, refusal_may_write=path != "/auth/prelogin")


@FUZZ
@given(data=form_of({"lang": st.sampled_from(["es", "th", "en", "ES", "xx", "es\x00", ""]),
                     "next": st.sampled_from(["/incidents", "//evil.example/", "https://evil.example/",
                                              "/\\evil.example", "javascript:alert(1)", ""])}),
       logged_in=st.booleans())
@example(data={"lang": "ru", "next": "//evil.example/"}, logged_in=True)
def test_language_picker(people: World, data: dict[str, Any], logged_in: bool) -> None:
    """The header's language picker: a language not in the list is refused with a reason;
    any other answer goes back to a page of this site only, and stores a known language."""
    from app import i18n

    who = people.a.outreach if logged_in else people.anonymous
    form = {**data, "csrf_token": who.csrf}
    with cookie_kept(who), rolled_back():
        response = who.client.post("/language", data=form, headers={"X-CSRFToken": who.csrf})
        status = response.status_code
        assert status < 500
        if status >= 400:
            assert reason_of(response), response.get_data(as_text=True)[:400]
            return
        assert status == 303
        target = response.headers["Location"]
        assert target.startswith("/") and not target.startswith(("//", "/\\")), target
        user = db.session.scalar(sa.select(User).where(User.email == who.email))
        assert user is None or user.locale in (None, *i18n.languages())


def _wrap_item() -> st.SearchStrategy[Any]:
    return st.one_of(junk, st.fixed_dictionaries({
        "kv": big_ints, "user": st.one_of(text, st.just(str(uuid.uuid4()))),
        "wrapped": st.one_of(text, st.just(b64u_encode(b"\x04" * 113)))}))


def _registration(who: Browser, link: str) -> dict[str, Any]:
    _, body = who.registration_body(link, "Newcomer")
    return body


@FUZZ
@given(changes=st.fixed_dictionaries({}, optional={
    "email": text, "display_name": text, "salt": text, "auth_key": text, "public_key": text,
    "kdf": st.one_of(junk, st.fixed_dictionaries({"m": big_ints, "t": big_ints,
                                                  "p": big_ints})),
    "wrapped_private_key": _envelope(), "org_keys": junk,
    "recovery": st.one_of(junk, st.fixed_dictionaries({
        "proof": st.one_of(text, st.just(b64u_encode(bytes(64)))),
        "wraps": st.lists(_wrap_item(), max_size=2)}))}),
    dropped=st.lists(st.sampled_from(["email", "display_name", "salt", "kdf", "auth_key",
                                      "public_key", "wrapped_private_key"]), max_size=2),
    recover=st.booleans())
@example(changes={"display_name": "a\x00b"}, dropped=[], recover=False)
@example(changes={"display_name": "\udfff", "email": "\ud800@b.cd"}, dropped=[], recover=False)
@example(changes={"kdf": {"m": 2**64, "t": 1, "p": 1}}, dropped=[], recover=False)
def test_registration_and_recovery_bodies(world: tuple[Flask, World], changes: dict[str, Any],
                                          dropped: list[str], recover: bool) -> None:
    app, people = world
    who = Browser(app.test_client(), "later@a.example.org")
    kind = "recover" if recover else "register"
    token = people.a.recovery_token if recover else people.a.invite_token
    body = _registration(who, f"/{kind}/{token}")
    body = {k: v for k, v in {**body, **changes}.items() if k not in dropped}
    if recover:
        body.setdefault("recovery", {"proof": "A" * 86, "wraps": []})
    send(who, "POST", f"/{kind}/{token}", json=body)


@FUZZ
@given(body=json_of({"old_auth_key": text, "salt": text, "auth_key": text,
                     "kdf": junk, "wrapped_private_key": _envelope()},
                    {"old_auth_key": "A" * 43, "auth_key": "A" * 43,
                     "kdf": {"m": 1024, "t": 1, "p": 1},
                     "wrapped_private_key": {"v": 1, "iv": "A" * 16, "ct": "A" * 64}}))
def test_passphrase_change_body(people: World, body: Any) -> None:
    who = people.operator
    with cookie_kept(who):
        salt = page_data(who.get("/account/passphrase").get_data(as_text=True))["salt"]
        if isinstance(body, dict):
            body.setdefault("salt", salt)
        send(who, "POST", "/account/passphrase", json=body)


@FUZZ
@given(body=json_of({"wraps": st.lists(_wrap_item(), max_size=3), "kv": big_ints,
                     "recovery_wrap": text, "demote_to": text},
                    {"wraps": [], "kv": 2}),
       action=st.sampled_from(["confirm", "remove-outreach", "remove-analyst", "rotate"]))
@example(body={"kv": 2**64, "wraps": []}, action="rotate")
@example(body={"wraps": [{"kv": 1, "wrapped": "A"}]}, action="confirm")
def test_member_and_key_bodies(people: World, body: Any, action: str) -> None:
    a = people.a
    path = {"confirm": f"/org/members/{people.pending.user_id}/confirm",
            "remove-outreach": f"/org/members/{a.outreach.user_id}/remove",
            "remove-analyst": f"/org/members/{a.analyst.user_id}/remove",
            "rotate": "/org/keys/rotate"}[action]
    send(a.coordinator, "POST", path, json=body)


DEEP = "[" * 100_000 + "]" * 100_000  # 200 kB: more nesting than Python's parser can follow


@pytest.mark.parametrize("where", ["prelogin", "api", "sealed", "meta", "remove", "upload"])
def test_json_nested_too_deeply(people: World, where: str) -> None:
    """Found here: nesting deep enough to exhaust the parser's stack was a 500 (RecursionError
    is not one of JSON's own errors), anywhere JSON is read."""
    out = people.a.outreach
    if where in ("prelogin", "api"):
        path = "/auth/prelogin" if where == "prelogin" else "/api/v1/incidents"
        send(out, "POST", path, data=DEEP, content_type="application/json")
    elif where == "upload":
        send(out, "POST", f"/api/v1/incidents/{people.a.incident}/attachments",
             data={"meta": DEEP, "file": (io.BytesIO(b"x"), "blob")},
             content_type="multipart/form-data")
    else:
        base = sealed_incident(out.org_keys[1], org_of(people.a.name).pid, 1,
                               record_id=people.a.incident)
        field = {"sealed": "sealed", "meta": "attachments_meta",
                 "remove": "remove_attachments"}[where]
        version = _pid(Incident, people.a.incident).version
        send(out, "POST", f"/incidents/{people.a.incident}/edit",
             data=form_fields(base, version) | {field: DEEP}, content_type="multipart/form-data")


def test_the_guards_can_fail(world: tuple[Flask, World]) -> None:
    """The checks `send` makes can fail: a body without a reason has none, a write shows."""
    app, people = world
    assert reason_of(people.a.coordinator.client.get("/nowhere"))
    assert not reason_of(app.response_class("<p>Bad.</p>", 400))  # type: ignore[arg-type]
    assert not reason_of(app.response_class('{"status": 400}', 400,
                                            mimetype="application/json"))  # type: ignore[arg-type]
    with rolled_back():
        before = row_counts()
        db.session.add(Collective(name="Ghost"))
        db.session.flush()
        assert row_counts() != before
