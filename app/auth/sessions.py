"""Server-side login sessions: the cookie names a row; ending the row ends the session.

A session ends on logout, "log out everywhere", quick exit, after SESSION_IDLE_MINUTES without
a request, or PERMANENT_SESSION_LIFETIME after login. Ending it erases its session key, so
the wrapped keys a browser kept in IndexedDB become useless.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, g, session

from app.crypto import b64u_encode
from app.extensions import db
from app.models import LoginSession, Organisation, User, utcnow

SID = "sid"
TOUCH_EVERY = timedelta(seconds=60)  # how often last_seen_at is written, to spare the database


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(user: User, org: Organisation | None) -> LoginSession:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = LoginSession(token_hash=_hash(token), user_id=user.id, org_id=org.id if org else None,
                       session_key=b64u_encode(os.urandom(32)), created_at=now, last_seen_at=now,
                       expires_at=now + current_app.config["PERMANENT_SESSION_LIFETIME"])
    db.session.add(row)
    # A new cookie session: nothing from before the login (e.g. a half-done 2FA) survives.
    session.clear()
    session[SID] = token
    session.permanent = True
    g.login_session = row
    return row


def end(row: LoginSession, reason: str) -> None:
    if row.ended_at is None:
        row.ended_at = utcnow()
        row.ended_reason = reason
    row.session_key = None


def current() -> LoginSession | None:
    """The live session of this request, or None; ends it here if it has run out."""
    if "login_session" in g:
        cached: LoginSession | None = g.login_session
        return cached
    row = None
    token = session.get(SID)
    if isinstance(token, str):
        row = db.session.scalar(sa.select(LoginSession).where(
            LoginSession.token_hash == _hash(token)))
    if row is not None and row.ended_at is None:
        now = utcnow()
        idle = timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])
        if now >= row.expires_at or now - row.last_seen_at >= idle:
            end(row, "expired" if now >= row.expires_at else "idle")
            db.session.commit()
        elif now - row.last_seen_at >= TOUCH_EVERY:
            row.last_seen_at = now
            db.session.commit()
    if row is not None and (row.ended_at is not None or row.user.disabled_at is not None):
        row = None
    g.login_session = row
    return row


def end_current(reason: str) -> None:
    row = current()
    if row is not None:
        end(row, reason)
    session.clear()
    g.login_session = None


def end_all(user: User, reason: str) -> int:
    rows = db.session.scalars(sa.select(LoginSession).where(
        LoginSession.user_id == user.id, LoginSession.ended_at.is_(None))).all()
    for row in rows:
        end(row, reason)
    return len(rows)
