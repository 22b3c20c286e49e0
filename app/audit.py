"""Writing audit events. Details are small facts (roles, key versions), never sealed content."""

from __future__ import annotations

from app.extensions import db
from app.models import AuditEvent, Organisation, User

Detail = str | int | bool | None
_MAX_DETAIL = 200


def record(action: str, *, org: Organisation | None = None, actor: User | None = None,
           object_type: str | None = None, object_id: str | None = None,
           **details: Detail) -> AuditEvent:
    """Add an audit event to the current transaction; the caller commits with its change."""
    for key, value in details.items():
        if not isinstance(value, Detail) or (isinstance(value, str) and len(value) > _MAX_DETAIL):
            raise ValueError(f"audit detail {key!r} must be a short scalar")
    event = AuditEvent(action=action, org_id=org.id if org else None,
                       actor_id=actor.id if actor else None, object_type=object_type,
                       object_id=object_id, details=dict(details))
    db.session.add(event)
    return event
