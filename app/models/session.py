"""Server-side login sessions and login-failure records for throttling."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

from .base import UTCDateTime, utcnow

if TYPE_CHECKING:
    from .user import User


class LoginSession(db.Model):  # type: ignore[name-defined,misc]
    """One login. The browser's cookie names it by a random token; only its hash is stored.

    `session_key` is the AES key the page wraps the member's key under in IndexedDB
    (CRYPTO.md): it exists only while the session lives and is erased when it ends.
    """

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisation.id", ondelete="SET NULL"))
    session_key: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_reason: Mapped[str | None] = mapped_column(sa.String(20))

    user: Mapped[User] = relationship()


class AuthFailure(db.Model):  # type: ignore[name-defined,misc]
    """A failed login, counted per account and per address; kept in the database so the limit
    holds across worker processes and restarts. Keys are keyed hashes, not e-mails or IPs."""

    __tablename__ = "auth_failure"
    __table_args__ = (sa.Index("ix_auth_failure_scope_key_at", "scope", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(sa.String(10))  # "account" or "address"
    key: Mapped[str] = mapped_column(sa.String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
