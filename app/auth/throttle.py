"""Login throttling: 5 failures in 15 minutes per account and per address, then a wait.

Failures live in the database, so the limit holds across gunicorn workers and restarts.
Accounts and addresses are stored as keyed hashes, never as e-mails or IP addresses.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from app.extensions import db
from app.models import AuthFailure, utcnow

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)


def _key(scope: str, value: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, f"throttle:{scope}:{value}".encode(), hashlib.sha256).hexdigest()


def _keys(email: str, address: str) -> list[tuple[str, str]]:
    return [("account", _key("account", email.strip().lower())),
            ("address", _key("address", address))]


def minutes_to_wait(email: str, address: str) -> int:
    """0 when a login may be tried now, else whole minutes until it may."""
    now = utcnow()
    wait = 0
    for scope, key in _keys(email, address):
        recent = db.session.scalars(
            sa.select(AuthFailure.at).where(AuthFailure.scope == scope, AuthFailure.key == key,
                                            AuthFailure.at > now - WINDOW)
            .order_by(AuthFailure.at.desc()).limit(MAX_FAILURES)).all()
        if len(recent) >= MAX_FAILURES:
            # Free again when the oldest of the last five leaves the window.
            free_at = recent[-1] + WINDOW
            wait = max(wait, math.ceil((free_at - now).total_seconds() / 60))
    return wait


def record_failure(email: str, address: str) -> None:
    now = utcnow()
    for scope, key in _keys(email, address):
        db.session.add(AuthFailure(scope=scope, key=key, at=now))
    # Forget what can no longer count, so the table stays small.
    db.session.execute(sa.delete(AuthFailure).where(AuthFailure.at < now - 2 * WINDOW))


def clear_account(email: str) -> None:
    scope, key = _keys(email, "")[0]
    db.session.execute(sa.delete(AuthFailure).where(AuthFailure.scope == scope,
                                                    AuthFailure.key == key))
