"""Organisation rules: invites, registration, confirmation by fingerprint, rotation, reset,
recovery. Every function changes state inside the caller's transaction and writes its audit
event; the caller commits once, so a refusal leaves nothing half-written."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from app import audit
from app.auth import sessions
from app.auth.service import default_kdf, find_user, hash_auth_key
from app.crypto import CryptoError, b64u_decode, verify_recovery_proof
from app.extensions import db
from app.models import (
    Collective,
    Invite,
    InvitePurpose,
    Membership,
    MembershipStatus,
    Organisation,
    OrgKeyVersion,
    OrgKeyWrap,
    ResearcherAccess,
    Role,
    User,
    utcnow,
)
from app.payload import BadInput, Payload

KEY_HOLDING = (Role.OUTREACH, Role.COORDINATOR)


class NotFound(LookupError):
    """The object does not exist in this organisation (answered as 404)."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# Organisations and invites.

def create_org(name: str, coordinator_email: str, hours: int | None = None) -> tuple[
        Organisation, str]:
    name = name.strip()
    if not name or len(name) > 200:
        raise BadInput(_("An organisation needs a name of at most 200 characters."), "name")
    org = Organisation(name=name)
    db.session.add(org)
    db.session.flush()
    token = create_invite(org, Role.COORDINATOR, coordinator_email, None,
                          purpose=InvitePurpose.NEW_ORG, hours=hours)
    audit.record("org_created", org=org, object_type="organisation", object_id=org.pid)
    return org, token


def create_invite(org: Organisation, role: Role, email: str | None, actor: User | None, *,
                  purpose: InvitePurpose = InvitePurpose.JOIN, user: User | None = None,
                  hours: int | None = None) -> str:
    """Make a single-use invite and return its token (shown once; only its hash is kept)."""
    if email is not None:
        email = Payload({"email": email}).email()
        if purpose in (InvitePurpose.JOIN, InvitePurpose.NEW_ORG) and find_user(email):
            raise BadInput(_("Someone with this e-mail address already has an account here."),
                           "email")
    token = secrets.token_urlsafe(32)
    hours = hours or current_app.config["INVITE_HOURS"]
    invite = Invite(token_hash=token_hash(token), org_id=org.id, purpose=purpose, role=role,
                    email=email, user_id=user.id if user else None, created_by_id=(
                        actor.id if actor else None),
                    expires_at=utcnow() + timedelta(hours=hours))
    db.session.add(invite)
    db.session.flush()
    audit.record("invite_created", org=org, actor=actor, object_type="invite",
                 object_id=invite.pid, role=role.value, purpose=purpose.value)
    return token


def open_invite(token: str) -> Invite:
    """The invite behind a token, or BadInput saying plainly why it cannot be used."""
    invite = db.session.scalar(sa.select(Invite).where(Invite.token_hash == token_hash(token)))
    if invite is None:
        raise BadInput(_("This invitation link is not valid. Check that you copied all of it, "
                         "or ask for a new one."))
    if invite.used_at is not None:
        raise BadInput(_("This invitation link has already been used. Ask for a new one."))
    if invite.expires_at <= utcnow():
        raise BadInput(_("This invitation link has expired. Ask for a new one."))
    return invite


# Registration: the browser made every key; the server checks shapes and stores.

@dataclass(frozen=True)
class Credentials:
    email: str
    display_name: str
    salt: str
    kdf: tuple[int, int, int]
    auth_hash: str
    public_key: str
    wrapped_private_key: dict[str, Any]


def read_credentials(body: Payload, invite: Invite, issued_salt: str) -> Credentials:
    email = invite.email or body.email()
    if invite.purpose in (InvitePurpose.RESET, InvitePurpose.RECOVER) and invite.user_id:
        user = db.session.get(User, invite.user_id)
        email = user.email if user else email
    salt = body.b64u("salt", length=16) or ""
    if not secrets.compare_digest(salt, issued_salt):
        raise BadInput(_("The page is out of date. Reload it and try again."), "salt")
    kdf_body = body.child("kdf")
    assert kdf_body is not None
    floor = default_kdf()
    kdf = (kdf_body.integer("m", minimum=floor.m, maximum=4 * 1024 * 1024),
           kdf_body.integer("t", minimum=floor.t, maximum=100),
           kdf_body.integer("p", minimum=floor.p, maximum=16))
    return Credentials(
        email=email, display_name=body.text("display_name", max_len=120) or "", salt=salt,
        kdf=kdf, auth_hash=hash_auth_key(body.b64u("auth_key", length=32) or ""),
        public_key=body.public_key("public_key"),
        wrapped_private_key=body.envelope("wrapped_private_key", with_kv=False))


