"""Login rules: prelogin parameters, the auth-key check, the second factor, throttling."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
from dataclasses import dataclass
from functools import cache

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

from app import audit
from app.crypto import b64u_encode, prelogin_fake_salt
from app.extensions import db
from app.models import Membership, MembershipStatus, Organisation, User, utcnow

from . import sessions, throttle, totp


@dataclass(frozen=True)
class KdfParams:
    m: int
    t: int
    p: int

    def as_dict(self) -> dict[str, int]:
        return {"m": self.m, "t": self.t, "p": self.p}


def default_kdf() -> KdfParams:
    c = current_app.config
    return KdfParams(c["KDF_MEMORY_KIB"], c["KDF_TIME_COST"], c["KDF_PARALLELISM"])


@cache
def _hasher(m: int, t: int, p: int) -> PasswordHasher:
    return PasswordHasher(time_cost=t, memory_cost=m, parallelism=p)


def hasher() -> PasswordHasher:
    c = current_app.config
    return _hasher(c["AUTH_HASH_MEMORY_KIB"], c["AUTH_HASH_TIME_COST"],
                   c["AUTH_HASH_PARALLELISM"])


@cache
def _dummy_hash(m: int, t: int, p: int) -> str:
    return _hasher(m, t, p).hash("no account has this key")


def hash_auth_key(auth_key_b64u: str) -> str:
    return hasher().hash(auth_key_b64u)


def find_user(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))


def _server_secret() -> bytes:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, b"collateral/prelogin-secret", hashlib.sha256).digest()


def prelogin(email: str) -> dict[str, object]:
    """Salt and parameters; for an unknown e-mail a stable fake salt, so nobody learns who has
    an account. Both paths do the same database work and no hashing."""
    user = find_user(email)
    if user is None or user.disabled_at is not None:
        salt = b64u_encode(prelogin_fake_salt(_server_secret(), email))
        return {"salt": salt, "kdf": default_kdf().as_dict()}
    return {"salt": user.kdf_salt, "kdf": {"m": user.kdf_memory_kib, "t": user.kdf_time_cost,
                                           "p": user.kdf_parallelism}}


@dataclass(frozen=True)
class Outcome:
    status: str  # "ok", "totp", "refused", "throttled"
    user: User | None = None
    wait_minutes: int = 0


def _verify(user: User | None, auth_key: str) -> bool:
    c = current_app.config
    if user is None or user.disabled_at is not None:
        # Same cost as a real check, so timing does not tell whether the account exists.
        with contextlib.suppress(VerificationError, InvalidHashError):
            hasher().verify(_dummy_hash(c["AUTH_HASH_MEMORY_KIB"], c["AUTH_HASH_TIME_COST"],
                                        c["AUTH_HASH_PARALLELISM"]), auth_key)
        return False
    try:
        hasher().verify(user.auth_hash, auth_key)
    except (VerificationError, InvalidHashError):
        return False
    if hasher().check_needs_rehash(user.auth_hash):
        user.auth_hash = hash_auth_key(auth_key)
    return True


def home_membership(user: User) -> Membership | None:
    """The organisation a login opens: the first one the member still belongs to."""
    return db.session.scalar(
        sa.select(Membership).where(Membership.user_id == user.id,
                                    Membership.status != MembershipStatus.REMOVED)
        .order_by(Membership.id))


def needs_second_factor(user: User) -> bool:
    return user.totp_secret is not None


def check_password(email: str, auth_key: str, address: str) -> Outcome:
    """First step of a login. Commits: failures must count even when the request fails."""
    wait = throttle.minutes_to_wait(email, address)
    if wait:
        return Outcome("throttled", wait_minutes=wait)
    user = find_user(email)
    if not _verify(user, auth_key):
        throttle.record_failure(email, address)
        if user is not None:
            membership = home_membership(user)
            audit.record("login_failed", org=membership.organisation if membership else None,
                         actor=user, object_type="user", object_id=user.pid)
        db.session.commit()
        return Outcome("refused")
    assert user is not None
    if needs_second_factor(user):
        db.session.commit()
        return Outcome("totp", user)
    return Outcome("ok", user)


def check_second_factor(user: User, code: str, address: str) -> Outcome:
    wait = throttle.minutes_to_wait(user.email, address)
    if wait:
        return Outcome("throttled", wait_minutes=wait)
    if not totp.verify_for_user(user, code):
        throttle.record_failure(user.email, address)
        membership = home_membership(user)
        audit.record("login_failed_2fa", org=membership.organisation if membership else None,
                     actor=user, object_type="user", object_id=user.pid)
        db.session.commit()
        return Outcome("refused")
    return Outcome("ok", user)


def complete_login(user: User) -> Organisation | None:
    """Open the server-side session and audit it. The caller commits."""
    membership = home_membership(user)
    org = membership.organisation if membership else None
    throttle.clear_account(user.email)
    sessions.start(user, org)
    user.last_login_at = utcnow()
    audit.record("login", org=org, actor=user, object_type="user", object_id=user.pid)
    return org


def org_requires_2fa_but_user_lacks(user: User, org: Organisation | None) -> bool:
    return bool(org and org.require_2fa and user.totp_secret is None)


def find_user_by_pid(pid: str) -> User | None:
    import uuid

    try:
        key = uuid.UUID(pid)
    except (ValueError, TypeError):
        return None
    return db.session.scalar(sa.select(User).where(User.public_id == key))


def email_of(user_id: int) -> str:
    user = db.session.get(User, user_id)
    return user.email if user else ""


def pid_of(user_id: int) -> str:
    user = db.session.get(User, user_id)
    return user.pid if user else ""


def verify_current(user: User, auth_key: str) -> bool:
    """Check the auth key of the member who is already logged in (passphrase change)."""
    return _verify(user, auth_key)
