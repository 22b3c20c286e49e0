"""All models, re-exported so `from app.models import User` works everywhere."""

from .audit import INSTANCE_CHAIN, AuditChainHead, AuditEvent
from .base import utcnow
from .incident import MULTI_FIELDS, Attachment, Incident, IncidentCode, OrgTerm
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
from .report import CollectiveRole, CollectiveRoleName, SavedReport
from .research import (
    Extract,
    ExtractDecision,
    ExtractRequest,
    RequestStatus,
    ResearcherAccess,
)
from .session import AuthFailure, LoginSession
from .user import User

__all__ = [
    "INSTANCE_CHAIN",
    "MULTI_FIELDS",
    "Attachment",
    "AuditChainHead",
    "AuditEvent",
    "AuthFailure",
    "Collective",
    "CollectiveMember",
    "CollectiveRole",
    "CollectiveRoleName",
    "CollectiveStatus",
    "Extract",
    "ExtractDecision",
    "ExtractRequest",
    "Incident",
    "IncidentCode",
    "Invite",
    "InvitePurpose",
    "LoginSession",
    "Membership",
    "MembershipStatus",
    "OrgKeyVersion",
    "OrgKeyWrap",
    "OrgTerm",
    "Organisation",
    "RequestStatus",
    "ResearcherAccess",
    "Role",
    "SavedReport",
    "User",
    "utcnow",
]