def _apply(user: User, creds: Credentials) -> None:
    user.display_name = creds.display_name
    user.kdf_salt = creds.salt
    user.kdf_memory_kib, user.kdf_time_cost, user.kdf_parallelism = creds.kdf
    user.auth_hash = creds.auth_hash
    user.public_key = creds.public_key
    user.wrapped_private_key = creds.wrapped_private_key
    user.totp_secret = None
    user.totp_last_step = None


def _new_user(creds: Credentials, public_id: str) -> User:
    if find_user(creds.email):
        raise BadInput(_("Someone with this e-mail address already has an account here."),
                       "email")
    user = User(email=creds.email)
    user.public_id = uuid.UUID(public_id)
    _apply(user, creds)
    db.session.add(user)
    db.session.flush()
    return user


def register(invite: Invite, body: Payload, issued: dict[str, str]) -> User:
    """Create (or, for a reset, re-key) the account an invite is for."""
    if invite.purpose == InvitePurpose.RECOVER:
        raise BadInput(_("This link is for recovering an organisation; use the recovery page."))
    creds = read_credentials(body, invite, issued["salt"])
    org_keys = body.child("org_keys", optional=True)
    if (org_keys is not None) != (invite.purpose == InvitePurpose.NEW_ORG):
        raise BadInput(_("Organisation keys are made only by an organisation's first "
                         "coordinator."), "org_keys")
    if invite.purpose == InvitePurpose.RESEARCHER:
        return _register_researcher(invite, creds, issued)
    org = invite.org
    if invite.purpose == InvitePurpose.RESET:
        user = db.session.get(User, invite.user_id)
        if user is None:
            raise BadInput(_("This account no longer exists."))
        _apply(user, creds)
        sessions.end_all(user, "reset")
        action = "account_rekeyed"
    else:
        user = _new_user(creds, issued["user_id"])
        status = MembershipStatus.PENDING
        if org_keys is not None:
            _create_first_key_version(org, user, org_keys)
            status = MembershipStatus.CONFIRMED  # they hold the keys they just made
        db.session.add(Membership(user_id=user.id, org_id=org.id, role=invite.member_role,
                                  status=status,
                                  confirmed_at=utcnow() if org_keys is not None else None))
        action = "member_registered"
    invite.used_at = utcnow()
    audit.record(action, org=org, actor=user, object_type="user", object_id=user.pid,
                 role=invite.member_role.value)
    return user


def _register_researcher(invite: Invite, creds: Credentials, issued: dict[str, str]) -> User:
    """A researcher's account: a key pair like any member's (to open extracts), no
    organisation key, and access to ask the inviting organisation or collective."""
    user = _new_user(creds, issued["user_id"])
    db.session.add(ResearcherAccess(user_id=user.id, org_id=invite.org_id,
                                    collective_id=invite.collective_id, created_at=utcnow()))
    invite.used_at = utcnow()
    audit.record("researcher_registered", org=invite.organisation, actor=user,
                 object_type="user", object_id=user.pid)
    return user


def _create_first_key_version(org: Organisation, user: User, body: Payload) -> None:
    if db.session.scalar(sa.select(OrgKeyVersion.id).where(OrgKeyVersion.org_id == org.id)):
        raise BadInput(_("This organisation already has keys."), "org_keys")
    if body.integer("kv", minimum=1, maximum=1) != 1:  # pragma: no cover - integer() checks
        raise BadInput(_("The first key version is 1."), "org_keys.kv")
    version = OrgKeyVersion(org_id=org.id, kv=1, created_by_id=user.id,
                            recovery_wrap=body.wrapped_key("recovery_wrap") or "",
                            recovery_public_key=body.public_key("recovery_public_key"))
    db.session.add(version)
    db.session.flush()
    db.session.add(OrgKeyWrap(key_version_id=version.id, user_id=user.id,
                              wrapped=body.wrapped_key("wrapped") or ""))
    org.current_kv = 1
    audit.record("keys_created", org=org, actor=user, object_type="organisation",
                 object_id=org.pid, kv=1)


