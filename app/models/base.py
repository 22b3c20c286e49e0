"""Column types and mixins shared by every model."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column

from app.crypto import CryptoError, check_envelope


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite keeps no zone of its own)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use UTC-aware ones")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class SealedEnvelope(sa.TypeDecorator[dict[str, Any]]):
    """A JSON column that only ever holds a v1 sealing envelope (CRYPTO.md).

    Services check envelopes first and answer with a clear message; this is the last line of
    defence, so that no code path can store a sealed field that is not ciphertext.
    """

    impl = sa.JSON
    cache_ok = True

    def __init__(self, *, with_kv: bool = True) -> None:
        super().__init__()
        self.with_kv = with_kv

    def process_bind_param(self, value: dict[str, Any] | None,
                           dialect: Dialect) -> dict[str, Any] | None:
        if value is not None:
            try:
                check_envelope(value, with_kv=self.with_kv)
            except CryptoError as exc:
                raise ValueError(f"refusing to store a malformed envelope: {exc}") from exc
        return value


class PublicIdMixin:
    """Integer keys stay internal; URLs, contexts and AADs use the public UUID."""

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, unique=True, default=uuid.uuid4)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def pid(self) -> str:
        """The public id as the lower-case hyphenated string used in crypto contexts."""
        return str(self.public_id)
