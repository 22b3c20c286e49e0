"""Researchers, their extract requests, the decisions on them, and the extracts."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

from .base import PublicIdMixin, UTCDateTime
from .org import _enum


class ResearcherAccess(db.Model):  # type: ignore[name-defined,misc]
    """A researcher may ask for extracts of the organisation or collective that invited them."""

    __tablename__ = "researcher_access"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "org_id", "collective_id"),
        sa.CheckConstraint("(org_id IS NULL) <> (collective_id IS NULL)", name="one_scope"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisation.id", ondelete="CASCADE"))
    collective_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("collective.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RequestStatus(enum.StrEnum):
    PENDING = "pending"    # waiting for the quorum
    REFUSED = "refused"    # someone with a say refused, with a reason
    FAILED = "failed"      # approved, but k could not be reached (the reason says why)
    READY = "ready"        # approved and generated; downloadable until it expires
    EXPIRED = "expired"    # the files are deleted


class ExtractRequest(PublicIdMixin, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "extract_request"
    __table_args__ = (
        sa.CheckConstraint("(org_id IS NULL) <> (collective_id IS NULL)", name="one_scope"),
        sa.CheckConstraint("k >= 3", name="k_at_least_3"),
    )

    researcher_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"),
                                               index=True)
    org_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    collective_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("collective.id", ondelete="CASCADE"), index=True)
    month_from: Mapped[str] = mapped_column(sa.String(7))
    month_to: Mapped[str] = mapped_column(sa.String(7))
    fields: Mapped[list[str]] = mapped_column(sa.JSON)
    purpose: Mapped[str] = mapped_column(sa.Text)
    institution: Mapped[str] = mapped_column(sa.String(200))
    ethics_ref: Mapped[str] = mapped_column(sa.String(200))
    retention_until: Mapped[date]
    k: Mapped[int] = mapped_column(default=5)
    hxl: Mapped[bool] = mapped_column(default=False)
    status: Mapped[RequestStatus] = mapped_column(
        _enum(RequestStatus, "request_status"), default=RequestStatus.PENDING)
    status_reason: Mapped[str | None] = mapped_column(sa.Text)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    decisions: Mapped[list[ExtractDecision]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="ExtractDecision.id")


class ExtractDecision(db.Model):  # type: ignore[name-defined,misc]
    """One approval or refusal, with its reason; the researcher sees them all."""

    __tablename__ = "extract_decision"
    __table_args__ = (sa.UniqueConstraint("request_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        sa.ForeignKey("extract_request.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    # Whose say it was: a coordinator of this organisation, or of the collective (org_id NULL).
    org_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisation.id", ondelete="SET NULL"))
    approve: Mapped[bool]
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    request: Mapped[ExtractRequest] = relationship(back_populates="decisions")


class Extract(PublicIdMixin, db.Model):  # type: ignore[name-defined,misc]
    """A generated extract: where its sealed files are, what it achieved, until when."""

    __tablename__ = "extract"

    request_id: Mapped[int] = mapped_column(
        sa.ForeignKey("extract_request.id", ondelete="CASCADE"), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rows: Mapped[int]
    rows_suppressed: Mapped[int]
    achieved_k: Mapped[int]
    generalisation: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    data_bytes: Mapped[int]
    dictionary_bytes: Mapped[int]