# Members.

def membership_of(org: Organisation, member_id: Any) -> Membership:
    """A member of this organisation by public id; NotFound for anyone else's."""
    membership = db.session.scalar(
        sa.select(Membership).join(User, Membership.user_id == User.id)
        .where(Membership.org_id == org.id, User.public_id == member_id,
               Membership.status != MembershipStatus.REMOVED))
    if membership is None:
        raise NotFound(member_id)
    return membership


def key_versions(org: Organisation) -> list[OrgKeyVersion]:
    return list(db.session.scalars(sa.select(OrgKeyVersion).where(
        OrgKeyVersion.org_id == org.id).order_by(OrgKeyVersion.kv)))


def wraps_for(org: Organisation, user: User) -> list[tuple[int, str]]:
    rows = db.session.execute(
        sa.select(OrgKeyVersion.kv, OrgKeyWrap.wrapped).join(OrgKeyWrap)
        .where(OrgKeyVersion.org_id == org.id, OrgKeyWrap.user_id == user.id)
        .order_by(OrgKeyVersion.kv)).all()
    return [(kv, wrapped) for kv, wrapped in rows]


def _read_kv_wraps(body: Payload, versions: list[OrgKeyVersion]) -> dict[int, str]:
    wraps: dict[int, str] = {}
    for item in body.items("wraps", max_items=10_000):
        kv = item.integer("kv", minimum=1)
        wraps[kv] = item.wrapped_key("wrapped") or ""
    if set(wraps) != {v.kv for v in versions}:
        raise BadInput(_("Every key version must be wrapped to the member, and no other."),
                       "wraps")
    return wraps


def confirm(org: Organisation, actor: User, membership: Membership, body: Payload) -> None:
    """After the fingerprint check: wrap every ODK version to the member (analysts: none)."""
    if membership.status != MembershipStatus.PENDING:
        raise BadInput(_("This member is not waiting for confirmation."))
    if membership.user_id == actor.id:
        raise BadInput(_("Another coordinator must confirm you."))
    versions = key_versions(org)
    if membership.role == Role.ANALYST:
        if body.items("wraps"):
            raise BadInput(_("Analysts are never given the organisation's key."), "wraps")
        wraps: dict[int, str] = {}
    else:
        wraps = _read_kv_wraps(body, versions)
    for version in versions:
        if version.kv in wraps:
            db.session.add(OrgKeyWrap(key_version_id=version.id, user_id=membership.user_id,
                                      wrapped=wraps[version.kv]))
    membership.status = MembershipStatus.CONFIRMED
    membership.confirmed_at = utcnow()
    membership.confirmed_by_id = actor.id
    audit.record("member_confirmed", org=org, actor=actor, object_type="user",
                 object_id=membership.user.pid, role=membership.role.value, wraps=len(wraps))


def key_holders(org: Organisation, exclude: User | None = None) -> list[User]:
    """Confirmed members who hold the organisation key (not analysts)."""
    query = (sa.select(User).join(Membership, Membership.user_id == User.id)
             .where(Membership.org_id == org.id,
                    Membership.status == MembershipStatus.CONFIRMED,
                    Membership.role.in_(KEY_HOLDING)).order_by(User.id))
    if exclude is not None:
        query = query.where(User.id != exclude.id)
    return list(db.session.scalars(query))


