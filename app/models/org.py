"""Organisations, their members, key versions and wraps, invites, collectives."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

from .base import PublicIdMixin, UTCDateTime, utcnow

if TYPE_CHECKING:
    from .user import User


class Role(enum.StrEnum):
    OUTREACH = "outreach"
    COORDINATOR = "coordinator"
    ANALYST = "analyst"


class MembershipStatus(enum.StrEnum):
    PENDING = "pending"      # registered, fingerprint not yet confirmed, holds no org key
    CONFIRMED = "confirmed"
    REMOVED = "removed"


def _enum(cls: type[enum.Enum], name: str) -> sa.Enum:
    # Stored as plain strings with a CHECK constraint: portable, readable in a dump.
    return sa.Enum(cls, name=name, native_enum=False, create_constraint=True, length=20,
                   values_callable=lambda e: [m.value for m in e])


class Organisation(PublicIdMixin, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "organisation"

    name: Mapped[str] = mapped_column(sa.String(200))
    current_kv: Mapped[int] = mapped_column(default=1)
    require_2fa: Mapped[bool] = mapped_column(default=False)
    # Coordinators who must approve a research extract of this organisation's incidents.
    extract_quorum: Mapped[int] = mapped_column(default=1, server_default="1")
    # Months after which incidents lose their sealed tier and attachments (None: kept).
    retention_months: Mapped[int | None]

    memberships: Mapped[list[Membership]] = relationship(back_populates="organisation")
    key_versions: Mapped[list[OrgKeyVersion]] = relationship(
        back_populates="organisation", order_by="OrgKeyVersion.kv")


class Membership(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "membership"
    __table_args__ = (sa.UniqueConstraint("user_id", "org_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id", ondelete="CASCADE"),
                                        index=True)
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    status: Mapped[MembershipStatus] = mapped_column(
        _enum(MembershipStatus, "membership_status"), default=MembershipStatus.PENDING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(foreign_keys=[user_id], back_populates="memberships")
    organisation: Mapped[Organisation] = relationship(back_populates="memberships")


class OrgKeyVersion(db.Model):  # type: ignore[name-defined,misc]
    """One organisation data key (ODK) generation; the key itself is never here, only wraps."""

    __tablename__ = "org_key_version"
    __table_args__ = (sa.UniqueConstraint("org_id", "kv"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id", ondelete="CASCADE"))
    kv: Mapped[int]
    # HPKE wrap of this ODK to the organisation's recovery public key, and that public key.
    recovery_wrap: Mapped[str] = mapped_column(sa.String(200))
    recovery_public_key: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))

    organisation: Mapped[Organisation] = relationship(back_populates="key_versions")
    wraps: Mapped[list[OrgKeyWrap]] = relationship(back_populates="key_version")


class OrgKeyWrap(db.Model):  # type: ignore[name-defined,misc]
    """An ODK version wrapped (HPKE) to one member's public key."""

    __tablename__ = "org_key_wrap"
    __table_args__ = (sa.UniqueConstraint("key_version_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key_version_id: Mapped[int] = mapped_column(
        sa.ForeignKey("org_key_version.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    wrapped: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    key_version: Mapped[OrgKeyVersion] = relationship(back_populates="wraps")


class InvitePurpose(enum.StrEnum):
    NEW_ORG = "new_org"    # first coordinator: that browser makes ODK v1 and the recovery key
    JOIN = "join"          # a new member of an existing organisation
    RESET = "reset"        # an existing member re-keys after a lost passphrase
    RECOVER = "recover"    # a coordinator-to-be takes over with the recovery code
    RESEARCHER = "researcher"  # a researcher invited by an organisation or a collective


class Invite(PublicIdMixin, db.Model):  # type: ignore[name-defined,misc]
    """A single-use invitation. Only the SHA-256 of the token is stored."""

    __tablename__ = "invite"

    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # Every invite is to an organisation, except a collective's researcher invite.
    org_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    collective_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("collective.id", ondelete="CASCADE"))
    purpose: Mapped[InvitePurpose] = mapped_column(_enum(InvitePurpose, "invite_purpose"))
    role: Mapped[Role | None] = mapped_column(_enum(Role, "invite_role"))  # None: researcher
    email: Mapped[str | None] = mapped_column(sa.String(254))
    # For RESET and RECOVER of an existing account: whose keys are replaced.
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))

    organisation: Mapped[Organisation | None] = relationship()
    collective: Mapped[Collective | None] = relationship()

    @property
    def inviter_name(self) -> str:
        """Whose invitation this is: the organisation's or the collective's name."""
        found = self.organisation or self.collective
        return found.name if found is not None else ""

    @property
    def org(self) -> Organisation:
        """The organisation of an organisation invite (every purpose but RESEARCHER)."""
        assert self.organisation is not None, "a researcher invite has no organisation"
        return self.organisation

    @property
    def member_role(self) -> Role:
        assert self.role is not None, "a researcher invite gives no organisation role"
        return self.role


class CollectiveStatus(enum.StrEnum):
    INVITED = "invited"
    JOINED = "joined"
    LEFT = "left"


class Collective(PublicIdMixin, db.Model):  # type: ignore[name-defined,misc]
    """A national or regional network of organisations that pools de-identified reports."""

    __tablename__ = "collective"

    name: Mapped[str] = mapped_column(sa.String(200))
    min_cell: Mapped[int] = mapped_column(default=5)  # disclosure threshold k, never below 3
    # Collective coordinators whose approval suffices for a research extract of the collective
    # (otherwise: each included organisation's own quorum).
    extract_quorum: Mapped[int] = mapped_column(default=2, server_default="2")

    members: Mapped[list[CollectiveMember]] = relationship(back_populates="collective")

    __table_args__ = (sa.CheckConstraint("min_cell >= 3", name="min_cell_at_least_3"),)


class CollectiveMember(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "collective_member"
    __table_args__ = (sa.UniqueConstraint("collective_id", "org_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    collective_id: Mapped[int] = mapped_column(
        sa.ForeignKey("collective.id", ondelete="CASCADE"))
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id", ondelete="CASCADE"),
                                        index=True)
    status: Mapped[CollectiveStatus] = mapped_column(
        _enum(CollectiveStatus, "collective_status"), default=CollectiveStatus.INVITED)
    may_be_named: Mapped[bool] = mapped_column(default=False)
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    collective: Mapped[Collective] = relationship(back_populates="members")
    organisation: Mapped[Organisation] = relationship()
