"""Hostile input to the incident form and API: whatever arrives, the answer is a clear 4xx or
a success, never a 500, and a refusal leaves the database exactly as it was."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.extensions import db
from app.models import Attachment, Incident, IncidentCode
from app.vocab import load
from tests.actors import Browser
from tests.incident_data import CODED, form_fields, sealed_incident
from tests.people import org_of

VOCAB = load()
junk = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(),
                 st.text(max_size=300), st.binary(max_size=50).map(repr),
                 st.lists(st.text(max_size=20), max_size=5), st.dictionaries(
                     st.text(max_size=5), st.text(max_size=5), max_size=3))
near_valid = {
    "kinds": st.lists(st.sampled_from([*VOCAB.codes("kinds"), "nope", ""]), max_size=4),
    "month": st.one_of(st.from_regex(r"\A\d{4}-\d{2}\Z"), st.text(max_size=10)),
    "country": st.one_of(st.sampled_from(["PT", "DE", "TH", "XX", "pt", ""]),
                         st.text(max_size=3)),
    "region": st.one_of(st.none(), st.sampled_from(["DE-BE", "PT-11", "FR-75", "x"])),
    "amount_confiscated": st.one_of(st.none(), st.decimals(allow_nan=True).map(str),
                                    st.text(max_size=12)),
    "currency": st.one_of(st.none(), st.sampled_from(["EUR", "THB", "XYZ", ""])),
    "people_affected": st.one_of(st.integers(-5, 10**9), st.text(max_size=6)),
    "days_detained": st.one_of(st.none(), st.integers(-5, 10**6)),
}
coded_strategy = st.fixed_dictionaries(
    {}, optional={**{k: junk for k in CODED}, **near_valid})


def _counts() -> tuple[int, ...]:
    return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(m)) or 0
                 for m in (Incident, IncidentCode, Attachment))


FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


@FUZZ
@given(changes=coded_strategy, sealed=st.one_of(junk, st.just("valid")))
def test_api_never_500s(coordinator: Browser, changes: dict[str, Any], sealed: Any) -> None:
    base = sealed_incident(coordinator.org_keys[1], org_of().pid, 1)
    body = {"id": str(uuid.uuid4()), "coded": {**CODED, **changes},
            "sealed": base["sealed"] if sealed == "valid" else sealed}
    before = _counts()
    response = coordinator.client.post("/api/v1/incidents", json=body,
                                       headers={"X-CSRFToken": coordinator.csrf})
    assert response.status_code in (201, 400), response.get_data(as_text=True)[:500]
    if response.status_code == 400:
        assert (response.json or {})["error"]
        assert _counts() == before


@FUZZ
@given(body=junk)
def test_api_bodies_of_any_shape(coordinator: Browser, body: Any) -> None:
    before = _counts()
    for url in ("/api/v1/incidents", "/api/v1/incidents/import"):
        response = coordinator.client.post(url, json=body,
                                           headers={"X-CSRFToken": coordinator.csrf})
        assert response.status_code == 400, (url, response.status_code)
    assert _counts() == before


@FUZZ
@given(changes=st.dictionaries(st.sampled_from(sorted(
    [*CODED, "sealed", "record_id", "version", "attachments_meta", "remove_attachments"])),
    st.text(max_size=200), max_size=6))
def test_form_never_500s(coordinator: Browser, changes: dict[str, str]) -> None:
    base = sealed_incident(coordinator.org_keys[1], org_of().pid, 1)
    data = form_fields(base) | changes
    before = _counts()
    response = coordinator.client.post("/incidents/new", data=data,
                                       headers={"X-CSRFToken": coordinator.csrf},
                                       content_type="multipart/form-data")
    assert response.status_code in (201, 400, 409), response.status_code
    if response.status_code != 201:
        assert _counts() == before
