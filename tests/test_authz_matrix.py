"""The authorisation matrix: every route of the URL map, every method it accepts, every role,
for an object of the actor's own scope and one of another scope, against one declared table
(RULES). A route the table does not declare fails `test_every_route_is_declared`.

Roles are those of DOMAIN.md, plus `pending`: someone who registered from an invitation but
whose coordinator has not yet confirmed them (compared key fingerprints). The instance
operator has no web account (operators work with `flask` commands); on the web an operator is
at most an account without any standing, so the `operator` row is such an account: a former
member, with no membership, collective role or research access (docs/architecture.md,
"Authorisation matrix").

Each probe runs in a transaction that is rolled back afterwards, so an allowed DELETE does not
change what the next probe sees; and a probe whose answer is a refusal must leave every table
as it was. Unsafe methods carry a valid CSRF token, so the answer is the authorisation answer."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from tests.actors import Browser
from tests.world import WINDOW, World, cookie_kept, rolled_back, row_counts

ROLES = ("anonymous", "outreach", "coordinator", "analyst", "collective_analyst",
         "researcher", "operator", "pending")
LOGGED_IN = frozenset(ROLES[1:])
ANY_MEMBER = ("outreach", "coordinator", "analyst")
KEY_HOLDERS = ("outreach", "coordinator")
REPORTERS = ("coordinator", "analyst", "collective_analyst")
UNSAFE = ("POST", "PUT", "DELETE", "PATCH")


@dataclass(frozen=True)
class Expect:
    status: int
    refusal: bool  # a refusal must leave every table as it was


@dataclass(frozen=True)
class Access:
    """Who may use a route, and the answer each role gets.

    - `allowed` get `ok` for an object of their own scope;
    - `gate` (default: `allowed`) pass the route's first check, so another scope's object is
      `other` (404: ids of other organisations cannot be probed) and an own object they may
      not act on is `inside`;
    - every other logged-in role gets `denied`; anonymous gets the login answer (a redirect
      to /login for pages, 401 JSON under /api/ and /auth/) unless the route is public;
    - `special` overrides the answer of a role, whatever the object.
    """

    allowed: frozenset[str]
    ok: int = 200
    denied: int = 403
    other: int = 404
    gate: frozenset[str] | None = None
    inside: Expect = Expect(403, True)
    objects: dict[str, str] = field(default_factory=dict)  # URL parameter -> kind of object
    form: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    scoped: bool = False  # the request names a report scope (own or another)
    special: dict[str, Expect] = field(default_factory=dict)

    def expect(self, role: str, side: str, path: str) -> Expect:
        if role in self.special:
            return self.special[role]
        gate = self.gate if self.gate is not None else self.allowed
        if role == "anonymous" and role not in gate:
            api = path.startswith(("/api/", "/auth/"))
            return Expect(401 if api else 302, True)
        if role not in gate:
            return Expect(self.denied, True)
        if side == "other":
            return Expect(self.other, True)
        if role not in self.allowed:
            return self.inside
        return Expect(self.ok, False)


def public(ok: int = 200, **kw: Any) -> Access:
    """Anyone, with any object (a link's token is the same whoever's invitation it is)."""
    return Access(frozenset(ROLES), ok, other=ok, **kw)


def login(ok: int = 200, **kw: Any) -> Access:
    return Access(LOGGED_IN, ok, **kw)


def members(*roles: str, ok: int = 200, gate: tuple[str, ...] | None = None,
            **kw: Any) -> Access:
    """A confirmed member of the current organisation in one of these roles (or, for
    reports and research, a person with that standing); others get 403."""
    return Access(frozenset(roles), ok, gate=frozenset(gate) if gate else None, **kw)


def parties(*roles: str, ok: int = 200, gate: tuple[str, ...] | None = None,
            **kw: Any) -> Access:
    """Objects whose very existence is hidden from non-parties: everyone else gets 404."""
    return Access(frozenset(roles), ok, denied=404, gate=frozenset(gate) if gate else None,
                  **kw)


INCIDENT = {"public_id": "incident"}
MEMBER = {"member_id": "member"}
LOGGED_IN_REDIRECT = {role: Expect(302, False) for role in LOGGED_IN}

# The table: endpoint -> one Access for every method, or one per method.
RULES: dict[str, Access | dict[str, Access]] = {
    # Pages for everyone.
    "main.index": public(),
    "main.selftest": public(),
    "main.healthz": public(),
    "main.quick_exit": public(204),
    "main.help_page": public(),
    "main.language": public(303, form={"lang": "es"}),  # back to the page, in Spanish
    "static": public(objects={"filename": "static"}),
    "api.openapi": public(),
    # Logging in; a logged-in person opening the login page goes home.
    "auth.login_page": public(special=LOGGED_IN_REDIRECT),
    "auth.prelogin": public(400),  # the probe's body is not JSON
    "auth.login": public(400),
    "auth.login_totp": public(401),  # no login is waiting for its code
    "auth.logout": public(302),
    "auth.keyring": login(),
    "auth.logout_everywhere": login(302),
    # Invitation and recovery links: whoever holds the link.
    "auth.register_page": public(objects={"token": "invite"}),
    "auth.register": public(400, objects={"token": "invite"}),
    "auth.recover_page": public(objects={"token": "recovery"}),
    "auth.recover": public(400, objects={"token": "recovery"}),
    # One's own account.
    "account.index": login(),
    "account.two_factor": login(),  # POST: the form comes back with its error
    "account.two_factor_qr": login(),  # the QR of the secret offered (404 once enrolled)
    "account.two_factor_disable": login(302),
    "account.passphrase_page": login(),
    "account.passphrase": login(400),
    # The organisation's administration: coordinators.
    "orgs.members": members("coordinator"),
    "orgs.invite": members("coordinator", ok=400),
    "orgs.settings": members("coordinator", ok=302),
    "orgs.member": members("coordinator", objects=MEMBER),
    "orgs.member_confirm": members("coordinator", ok=400, objects=MEMBER),
    "orgs.member_remove": members("coordinator", ok=400, objects=MEMBER),
    "orgs.member_role": members("coordinator", ok=302, objects=MEMBER),
    "orgs.member_reset": members("coordinator", objects=MEMBER),
    "orgs.keyholders": members("coordinator"),
    "orgs.keys": members("coordinator"),
    "orgs.keys_rotate": members("coordinator", ok=400),
    "orgs.audit_log": members("coordinator"),
    "orgs.collectives_page": members("coordinator"),
    "orgs.collective_action": members("coordinator", ok=302,
                                      objects={"public_id": "collective"}),
    # Incidents: members; the sealed tier and editing for key holders; outreach workers
    # edit their own incidents (the own incident here is the outreach worker's).
    "incidents.index": members(*ANY_MEMBER),
    "incidents.new": {"GET": members(*KEY_HOLDERS), "POST": members(*KEY_HOLDERS, ok=400)},
    "incidents.edit": {"GET": members(*KEY_HOLDERS, objects=INCIDENT),
                       "POST": members(*KEY_HOLDERS, ok=400, objects=INCIDENT)},
    "incidents.view": members(*ANY_MEMBER, objects=INCIDENT),
    "incidents.import_page": members(*KEY_HOLDERS),
    "incidents.import_template": members(*KEY_HOLDERS),
    "incidents.terms": {"GET": members("coordinator"),
                        "POST": members("coordinator", ok=400)},
    "api.vocab": members(*ANY_MEMBER),
    "api.incidents": members(*ANY_MEMBER),
    "api.create_incident": members(*KEY_HOLDERS, ok=400),
    "api.sealed_feed": members(*KEY_HOLDERS),
    "api.incident": {
        "GET": members(*ANY_MEMBER, objects=INCIDENT),
        "PUT": members(*KEY_HOLDERS, ok=400, gate=ANY_MEMBER, objects=INCIDENT),
        "DELETE": members(*KEY_HOLDERS, gate=ANY_MEMBER, objects=INCIDENT)},
    "api.add_attachment": members(*KEY_HOLDERS, ok=400, objects=INCIDENT),
    "api.attachment": members(*KEY_HOLDERS, objects={"public_id": "attachment"}),
    "api.import_incidents": members(*KEY_HOLDERS, ok=400),
    "api.case_study": {"PUT": members("coordinator", ok=400, objects=INCIDENT),
                       "DELETE": members("coordinator", objects=INCIDENT)},
    # Reports: an organisation's coordinators and analysts, a collective's appointed people.
    "reports.index": members(*REPORTERS),
    "reports.view": members(*REPORTERS, scoped=True, query=WINDOW),
    "reports.download": members(*REPORTERS, scoped=True, query=WINDOW),
    "reports.save": members(*REPORTERS, ok=400, scoped=True),  # no title
    "reports.saved": parties(*REPORTERS, objects={"public_id": "saved"}),
    "reports.delete_saved": parties(*REPORTERS, ok=302, objects={"public_id": "saved"}),
    "reports.collective": parties("collective_analyst", objects={"public_id": "collective"}),
    "reports.collective_threshold": parties(gate=("collective_analyst",),
                                            objects={"public_id": "collective"},
                                            form={"k": "7"}),
    "reports.collective_quorum": parties(gate=("collective_analyst",),
                                         objects={"public_id": "collective"},
                                         form={"quorum": "3"}),
    # Research: invited researchers; the coordinators who decide.
    "research.index": members("researcher", "coordinator"),
    "research.create": members("researcher", "coordinator", ok=400),
    "research.detail": parties("researcher", "coordinator", objects={"public_id": "request"}),
    "research.decide": parties("coordinator", ok=302, gate=("researcher", "coordinator"),
                               inside=Expect(302, True), objects={"public_id": "request"},
                               form={"decision": "refuse", "reason": "Probe."}),
    "research.download": parties("researcher", objects={"public_id": "extract"}),
    "research.keyfile": members("researcher"),
    "research.invite": members("coordinator", ok=400, form={"scope": "org", "email": ""}),
}


# The probes.

def actor(world: World, role: str) -> Browser:
    people = {"anonymous": world.anonymous, "outreach": world.a.outreach,
              "coordinator": world.a.coordinator, "analyst": world.a.analyst,
              "collective_analyst": world.collective_analyst,
              "researcher": world.a.researcher, "operator": world.operator,
              "pending": world.pending}
    found = people[role]
    assert found is not None
    return found


def object_for(world: World, kind: str, role: str, side: str) -> str:
    """The object of this kind in the actor's own scope (side A) or another (side B)."""
    place = world.a if side == "own" else world.b
    collective = role == "collective_analyst"
    return {
        "incident": place.incident, "attachment": place.attachment,
        "member": place.outreach.user_id, "invite": place.invite_token,
        "recovery": place.recovery_token, "collective": place.collective,
        "saved": place.collective_report if collective else place.saved_report,
        "request": place.request, "extract": place.extract,
        "scope": place.collective if collective or side == "other" else "org",
        "static": "js/sealing.js",
    }[kind]