def rotate(org: Organisation, actor: User, body: Payload, *,
           remove: Membership | None = None, demote: bool = False) -> OrgKeyVersion:
    """Make ODK v(n+1) current: wrapped (in the coordinator's browser) to every remaining key
    holder and to the recovery key. Removing or demoting a member happens in the same step."""
    kv = body.integer("kv", minimum=1)
    if kv != org.current_kv + 1:
        raise BadInput(_("Someone else changed the keys meanwhile. Reload and try again."),
                       "kv")
    if remove is not None and remove.user_id == actor.id:
        raise BadInput(_("You cannot remove yourself; ask another coordinator."))
    holders = key_holders(org, exclude=remove.user if remove else None)
    wraps: dict[str, str] = {}
    for item in body.items("wraps", max_items=10_000):
        wraps[str(item.uuid("user"))] = item.wrapped_key("wrapped") or ""
    if set(wraps) != {u.pid for u in holders}:
        raise BadInput(_("The new key must be wrapped to every remaining key holder, and no "
                         "one else."), "wraps")
    latest = key_versions(org)[-1]
    version = OrgKeyVersion(org_id=org.id, kv=kv, created_by_id=actor.id,
                            recovery_wrap=body.wrapped_key("recovery_wrap") or "",
                            recovery_public_key=latest.recovery_public_key)
    db.session.add(version)
    db.session.flush()
    for user in holders:
        db.session.add(OrgKeyWrap(key_version_id=version.id, user_id=user.id,
                                  wrapped=wraps[user.pid]))
    org.current_kv = kv
    if remove is not None:
        _drop_wraps(org, remove.user)
        if demote:
            old_role = remove.role
            remove.role = Role.ANALYST
            audit.record("member_role_changed", org=org, actor=actor, object_type="user",
                         object_id=remove.user.pid, old=old_role.value, new=Role.ANALYST.value)
        else:
            remove.status = MembershipStatus.REMOVED
            sessions.end_all(remove.user, "removed")
            audit.record("member_removed", org=org, actor=actor, object_type="user",
                         object_id=remove.user.pid)
    audit.record("keys_rotated", org=org, actor=actor, object_type="organisation",
                 object_id=org.pid, kv=kv, holders=len(holders))
    return version


def remove_keyless(org: Organisation, actor: User, membership: Membership) -> None:
    if membership.role != Role.ANALYST:
        raise BadInput(_("Removing a key holder makes a new key version."))
    membership.status = MembershipStatus.REMOVED
    sessions.end_all(membership.user, "removed")
    audit.record("member_removed", org=org, actor=actor, object_type="user",
                 object_id=membership.user.pid)


def _drop_wraps(org: Organisation, user: User) -> None:
    ids = sa.select(OrgKeyVersion.id).where(OrgKeyVersion.org_id == org.id)
    db.session.execute(sa.delete(OrgKeyWrap).where(OrgKeyWrap.user_id == user.id,
                                                   OrgKeyWrap.key_version_id.in_(ids)))


def change_role(org: Organisation, actor: User, membership: Membership, role: Role) -> None:
    """Between outreach and coordinator only; key access changes go through rotate()."""
    if Role.ANALYST in (role, membership.role) and role != membership.role:
        raise BadInput(_("Making someone an analyst, or an analyst a key holder, changes who "
                         "holds the key: use the key actions on the member's page."), "role")
    if membership.user_id == actor.id and role != Role.COORDINATOR:
        raise BadInput(_("You cannot step down yourself; ask another coordinator."), "role")
    if role == membership.role:
        return
    old = membership.role
    membership.role = role
    audit.record("member_role_changed", org=org, actor=actor, object_type="user",
                 object_id=membership.user.pid, old=old.value, new=role.value)


def promote_analyst(org: Organisation, actor: User, membership: Membership,
                    role: Role) -> None:
    """An analyst becomes a key holder: back to pending, so a fingerprint check and wraps
    follow before any key reaches them."""
    if membership.role != Role.ANALYST or role not in KEY_HOLDING:
        raise BadInput(_("Only an analyst can be given key access this way."), "role")
    membership.role = role
    membership.status = MembershipStatus.PENDING
    audit.record("member_role_changed", org=org, actor=actor, object_type="user",
                 object_id=membership.user.pid, old=Role.ANALYST.value, new=role.value)


