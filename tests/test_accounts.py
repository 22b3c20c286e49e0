"""Accounts, organisations and keys, through the HTTP interface with a Python 'browser'."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import timedelta

import pyotp
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskCliRunner

from app.crypto import b64u_encode, recovery_scalar
from app.extensions import db
from app.models import (
    AuditEvent,
    Invite,
    LoginSession,
    Membership,
    MembershipStatus,
    OrgKeyVersion,
    OrgKeyWrap,
    User,
    utcnow,
)
from tests.actors import Browser
from tests.people import create_org, invite, joined, link_path, org_of


def test_first_coordinator_makes_the_organisation_keys(coordinator: Browser) -> None:
    org = org_of()
    versions = db.session.scalars(sa.select(OrgKeyVersion)).all()
    assert [v.kv for v in versions] == [1] and org.current_kv == 1
    assert coordinator.org_keys.get(1) is not None  # unwrapped from the server's wrap
    assert coordinator.recovery and len(coordinator.recovery.replace("-", "")) == 56
    membership = db.session.scalar(sa.select(Membership))
    assert membership is not None and membership.status == MembershipStatus.CONFIRMED
    assert coordinator.get("/").status_code == 200
    assert "Collateral is installed" not in coordinator.get("/").get_data(as_text=True)


def test_members_confirmed_by_fingerprint_and_analyst_gets_no_key(
        coordinator: Browser, new_browser: Callable[[str], Browser]) -> None:
    outreach = joined(coordinator, new_browser, "out@example.org", "outreach")
    analyst = joined(coordinator, new_browser, "ana@example.org", "analyst")
    assert outreach.org_keys == {} and analyst.org_keys == {}  # pending: nothing yet
    page = coordinator.get(f"/org/members/{outreach.user_id}").get_data(as_text=True)
    assert 'id="fingerprint"' in page
    assert coordinator.confirm(outreach.user_id).status_code == 200
    assert coordinator.confirm(analyst.user_id).status_code == 200
    assert outreach.login().status_code == 200 and analyst.login().status_code == 200
    assert outreach.org_keys == {1: coordinator.org_keys[1]}
    assert analyst.org_keys == {}
    # An analyst cannot be slipped a key either.
    body = {"wraps": [{"kv": 1, "wrapped": b64u_encode(bytes(113))}]}
    third = joined(coordinator, new_browser, "ana2@example.org", "analyst")
    response = coordinator.post_json(f"/org/members/{third.user_id}/confirm", body)
    assert response.status_code == 400 and "never given" in (response.json or {})["error"]


def test_removal_rotates_and_drops_the_removed_members_wraps(
        coordinator: Browser, new_browser: Callable[[str], Browser]) -> None:
    org = org_of()
    a = joined(coordinator, new_browser, "a@example.org", "outreach")
    b = joined(coordinator, new_browser, "b@example.org", "outreach")
    for member in (a, b):
        assert coordinator.confirm(member.user_id).status_code == 200
    response = coordinator.remove(a.user_id, org.pid)
    assert response.status_code == 200, response.get_data(as_text=True)
    db.session.expire_all()
    assert org_of().current_kv == 2
    removed = db.session.scalar(sa.select(User).where(User.email == "a@example.org"))
    assert removed is not None
    assert db.session.scalar(sa.select(sa.func.count(OrgKeyWrap.id)).where(
        OrgKeyWrap.user_id == removed.id)) == 0
    # The removed member's session is over and a new login opens nothing.
    assert a.client.get("/auth/keyring").status_code == 401
    # The remaining member holds both versions, so v1 material stays readable.
    assert b.login().status_code == 200
    assert b.org_keys == {1: coordinator.org_keys[1], 2: coordinator.org_keys[2]}


def test_rotation_must_cover_every_key_holder(coordinator: Browser,
                                              new_browser: Callable[[str], Browser]) -> None:
    org = org_of()
    a = joined(coordinator, new_browser, "a@example.org", "outreach")
    assert coordinator.confirm(a.user_id).status_code == 200
    body = coordinator.rotation_body(org.pid)
    body["wraps"] = body["wraps"][:1]  # forgets someone
    response = coordinator.post_json("/org/keys/rotate", body)
    assert response.status_code == 400
    db.session.expire_all()
    assert org_of().current_kv == 1
    assert db.session.scalar(sa.select(sa.func.count(OrgKeyVersion.id))) == 1


def test_recovery_code_restores_access(runner: FlaskCliRunner, coordinator: Browser,
                                       new_browser: Callable[[str], Browser]) -> None:
    org = org_of()
    assert coordinator.recovery is not None
    scalar = recovery_scalar(coordinator.recovery)
    result = runner.invoke(args=["org", "recover", "Red Umbrella", "--email",
                                 "coord@example.org"])
    assert result.exit_code == 0, result.output
    link = link_path(result.output)
    heir = new_browser("coord@example.org")
    heir.passphrase = "a brand new passphrase nobody forgot"
    wrong = heir.recover(link, scalar, sign_with=bytes(31) + b"\x07")
    assert wrong.status_code == 400 and (wrong.json or {})["field"] == "recovery"
    response = heir.recover(link, scalar)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert heir.login().status_code == 200
    assert heir.org_keys == coordinator.org_keys
    events = db.session.scalars(sa.select(AuditEvent.action).where(
        AuditEvent.org_id == org.id)).all()
    assert "org_recovered" in events


def test_two_factor_enrolment_and_replay(coordinator: Browser) -> None:
    page = coordinator.get("/account/2fa").get_data(as_text=True)
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page)
    assert secret
    totp = pyotp.TOTP(secret.group(1))
    assert coordinator.get("/account/2fa/qr.svg").content_type.startswith("image/svg+xml")
    response = coordinator.post_form("/account/2fa", {"code": totp.now()})
    assert response.status_code == 302
    # The enrolment code is spent; the next time step's code is accepted once (clock drift).
    code = totp.at(time.time() + 30)
    fresh = Browser(coordinator.client.application.test_client(), coordinator.email)
    assert fresh.login(totp_code=code).status_code == 200
    replay = Browser(coordinator.client.application.test_client(), coordinator.email)
    response = replay.login(totp_code=code)
    assert response.status_code == 401 and "already used" in (response.json or {})["error"]


def test_failed_logins_are_throttled_with_minutes(coordinator: Browser,
                                                  new_browser: Callable[[str], Browser]) -> None:
    thief = new_browser("coord@example.org")
    thief.passphrase = "wrong wrong wrong wrong"
    for _ in range(5):
        assert thief.login().status_code == 401
    response = thief.login()
    assert response.status_code == 429
    body = response.json or {}
    assert body["retry_after_minutes"] in range(14, 16)
    assert f"{body['retry_after_minutes']} minutes" in body["error"]
    # Even the right passphrase waits now.
    assert new_browser("coord@example.org").login().status_code == 429


def test_unknown_email_looks_like_a_real_one(app: Flask, coordinator: Browser,
                                             new_browser: Callable[[str], Browser]) -> None:
    b = new_browser("nobody@example.org")
    first = b.post_json("/auth/prelogin", {"email": "nobody@example.org"}).json or {}
    again = b.post_json("/auth/prelogin", {"email": " NoBody@Example.org "}).json or {}
    real = b.post_json("/auth/prelogin", {"email": "coord@example.org"}).json or {}
    assert first == again and set(first) == set(real) and len(first["salt"]) == 22
    assert first["kdf"] == real["kdf"]
    wrong = b.login()
    b.email = "coord@example.org"
    b.passphrase = "not it at all, no"
    also_wrong = b.login()
    assert (wrong.json or {})["error"] == (also_wrong.json or {})["error"]


def test_logout_ends_the_server_session(coordinator: Browser) -> None:
    assert coordinator.client.get("/auth/keyring").status_code == 200
    coordinator.post_form("/auth/logout", {})
    assert coordinator.client.get("/auth/keyring").status_code == 401
    row = db.session.scalar(sa.select(LoginSession))
    assert row is not None and row.ended_reason == "logout" and row.session_key is None


def test_idle_and_absolute_timeouts(app: Flask, coordinator: Browser) -> None:
    row = db.session.scalar(sa.select(LoginSession).where(LoginSession.ended_at.is_(None)))
    assert row is not None
    row.last_seen_at = utcnow() - timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] + 1)
    db.session.commit()
    assert coordinator.client.get("/auth/keyring").status_code == 401
    assert coordinator.login().status_code == 200
    row = db.session.scalar(sa.select(LoginSession).where(LoginSession.ended_at.is_(None)))
    assert row is not None
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert coordinator.client.get("/auth/keyring").status_code == 401


def test_logout_everywhere(coordinator: Browser, app: Flask) -> None:
    other_device = Browser(app.test_client(), coordinator.email)
    assert other_device.login().status_code == 200
    coordinator.post_form("/auth/logout-everywhere", {})
    assert other_device.client.get("/auth/keyring").status_code == 401
    assert coordinator.client.get("/auth/keyring").status_code == 401


# Bad input: each refused with a reason, nothing half-written.

def _counts() -> tuple[int, ...]:
    return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(m)) or 0
                 for m in (User, Membership, OrgKeyVersion, OrgKeyWrap))


def test_forged_expired_and_reused_invites(runner: FlaskCliRunner, app: Flask,
                                           new_browser: Callable[[str], Browser]) -> None:
    link = create_org(runner)
    assert "not valid" in new_browser("x@example.org").get(
        "/register/forged-token").get_data(as_text=True)
    first = new_browser("coord@example.org")
    assert first.register(link).status_code == 201
    again = new_browser("coord@example.org")
    page = again.get(link)
    assert page.status_code == 410 and "already been used" in page.get_data(as_text=True)
    link2 = create_org(runner, "Second", "second@example.org")
    invite_row = db.session.scalars(sa.select(Invite).order_by(Invite.id.desc())).first()
    assert invite_row is not None
    invite_row.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert "expired" in new_browser("second@example.org").get(link2).get_data(as_text=True)


@pytest.mark.parametrize("field,value,message", [
    ("public_key", b64u_encode(b"\x04" + bytes(64)), "not a valid public key"),
    ("public_key", "not base64!", "not a valid encoded key"),
    ("wrapped_private_key", {"narrative": "plain"}, "not a sealed envelope"),
    ("wrapped_private_key", {"v": 2, "iv": "AAAAAAAAAAAAAAAA", "ct": "A" * 40},
     "not a sealed envelope"),
    ("auth_key", b64u_encode(bytes(16)), "not a valid encoded key"),
    ("kdf", {"m": 8, "t": 1, "p": 1}, "whole number"),
    ("salt", b64u_encode(bytes(16)), "out of date"),
    ("org_keys", None, "only by an organisation's first coordinator"),
])
def test_registration_refuses_bad_key_material(
        runner: FlaskCliRunner, new_browser: Callable[[str], Browser], field: str,
        value: object, message: str) -> None:
    link = create_org(runner)
    b = new_browser("coord@example.org")
    url, body = b.registration_body(link)
    body[field] = value
    before = _counts()
    response = b.post_json(url, body)
    assert response.status_code == 400
    assert message in (response.json or {})["error"]
    assert _counts() == before
    assert db.session.scalar(sa.select(Invite.used_at)) is None


def test_org_keys_refused_on_an_ordinary_invite(coordinator: Browser,
                                                new_browser: Callable[[str], Browser]) -> None:
    link = invite(coordinator, "sneaky@example.org", "outreach")
    sneaky = new_browser("sneaky@example.org")
    url, body = sneaky.registration_body(link)
    body["org_keys"] = {"kv": 1, "wrapped": b64u_encode(bytes(113)),
                        "recovery_public_key": body["public_key"],
                        "recovery_wrap": b64u_encode(bytes(113))}
    before = _counts()
    assert sneaky.post_json(url, body).status_code == 400
    assert _counts() == before


def test_missing_csrf_token_is_refused(coordinator: Browser) -> None:
    response = coordinator.client.post("/org/invites", data={"email": "z@example.org",
                                                             "role": "outreach"})
    assert response.status_code == 400
    response = coordinator.client.post("/auth/prelogin", json={"email": "z@example.org"})
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count(Invite.id))) == 1


def test_only_coordinators_confirm(coordinator: Browser,
                                   new_browser: Callable[[str], Browser]) -> None:
    outreach = joined(coordinator, new_browser, "o@example.org", "outreach")
    assert coordinator.confirm(outreach.user_id).status_code == 200
    assert outreach.login().status_code == 200
    newcomer = joined(coordinator, new_browser, "n@example.org", "outreach")
    response = outreach.post_json(f"/org/members/{newcomer.user_id}/confirm", {"wraps": []})
    assert response.status_code == 403
    assert outreach.get("/org/members").status_code == 403
    assert outreach.get("/org/audit").status_code == 403


def test_tenant_isolation(runner: FlaskCliRunner, coordinator: Browser,
                          new_browser: Callable[[str], Browser]) -> None:
    """A coordinator of another organisation gets 404 for every member URL of this one."""
    member = joined(coordinator, new_browser, "m@example.org", "outreach")
    other = new_browser("boss@other.example")
    assert other.register(create_org(runner, "Other Org", "boss@other.example")).status_code \
        == 201
    assert other.login().status_code == 200
    mid = member.user_id
    for method, url in [("GET", f"/org/members/{mid}"), ("POST", f"/org/members/{mid}/confirm"),
                        ("POST", f"/org/members/{mid}/remove"),
                        ("POST", f"/org/members/{mid}/role"),
                        ("POST", f"/org/members/{mid}/reset"),
                        ("GET", f"/org/keyholders?exclude={mid}")]:
        if method == "GET":
            response = other.get(url)
        elif url.endswith(("confirm", "remove")):
            response = other.post_json(url, {"wraps": []})
        else:
            response = other.post_form(url, {"role": "coordinator"})
        assert response.status_code == 404, (method, url, response.status_code)
    audit = other.get("/org/audit").get_data(as_text=True)
    assert mid[:8] not in audit
    holders = other.client.get("/org/keyholders").json or {}
    assert [h["id"] for h in holders["holders"]] == [other.user_id]
    ring = other.client.get("/auth/keyring").json or {}
    assert ring["org"]["name"] == "Other Org"


def test_audit_log_lists_security_events(coordinator: Browser,
                                         new_browser: Callable[[str], Browser]) -> None:
    member = joined(coordinator, new_browser, "m@example.org", "outreach")
    coordinator.confirm(member.user_id)
    page = coordinator.get("/org/audit").get_data(as_text=True)
    for action in ("org_created", "keys_created", "login", "invite_created",
                   "member_registered", "member_confirmed"):
        assert action in page


def test_role_changes_are_audited_and_analyst_needs_rotation(
        coordinator: Browser, new_browser: Callable[[str], Browser]) -> None:
    member = joined(coordinator, new_browser, "m@example.org", "outreach")
    coordinator.confirm(member.user_id)
    coordinator.post_form(f"/org/members/{member.user_id}/role", {"role": "coordinator"})
    coordinator.post_form(f"/org/members/{member.user_id}/role", {"role": "analyst"})
    membership = db.session.scalars(sa.select(Membership).order_by(Membership.id)).all()[-1]
    assert membership.role.value == "coordinator"
    response = coordinator.remove(member.user_id, org_of().pid, demote=True)
    assert response.status_code == 200
    db.session.expire_all()
    demoted = db.session.get(Membership, membership.id)
    assert demoted is not None and demoted.role.value == "analyst"
    assert demoted.status == MembershipStatus.CONFIRMED
    changes = db.session.scalars(sa.select(AuditEvent.details).where(
        AuditEvent.action == "member_role_changed")).all()
    assert [c["new"] for c in changes] == ["coordinator", "analyst"]


def test_lost_passphrase_reset(coordinator: Browser,
                               new_browser: Callable[[str], Browser]) -> None:
    member = joined(coordinator, new_browser, "m@example.org", "outreach")
    coordinator.confirm(member.user_id)
    response = coordinator.post_form(f"/org/members/{member.user_id}/reset", {})
    assert response.status_code == 200
    link = link_path(response.get_data(as_text=True))
    again = new_browser("m@example.org")
    again.passphrase = "my new long passphrase here"
    assert again.register(link).status_code == 201
    assert again.user_id == member.user_id
    assert again.login().status_code == 200 and again.org_keys == {}
    assert coordinator.confirm(member.user_id).status_code == 200
    assert again.login().status_code == 200
    assert again.org_keys == {1: coordinator.org_keys[1]}


def test_quick_exit_ends_the_login_session(coordinator: Browser) -> None:
    assert coordinator.client.get("/auth/keyring").status_code == 200
    assert coordinator.post_form("/quick-exit", {}).status_code == 204
    assert coordinator.client.get("/auth/keyring").status_code == 401
    row = db.session.scalar(sa.select(LoginSession))
    assert row is not None and row.ended_reason == "quick_exit" and row.session_key is None


def test_passphrase_inputs_are_never_submitted(runner: FlaskCliRunner, coordinator: Browser,
                                               new_browser: Callable[[str], Browser]) -> None:
    """Every page that asks for a passphrase renders, and no passphrase input has a name."""
    pages = [coordinator.get("/account/passphrase"),
             new_browser("x@example.org").get("/login"),
             new_browser("x@example.org").get(invite(coordinator, "x@example.org", "outreach"))]
    recover = runner.invoke(args=["org", "recover", "Red Umbrella", "--email", "r@example.org"])
    pages.append(new_browser("r@example.org").get(link_path(recover.output)))
    for response in pages:
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        inputs = re.findall(r'<input[^>]*type="password"[^>]*>', body)
        assert inputs, response.request.path
        assert not [i for i in inputs if " name=" in i], response.request.path
        assert "'wasm-unsafe-eval'" in response.headers["Content-Security-Policy"]
