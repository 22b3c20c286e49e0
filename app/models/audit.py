"""The audit trail: who did what to which object, when. Never sealed content.

Events form one hash chain per organisation (and one for events of no organisation): each
event's hash covers its columns, its place in the chain (`seq`) and the hash of the event
before it, and `audit_chain_head` keeps each chain's last seq and hash. See app/audit.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

from .base import UTCDateTime, utcnow

INSTANCE_CHAIN = 0  # the chain of events that belong to no organisation (org ids start at 1)


class AuditEvent(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "audit_event"
    # One event per place in a chain: two writers can never both append event n.
    __table_args__ = (sa.UniqueConstraint("chain", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisation.id", ondelete="SET NULL"), index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(sa.String(64))
    object_type: Mapped[str | None] = mapped_column(sa.String(32))
    object_id: Mapped[str | None] = mapped_column(sa.String(36))  # a public UUID
    # Small, non-identifying facts only (a role, a key version); checked by app.audit.
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # The chain: org_id (or INSTANCE_CHAIN), the event's number in it from 1, and the
    # SHA-256 (hex) over this event and the hash of event seq - 1.
    chain: Mapped[int]
    seq: Mapped[int]
    hash: Mapped[str] = mapped_column(sa.String(64))


class AuditChainHead(db.Model):  # type: ignore[name-defined,misc]
    """The last event of each chain, kept apart from the events: deleting the newest events
    leaves the head pointing past the end. Its row is also the lock appenders queue on."""

    __tablename__ = "audit_chain_head"

    chain: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int]
    hash: Mapped[str] = mapped_column(sa.String(64))
    # The last full walk by `flask audit verify` that found the chain intact: events
    # 1..checked_seq verified and event checked_seq had checked_hash. The audit log page walks
    # on from there instead of from event 1. Cleared when a walk finds a broken link.
    checked_seq: Mapped[int | None]
    checked_hash: Mapped[str | None] = mapped_column(sa.String(64))
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
