"""Members. The server holds only what it needs to check a login and hand back sealed keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from app.extensions import db

from .base import PublicIdMixin, SealedEnvelope, UTCDateTime
from .org import Membership


class User(UserMixin, PublicIdMixin, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "user"

    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(120))
    # Browser KDF: 16-byte salt (b64u) and the Argon2id parameters it was made with.
    kdf_salt: Mapped[str] = mapped_column(sa.String(32))
    kdf_memory_kib: Mapped[int]
    kdf_time_cost: Mapped[int]
    kdf_parallelism: Mapped[int]
    # Argon2id hash (argon2-cffi encoded string) of b64u(auth key); never the key itself.
    auth_hash: Mapped[str] = mapped_column(sa.String(200))
    public_key: Mapped[str] = mapped_column(sa.String(100))  # b64u of the 65-byte point
    wrapped_private_key: Mapped[dict[str, Any]] = mapped_column(SealedEnvelope(with_kv=False))
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    totp_last_step: Mapped[int | None]  # the last accepted time step, so a code is used once
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The interface language the person chose (app/i18n.py); None: the browser's choice.
    locale: Mapped[str | None] = mapped_column(sa.String(8))

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", foreign_keys="Membership.user_id")

    def get_id(self) -> str:
        """The session names the member by public id, never by the integer key."""
        return self.pid

    @validates("email")
    def _normalise_email(self, key: str, value: str) -> str:
        return value.strip().lower()
