"""The JSON API against its own description (static/openapi.json), with schemathesis: every
operation, with valid and invalid data generated from the spec, sent through WSGI (no
network) as a logged-in coordinator (session cookie + X-CSRFToken). Checks: no 5xx, every
status is one the spec declares, and a response matches its declared content type and
schema. Each call runs in a rolled-back transaction on the shared world (tests/world.py),
with object ids replaced by the coordinator's own, so calls reach the real checks."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.world import World, cookie_kept, rolled_back

SPEC = Path(__file__).resolve().parent.parent / "static" / "openapi.json"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


OPERATIONS = [(path, method.upper()) for path, item in json.loads(SPEC.read_text())["paths"].items()
              for method in item if method != "parameters"]


@pytest.fixture(scope="module")
def api_schema(world: tuple[Flask, World]) -> Any:
    app, _ = world
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


# (schemathesis' own pytest integration does not work with pytest 9.2, so the operations are
# parametrized here and each is driven through Hypothesis with its strategy.)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                         ids=["valid", "invalid"])
@pytest.mark.parametrize("path,method", OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_api_matches_its_description(world: tuple[Flask, World], api_schema: Any, path: str,
                                     method: str, mode: GenerationMode) -> None:
    app, people = world
    who = people.a.coordinator
    own = people.a.attachment if path.startswith("/attachments") else people.a.incident
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=15, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def call(case: Any) -> None:
        if "public_id" in (case.path_parameters or {}):
            case.path_parameters["public_id"] = own
        # The spec's security schemes make schemathesis invent a cookie and a token: the
        # coordinator's real ones replace them.
        cookie = who.client.get_cookie("collateral_session")
        assert cookie is not None
        case.cookies = {"collateral_session": cookie.value}
        case.headers = {**(case.headers or {}), "X-CSRFToken": who.csrf}
        with app.app_context(), cookie_kept(who), rolled_back():
            response = case.call(session=who.client)
            case.validate_response(response, checks=CHECKS)

    call()


def test_the_spec_is_the_one_served(world: tuple[Flask, World]) -> None:
    app, _ = world
    served = app.test_client().get("/api/v1/openapi.json")
    assert served.status_code == 200 and served.json == json.loads(SPEC.read_text())


def test_every_api_route_is_described(world: tuple[Flask, World]) -> None:
    """A route added under /api/v1 without its entry in openapi.json (or an entry whose route
    is gone) fails here, so schemathesis above reaches every operation."""
    app, _ = world
    described = {(re.sub(r"\{[^}]+\}", "{}", path), method) for path, method in OPERATIONS}
    routed = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule == "/api/v1/openapi.json":
            continue
        path = re.sub(r"<[^>]+>", "{}", rule.rule.removeprefix("/api/v1"))
        routed |= {(path, m) for m in rule.methods or () if m not in ("HEAD", "OPTIONS")}
    assert routed, "no API routes found"
    assert routed == described, {"undescribed": routed - described,
                                 "stale": described - routed}
