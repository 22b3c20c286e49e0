"""Collectives: organisations join by invitation and a coordinator's acceptance, choose
whether their name may appear in collective reports, and can leave. People are appointed to
a collective as analysts or coordinators (by the operator, from the command line)."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from app import audit
from app.extensions import db
from app.models import (
    Collective,
    CollectiveMember,
    CollectiveRole,
    CollectiveRoleName,
    CollectiveStatus,
    Organisation,
    User,
    utcnow,
)
from app.payload import BadInput
from app.reports.disclosure import MIN_K

MAX_K = 50


def invite(collective: Collective, org: Organisation) -> CollectiveMember:
    member = db.session.scalar(sa.select(CollectiveMember).where(
        CollectiveMember.collective_id == collective.id, CollectiveMember.org_id == org.id))
    if member is not None and member.status != CollectiveStatus.LEFT:
        raise BadInput(_("This organisation is already invited to or part of the collective."))
    if member is None:
        member = CollectiveMember(collective_id=collective.id, org_id=org.id)
        db.session.add(member)
    member.status, member.left_at, member.may_be_named = CollectiveStatus.INVITED, None, False
    audit.record("collective_invited", org=org, object_type="collective",
                 object_id=collective.pid)
    return member


def memberships(org: Organisation) -> list[CollectiveMember]:
    return list(db.session.scalars(sa.select(CollectiveMember).where(
        CollectiveMember.org_id == org.id, CollectiveMember.status != CollectiveStatus.LEFT)
        .join(Collective).order_by(Collective.name)))


def membership(org: Organisation, collective_pid: object) -> CollectiveMember | None:
    return db.session.scalar(sa.select(CollectiveMember).join(Collective).where(
        CollectiveMember.org_id == org.id, Collective.public_id == collective_pid,
        CollectiveMember.status != CollectiveStatus.LEFT))


def accept(member: CollectiveMember, actor: User, may_be_named: bool) -> None:
    if member.status != CollectiveStatus.INVITED:
        raise BadInput(_("Your organisation has already joined this collective."))
    member.status, member.joined_at = CollectiveStatus.JOINED, utcnow()
    member.may_be_named = may_be_named
    audit.record("collective_joined", org=member.organisation, actor=actor,
                 object_type="collective", object_id=member.collective.pid,
                 may_be_named=may_be_named)


def set_naming(member: CollectiveMember, actor: User, may_be_named: bool) -> None:
    member.may_be_named = may_be_named
    audit.record("collective_naming", org=member.organisation, actor=actor,
                 object_type="collective", object_id=member.collective.pid,
                 may_be_named=may_be_named)


def leave(member: CollectiveMember, actor: User) -> None:
    """Declining an invitation and leaving are the same act: from now on the collective's
    reports do not count this organisation's incidents."""
    was = member.status
    member.status, member.left_at, member.may_be_named = CollectiveStatus.LEFT, utcnow(), False
    audit.record("collective_declined" if was == CollectiveStatus.INVITED else "collective_left",
                 org=member.organisation, actor=actor, object_type="collective",
                 object_id=member.collective.pid)


def appoint(collective: Collective, user: User, role: CollectiveRoleName) -> CollectiveRole:
    found = db.session.scalar(sa.select(CollectiveRole).where(
        CollectiveRole.collective_id == collective.id, CollectiveRole.user_id == user.id))
    if found is None:
        found = CollectiveRole(collective_id=collective.id, user_id=user.id, role=role)
        db.session.add(found)
    found.role = role
    audit.record("collective_appointed", object_type="collective", object_id=collective.pid,
                 role=role.value)
    return found


def dismiss(collective: Collective, user: User) -> None:
    found = db.session.scalar(sa.select(CollectiveRole).where(
        CollectiveRole.collective_id == collective.id, CollectiveRole.user_id == user.id))
    if found is None:
        raise BadInput(_("This person has no role in the collective."))
    db.session.delete(found)
    audit.record("collective_dismissed", object_type="collective", object_id=collective.pid)


def role_of(user: User, collective_pid: object) -> CollectiveRole | None:
    return db.session.scalar(sa.select(CollectiveRole).join(Collective).where(
        CollectiveRole.user_id == user.id, Collective.public_id == collective_pid))


def set_threshold(collective: Collective, k: int, actor: User | None) -> None:
    if not MIN_K <= k <= MAX_K:
        raise BadInput(_("The threshold k is a whole number from %(low)d to %(high)d.",
                         low=MIN_K, high=MAX_K), "k")
    collective.min_cell = k
    audit.record("collective_threshold", actor=actor, object_type="collective",
                 object_id=collective.pid, k=k)


def invited_count(collective: Collective) -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).where(
        CollectiveMember.collective_id == collective.id,
        CollectiveMember.status == CollectiveStatus.INVITED)) or 0)
