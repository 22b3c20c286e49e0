"""Collective roles and saved reports."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

from .base import PublicIdMixin, UTCDateTime, utcnow
from .org import Collective, _enum


class CollectiveRoleName(enum.StrEnum):
    ANALYST = "analyst"          # produces the collective's reports (aggregates only)
    COORDINATOR = "coordinator"  # also sets the collective's threshold k


class CollectiveRole(db.Model):  # type: ignore[name-defined,misc]
    """A person appointed to a collective. They see aggregates of the member organisations
    that joined, after disclosure control, and never a single record."""

    __tablename__ = "collective_role"
    __table_args__ = (sa.UniqueConstraint("collective_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    collective_id: Mapped[int] = mapped_column(
        sa.ForeignKey("collective.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    role: Mapped[CollectiveRoleName] = mapped_column(
        _enum(CollectiveRoleName, "collective_role_name"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    collective: Mapped[Collective] = relationship()


class SavedReport(PublicIdMixin, db.Model):  # type: ignore[name-defined,misc]
    """A report's parameters (never its figures): opening it generates it again from the data
    as it is now, and records when."""

    __tablename__ = "saved_report"
    __table_args__ = (sa.CheckConstraint(
        "(org_id IS NULL) <> (collective_id IS NULL)", name="one_scope"),)

    org_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    collective_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("collective.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(sa.String(200))
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    generated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
