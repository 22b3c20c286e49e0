"""Writing audit events. Details are small facts (roles, key versions), never sealed content.

Every event joins a hash chain: one per organisation, one for events of no organisation
(INSTANCE_CHAIN). `record()` only notes the event; when the session commits, the events are
numbered and hashed under a lock on their chain's head row and inserted, as the transaction's
last writes (see `_append` below and docs/architecture.md, "Audit chain").
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, SessionTransaction

from app.extensions import db
from app.models import INSTANCE_CHAIN, AuditChainHead, AuditEvent, Organisation, User, utcnow

Detail = str | int | bool | None
_MAX_DETAIL = 200
GENESIS = "0" * 64  # the "previous hash" of every chain's first event
_PENDING = "collateral.audit.pending"


def record(action: str, *, org: Organisation | None = None, actor: User | None = None,
           object_type: str | None = None, object_id: str | None = None,
           **details: Detail) -> AuditEvent:
    """Note an audit event in the current transaction; it is written when the caller
    commits with its change, and dropped if the transaction rolls back."""
    for key, value in details.items():
        if not isinstance(value, Detail) or (isinstance(value, str) and len(value) > _MAX_DETAIL):
            raise ValueError(f"audit detail {key!r} must be a short scalar")
    if (org is not None and org.id is None) or (actor is not None and actor.id is None):
        db.session.flush()  # a new organisation or person gets its id: the chain names it
    event = AuditEvent(action=action, org_id=org.id if org else None,
                       actor_id=actor.id if actor else None, object_type=object_type,
                       object_id=object_id, details=dict(details), created_at=utcnow(),
                       chain=org.id if org else INSTANCE_CHAIN)
    session = db.session()
    session.connection()  # begin the transaction now, so its end always clears the list
    session.info.setdefault(_PENDING, []).append(event)
    return event


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


# The canonical JSON of CRYPTO.md (app.crypto.canonical_json) without its type walk: record()
# admits only strings, integers, booleans and None, and verifying a long chain spends most of
# its time in that walk. For what record() admits the bytes are the same.
_canonical = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def event_hash(*, chain: int, seq: int, prev: str, org_id: int | None, actor_id: int | None,
               action: str, object_type: str | None, object_id: str | None, details: Any,
               created_at: datetime) -> str:
    """SHA-256 (hex) over every column that carries meaning, the event's place in its chain
    and the previous event's hash."""
    body = {"v": 1, "chain": chain, "seq": seq, "prev": prev, "org": org_id,
            "actor": actor_id, "action": action, "object_type": object_type,
            "object_id": object_id, "details": details, "at": stamp(created_at)}
    return hashlib.sha256(b"collateral/v1/audit\n" + _canonical(body).encode()).hexdigest()


def hash_of(event: AuditEvent, prev: str) -> str:
    return event_hash(chain=event.chain, seq=event.seq, prev=prev, org_id=event.org_id,
                      actor_id=event.actor_id, action=event.action,
                      object_type=event.object_type, object_id=event.object_id,
                      details=event.details, created_at=event.created_at)


def _advance(session: Session, chain: int, count: int) -> tuple[int, str]:
    """Move the chain's head `count` places on and return (its new seq, the old hash).

    The UPDATE is the statement that reads the head, so the row is locked before it is read:
    PostgreSQL queues a second appender on the row lock and then re-reads the committed row;
    SQLite takes its write lock at this statement (a write as the first statement of the
    transaction waits under busy_timeout, where a read followed by a write could fail at once
    with SQLITE_BUSY), and every other writer waits for this transaction's end.
    """
    head = AuditChainHead.__table__
    advance = (sa.update(head).where(head.c.chain == chain)
               .values(seq=head.c.seq + count).returning(head.c.seq, head.c.hash))
    connection = session.connection()
    row = connection.execute(advance).first()
    if row is None:
        # A chain's first event: make its head, unless a concurrent first event just did.
        first = (postgresql.insert(head) if connection.dialect.name == "postgresql"
                 else sqlite.insert(head))
        connection.execute(first.values(chain=chain, seq=0, hash=GENESIS)
                           .on_conflict_do_nothing(index_elements=["chain"]))
        row = connection.execute(advance).one()
    return row.seq, row.hash


@sa.event.listens_for(Session, "before_commit")
def _append(session: Session) -> None:
    """Number, hash and insert the transaction's events, after its other changes.

    Everything else is flushed first, so a chain's head is the last lock a transaction takes
    and it holds it only until the commit that follows. Chains are locked in ascending order:
    two transactions that both write to two chains cannot wait for each other.
    """
    events: list[AuditEvent] = session.info.pop(_PENDING, [])
    if not events or session.in_nested_transaction():
        if events:
            session.info[_PENDING] = events
        return
    session.flush()
    by_chain: dict[int, list[AuditEvent]] = {}
    for event in events:
        by_chain.setdefault(event.chain, []).append(event)
    head = AuditChainHead.__table__
    for chain in sorted(by_chain):
        chained = by_chain[chain]
        last, prev = _advance(session, chain, len(chained))
        for seq, event in enumerate(chained, start=last - len(chained) + 1):
            event.seq = seq
            event.hash = prev = hash_of(event, prev)
        session.connection().execute(
            sa.update(head).where(head.c.chain == chain).values(hash=prev))
    session.add_all(events)
    session.flush()


@sa.event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    """A rolled-back transaction takes its unwritten events with it."""
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