def methods_of(rule: Any) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def access_for(endpoint: str, method: str) -> Access | None:
    declared = RULES.get(endpoint)
    if isinstance(declared, dict):
        return declared.get(method)
    return declared


def probe(world: World, rule: Any, method: str, access: Access, role: str, side: str,
          fixed: dict[str, str], count: bool = True) -> tuple[int, str, bool]:
    """(status, location, whether any table's row count changed) of one request. Rows are
    counted only when `count` (a refusal is expected): that is half the time of a probe."""
    values = {name: object_for(world, kind, role, side) for name, kind in access.objects.items()}
    path = rule.build(values | fixed, append_unknown=False)[1]
    who = actor(world, role)
    query = dict(access.query)
    form = dict(access.form)
    if access.scoped:
        (form if method in UNSAFE else query)["scope"] = object_for(world, "scope", role, side)
    kwargs: dict[str, Any] = {"query_string": query}
    if method in UNSAFE:
        kwargs |= {"data": form | {"csrf_token": who.csrf}, "headers": {"X-CSRFToken": who.csrf}}
    with cookie_kept(who), rolled_back():
        before = row_counts() if count else {}
        response = who.client.open(path, method=method, **kwargs)
        changed = count and row_counts() != before
    return response.status_code, response.headers.get("Location", ""), changed


