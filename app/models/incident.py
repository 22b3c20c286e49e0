"""Incidents: the coded tier in columns (for reports), the sealed tier as one envelope."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from app.extensions import db

from .base import PublicIdMixin, SealedEnvelope, UTCDateTime, utcnow

# The multi-valued coded fields, each stored as rows of IncidentCode so reports can GROUP BY.
MULTI_FIELDS = ("kinds", "four_p", "actors", "groups")


class Incident(PublicIdMixin, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "incident"
    __table_args__ = (
        sa.Index("ix_incident_org_month", "org_id", "month"),
        # Few incidents have a published case study: reports find them by this index.
        sa.Index("ix_incident_published_at", "published_at"),
        # Covers every report query: a report reads this index, never the wide rows.
        sa.Index("ix_incident_report", "month", "org_id", "status", "consent", "country",
                 "region", "work_setting", "instrument", "people_affected", "days_detained",
                 "currency", "amount_confiscated", "kinds_set", "four_p_set", "actors_set",
                 "groups_set"),
        sa.CheckConstraint("people_affected >= 1", name="people_affected_positive"),
        sa.CheckConstraint("amount_confiscated IS NULL OR amount_confiscated >= 0",
                           name="amount_not_negative"),
        sa.CheckConstraint("days_detained IS NULL OR days_detained >= 0",
                           name="days_not_negative"),
    )

    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id", ondelete="CASCADE"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Optimistic locking: every save names the version it edited.
    version: Mapped[int] = mapped_column(default=1)
    vocab_version: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(sa.String(10))

    instrument: Mapped[str | None] = mapped_column(sa.String(64))
    country: Mapped[str] = mapped_column(sa.String(2))
    region: Mapped[str | None] = mapped_column(sa.String(6))
    month: Mapped[str] = mapped_column(sa.String(7))  # YYYY-MM; the exact date is sealed
    work_setting: Mapped[str] = mapped_column(sa.String(20))
    people_affected: Mapped[int]
    amount_confiscated: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    currency: Mapped[str | None] = mapped_column(sa.String(3))
    days_detained: Mapped[int | None]
    source: Mapped[str] = mapped_column(sa.String(20))
    consent: Mapped[str] = mapped_column(sa.String(20))
    case_study: Mapped[bool] = mapped_column(default=False)

    # None once the organisation's retention rule destroyed it (app/retention): the coded
    # tier stays for reports; sealed_destroyed_at says when.
    sealed: Mapped[dict[str, Any] | None] = mapped_column(SealedEnvelope(with_kv=True))
    sealed_destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    kv: Mapped[int]
    # The envelope's IV, unique: an envelope copied from another record (its AAD names that
    # record) carries that record's IV, and AES-GCM must never see an IV twice under a key.
    sealed_iv: Mapped[str] = mapped_column(sa.String(16), unique=True)

    # The multi-valued fields again, as " code code " (sorted, space-framed), so a report can
    # GROUP BY an incident's whole set of kinds in one index scan (see app/reports/engine.py).
    # Kept in step with `codes` by _sync_code_sets below; never edited by hand.
    kinds_set: Mapped[str] = mapped_column(sa.Text, default=" ", server_default=" ")
    four_p_set: Mapped[str] = mapped_column(sa.Text, default=" ", server_default=" ")
    actors_set: Mapped[str] = mapped_column(sa.Text, default=" ", server_default=" ")
    groups_set: Mapped[str] = mapped_column(sa.Text, default=" ", server_default=" ")

    published_case_study: Mapped[str | None] = mapped_column(sa.Text)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"))

    # SQLAlchemy adds "AND version = :old" to every UPDATE and raises StaleDataError when
    # another save came first: the database, not a read-then-check, decides who wins.
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    codes: Mapped[list[IncidentCode]] = relationship(
        back_populates="incident", cascade="all, delete-orphan", order_by="IncidentCode.id")
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="incident", cascade="all, delete-orphan", order_by="Attachment.id")

    def values(self, field: str) -> list[str]:
        return [c.code for c in self.codes if c.field == field]

    def sync_code_sets(self) -> None:
        for name in MULTI_FIELDS:
            setattr(self, f"{name}_set", code_set(self.values(name)))


def code_set(codes: list[str]) -> str:
    return " " + "".join(f"{c} " for c in sorted(set(codes)))


@sa.event.listens_for(Session, "before_flush")
def _sync_code_sets(session: Session, _context: Any, _instances: Any) -> None:
    """Whenever an incident or its codes change, its code sets follow in the same flush."""
    touched = {obj for obj in (*session.new, *session.dirty) if isinstance(obj, Incident)}
    touched |= {obj.incident for obj in (*session.new, *session.dirty, *session.deleted)
                if isinstance(obj, IncidentCode) and obj.incident is not None}
    for incident in touched:
        if incident not in session.deleted:
            incident.sync_code_sets()


class IncidentCode(db.Model):  # type: ignore[name-defined,misc]
    """One value of a multi-valued coded field (a kind, a 4P area, an actor, a group)."""

    __tablename__ = "incident_code"
    __table_args__ = (sa.UniqueConstraint("incident_id", "field", "code"),
                      sa.Index("ix_incident_code_field_code", "field", "code"))

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(sa.String(10))
    code: Mapped[str] = mapped_column(sa.String(64))

    incident: Mapped[Incident] = relationship(back_populates="codes")


class Attachment(PublicIdMixin, db.Model):  # type: ignore[name-defined,misc]
    """A sealed file: only its ciphertext, IV and key version. Name and type are sealed in
    the incident's sealed tier."""

    __tablename__ = "attachment"

    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id", ondelete="CASCADE"),
                                             index=True)
    kv: Mapped[int]
    iv: Mapped[str] = mapped_column(sa.String(16), unique=True)  # as Incident.sealed_iv
    ciphertext: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)  # only on download
    size: Mapped[int]  # of the ciphertext: padded to 4 KiB, so it hides the exact file size

    incident: Mapped[Incident] = relationship(back_populates="attachments")


class OrgTerm(db.Model):  # type: ignore[name-defined,misc]
    """An organisation's own instrument or actor (a named law, a police operation)."""

    __tablename__ = "org_term"
    __table_args__ = (sa.UniqueConstraint("org_id", "list_name", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id", ondelete="CASCADE"))
    list_name: Mapped[str] = mapped_column(sa.String(20))
    code: Mapped[str] = mapped_column(sa.String(64))
    label: Mapped[str] = mapped_column(sa.String(120))
    description: Mapped[str] = mapped_column(sa.String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