def reset(org: Organisation, actor: User, membership: Membership) -> str:
    """Lost passphrase: the member loses key access, re-registers a key pair from a new link,
    and waits for a coordinator to confirm them again."""
    if membership.user_id == actor.id:
        raise BadInput(_("Ask another coordinator to reset your account."))
    _drop_wraps(org, membership.user)
    membership.status = MembershipStatus.PENDING
    sessions.end_all(membership.user, "reset")
    token = create_invite(org, membership.role, None, actor, purpose=InvitePurpose.RESET,
                          user=membership.user)
    audit.record("member_reset", org=org, actor=actor, object_type="user",
                 object_id=membership.user.pid)
    return token


def set_require_2fa(org: Organisation, actor: User, required: bool) -> None:
    org.require_2fa = required
    audit.record("org_2fa_policy", org=org, actor=actor, object_type="organisation",
                 object_id=org.pid, required=required)


# Recovery with the recovery code.

def create_recovery_invite(org: Organisation, email: str) -> str:
    """Printed by `flask org recover`: lets a coordinator-to-be take over with the code."""
    user = find_user(email)
    return create_invite(org, Role.COORDINATOR, email if user is None else None, None,
                         purpose=InvitePurpose.RECOVER, user=user)


def recover(invite: Invite, body: Payload, issued: dict[str, str]) -> User:
    if invite.purpose != InvitePurpose.RECOVER:
        raise BadInput(_("This link is not a recovery link."))
    org = invite.org
    versions = key_versions(org)
    if not versions:
        raise BadInput(_("This organisation has no keys to recover."))
    proof_body = body.child("recovery")
    assert proof_body is not None
    proof = proof_body.b64u("proof", length=64) or ""
    try:
        verify_recovery_proof(b64u_decode(versions[-1].recovery_public_key), org.pid,
                              issued["nonce"], b64u_decode(proof))
    except CryptoError as exc:
        raise BadInput(_("The recovery code does not belong to this organisation."),
                       "recovery") from exc
    wraps = _read_kv_wraps(proof_body, versions)
    creds = read_credentials(body, invite, issued["salt"])
    user = db.session.get(User, invite.user_id) if invite.user_id else None
    if user is None:
        user = _new_user(creds, issued["user_id"])
    else:
        _apply(user, creds)
        sessions.end_all(user, "recovered")
    _drop_wraps(org, user)
    for version in versions:
        db.session.add(OrgKeyWrap(key_version_id=version.id, user_id=user.id,
                                  wrapped=wraps[version.kv]))
    membership = db.session.scalar(sa.select(Membership).where(
        Membership.org_id == org.id, Membership.user_id == user.id))
    if membership is None:
        membership = Membership(user_id=user.id, org_id=org.id)
        db.session.add(membership)
    membership.role = Role.COORDINATOR
    membership.status = MembershipStatus.CONFIRMED
    membership.confirmed_at = utcnow()
    invite.used_at = utcnow()
    audit.record("org_recovered", org=org, actor=user, object_type="user", object_id=user.pid,
                 versions=len(versions))
    return user


# Collectives (operator, from the command line).

def create_collective(name: str) -> Collective:
    collective = Collective(name=name.strip())
    db.session.add(collective)
    db.session.flush()
    audit.record("collective_created", object_type="collective", object_id=collective.pid)
    return collective


def read_passphrase_change(user: User, body: Payload, issued_salt: str) -> None:
    """New salt, parameters, auth key and re-wrapped private key; the key pair stays."""
    salt = body.b64u("salt", length=16) or ""
    if not secrets.compare_digest(salt, issued_salt):
        raise BadInput(_("The page is out of date. Reload it and try again."), "salt")
    kdf_body = body.child("kdf")
    assert kdf_body is not None
    # Parameters may only be raised (CRYPTO.md).
    kdf = (kdf_body.integer("m", minimum=user.kdf_memory_kib, maximum=4 * 1024 * 1024),
           kdf_body.integer("t", minimum=user.kdf_time_cost, maximum=100),
           kdf_body.integer("p", minimum=user.kdf_parallelism, maximum=16))
    user.kdf_salt = salt
    user.kdf_memory_kib, user.kdf_time_cost, user.kdf_parallelism = kdf
    user.auth_hash = hash_auth_key(body.b64u("auth_key", length=32) or "")
    user.wrapped_private_key = body.envelope("wrapped_private_key", with_kv=False)
