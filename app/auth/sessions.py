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
from flask import current_app, request, session

from app.crypto import b64u_encode
from app.extensions import db
from app.i18n import SESSION_KEY as LANG
from app.models import LoginSession, Organisation, User, utcnow

SID = "sid"
CACHE = "collateral.login_session"  # per request, in the WSGI environ (g outlives requests
                                    # when an app context is already pushed)
TOUCH_EVERY = timedelta(seconds=60)  # how often last_seen_at is written, to spare the database


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(user: User, org: Organisation | None) -> LoginSession:
    # A login in a browser that is still logged in ends the earlier session: its token (in a
    # cookie value that may have been copied) opens nothing any more.
    previous = current()
    if previous is not None:
        end(previous, "replaced")
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = LoginSession(token_hash=_hash(token), user_id=user.id, org_id=org.id if org else None,
                       session_key=b64u_encode(os.urandom(32)), created_at=now, last_seen_at=now,
                       expires_at=now + current_app.config["PERMANENT_SESSION_LIFETIME"])
    db.session.add(row)
    # A new cookie session with a new token: nothing from before the login (a half-done 2FA,
    # the CSRF token, a token planted by someone else) survives, except the language picked
    # on the login page.
    _clear_keeping_language()
    session[SID] = token
    session.permanent = True
    request.environ[CACHE] = row
    return row


def end(row: LoginSession, reason: str) -> None:
    if row.ended_at is None:
        row.ended_at = utcnow()
        row.ended_reason = reason
    row.session_key = None


def current() -> LoginSession | None:
    """The live session of this request, or None; ends it here if it has run out."""
    if CACHE in request.environ:
        cached: LoginSession | None = request.environ[CACHE]
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
    request.environ[CACHE] = row
    return row


def end_current(reason: str) -> None:
    row = current()
    if row is not None:
        end(row, reason)
    _clear_keeping_language()
    request.environ[CACHE] = None


def _clear_keeping_language() -> None:
    """Empty the cookie session but keep the language choice (app/i18n.py), so that logging
    in or out does not switch the page to another language. Quick exit clears everything."""
    lang = session.get(LANG)
    session.clear()
    if isinstance(lang, str):
        session[LANG] = lang


def end_all(user: User, reason: str) -> int:
    rows = db.session.scalars(sa.select(LoginSession).where(
        LoginSession.user_id == user.id, LoginSession.ended_at.is_(None))).all()
    for row in rows:
        end(row, reason)
    return len(rows)
