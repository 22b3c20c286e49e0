"""All models, re-exported so `from app.models import User` works everywhere."""

from .audit import AuditEvent
from .base import utcnow
from .org import (
    Collective,
    CollectiveMember,
    CollectiveStatus,
    Invite,
    Membership,
    MembershipStatus,
    Organisation,
    OrgKeyVersion,
    OrgKeyWrap,
    Role,
)
from .user import User

__all__ = [
    "AuditEvent",
    "Collective",
    "CollectiveMember",
    "CollectiveStatus",
    "Invite",
    "Membership",
    "MembershipStatus",
    "OrgKeyVersion",
    "OrgKeyWrap",
    "Organisation",
    "Role",
    "User",
    "utcnow",
]
