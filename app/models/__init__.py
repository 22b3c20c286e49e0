"""All models, re-exported so `from app.models import User` works everywhere."""

from .audit import AuditEvent
from .base import utcnow
from .org import (
    Collective,
    CollectiveMember,
    CollectiveStatus,
    Invite,
    InvitePurpose,
    Membership,
    MembershipStatus,
    Organisation,
    OrgKeyVersion,
    OrgKeyWrap,
    Role,
)
from .session import AuthFailure, LoginSession
from .user import User

__all__ = [
    "AuditEvent",
    "AuthFailure",
    "Collective",
    "CollectiveMember",
    "CollectiveStatus",
    "Invite",
    "InvitePurpose",
    "LoginSession",
    "Membership",
    "MembershipStatus",
    "OrgKeyVersion",
    "OrgKeyWrap",
    "Organisation",
    "Role",
    "User",
    "utcnow",
]