@pytest.fixture(autouse=True)
def _context(world: tuple[Flask, World]) -> Iterator[None]:
    with world[0].app_context():
        yield


def test_every_route_is_declared(world: tuple[Flask, World]) -> None:
    app, _ = world
    missing = [f"{rule.endpoint} {method} {rule.rule}" for rule in app.url_map.iter_rules()
               for method in methods_of(rule) if access_for(rule.endpoint, method) is None]
    assert not missing, "routes without a declared rule in RULES: " + "; ".join(missing)
    stale = set(RULES) - {rule.endpoint for rule in app.url_map.iter_rules()}
    assert not stale, f"RULES declares endpoints the app no longer has: {sorted(stale)}"


def test_matrix(world: tuple[Flask, World]) -> None:
    app, people = world
    wrong: list[str] = []
    probes = 0
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.endpoint):
        choices = {name: sorted(conv.items) for name, conv in rule._converters.items()
                   if hasattr(conv, "items")}
        for method in methods_of(rule):
            access = access_for(rule.endpoint, method)
            if access is None:
                continue  # reported by test_every_route_is_declared
            sides = ("own", "other") if access.objects or access.scoped else ("own",)
            for combo in itertools.product(*choices.values()):
                fixed = dict(zip(choices, combo, strict=True))
                for role, side in itertools.product(ROLES, sides):
                    path = rule.rule
                    want = access.expect(role, side, path)
                    status, location, changed = probe(people, rule, method, access, role,
                                                      side, fixed, count=want.refusal)
                    probes += 1
                    shown = " ".join(f"{k}={v}" for k, v in fixed.items())
                    where = f"{rule.endpoint} {method} {rule.rule}{' ' + shown if shown else ''}" \
                            f" as {role} ({side} object)"
                    if status != want.status:
                        wrong.append(f"{where}: expected {want.status}, got {status}")
                    elif role == "anonymous" and want.status == 302 and want.refusal and \
                            not location.endswith("/login"):
                        wrong.append(f"{where}: redirected to {location}, not to /login")
                    if want.refusal and changed:
                        wrong.append(f"{where}: refused ({status}) but rows were written")
    assert probes > 500
    assert not wrong, f"{len(wrong)} of {probes} answers differ from RULES:\n" + "\n".join(wrong)


def test_the_probe_can_see_a_write(world: tuple[Flask, World]) -> None:
    """The row counting that guards refusals notices a real write (and it is rolled back)."""
    app, people = world
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == "reports.save")
    access = replace(members(*REPORTERS, scoped=True), form={"title": "Kept?"} | WINDOW)
    status, _, changed = probe(people, rule, "POST", access, "coordinator", "own", {})
    assert status == 302 and changed
    assert db.session.scalar(sa.select(sa.func.count()).select_from(
        db.metadata.tables["saved_report"])) == 4
