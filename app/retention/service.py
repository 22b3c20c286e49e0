"""Retention rules: which incidents are old, destroying their sealed tier and attachments, and
wiping what the database keeps of deleted data. The caller commits (once per organisation).

An incident is old for a rule of N months when both the month it happened in and the last
time anyone saved it lie more than N months back: an old incident typed in today keeps its
details for N months, and an incident someone still works on is not destroyed under them.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from app import audit
from app.extensions import db
from app.models import Attachment, Incident, Organisation, User, utcnow
from app.payload import BadInput

MAX_MONTHS = 600  # fifty years: anything longer is "keep"
BATCH = 500


@dataclass(frozen=True)
class Outcome:
    org: Organisation
    months: int
    incidents: int    # incidents whose sealed tier was destroyed in this run
    attachments: int  # attachments deleted in this run


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months earlier (the 31st becomes the month's
    last day)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def set_months(org: Organisation, actor: User | None, months: int | None) -> bool:
    """Set (or with None, turn off) the organisation's rule; True when it changed."""
    if months is not None and not 1 <= months <= MAX_MONTHS:
        raise BadInput(_("Retention is a number of months between 1 and %(n)d, or empty to "
                         "keep sealed details.", n=MAX_MONTHS), "retention_months")
    if org.retention_months == months:
        return False
    org.retention_months = months
    audit.record("org_retention_policy", org=org, actor=actor, object_type="organisation",
                 object_id=org.pid, months=months)
    return True


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), BATCH):
        yield ids[start:start + BATCH]


def apply(org: Organisation, now: datetime | None = None) -> Outcome:
    """Destroy the sealed tier and attachments of the organisation's old incidents.

    Safe to repeat: incidents already destroyed are left alone (and any attachment that a
    racing upload added to one is deleted). Records one audit event with the counts.
    """
    months = org.retention_months
    if months is None:
        raise ValueError("this organisation keeps sealed details (no retention rule)")
    now = now or utcnow()
    cutoff = months_before(now, months)
    incident, attachment = Incident.__table__, Attachment.__table__
    old = sa.and_(incident.c.org_id == org.id, incident.c.sealed_destroyed_at.is_(None),
                  incident.c.month < cutoff.strftime("%Y-%m"),
                  incident.c.updated_at < cutoff)
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        # Overwrite freed space with zeros instead of leaving the ciphertext in free pages.
        connection.exec_driver_sql("PRAGMA secure_delete=ON")
    candidates = list(db.session.scalars(sa.select(incident.c.id).where(old)
                                         .order_by(incident.c.id)))
    destroyed = removed = 0
    for batch in _chunks(candidates):
        # The rule is checked again in the UPDATE itself: an incident saved since the SELECT
        # (PostgreSQL re-reads a row a concurrent save changed) is no longer old, and kept.
        # The version step makes an edit page opened before this run get a conflict.
        done = list(connection.execute(
            incident.update().where(incident.c.id.in_(batch), old)
            .values(sealed=sa.null(), sealed_destroyed_at=now, version=incident.c.version + 1)
            .returning(incident.c.id)).scalars())
        destroyed += len(done)
        if done:
            removed += connection.execute(
                attachment.delete().where(attachment.c.incident_id.in_(done))).rowcount
    removed += connection.execute(attachment.delete().where(attachment.c.incident_id.in_(
        sa.select(incident.c.id).where(incident.c.org_id == org.id,
                                       incident.c.sealed_destroyed_at.is_not(None))))).rowcount
    db.session.expire_all()  # ORM objects loaded before must not show the old envelopes
    audit.record("retention_run", org=org, object_type="organisation", object_id=org.pid,
                 months=months, incidents=destroyed, attachments=removed)
    return Outcome(org, months, destroyed, removed)


def organisations_with_rule() -> list[Organisation]:
    return list(db.session.scalars(sa.select(Organisation).where(
        Organisation.retention_months.is_not(None)).order_by(Organisation.id)))


def wipe_free_space(vacuum: bool = False) -> str:
    """After a run: make the database file itself forget what was destroyed.

    SQLite: secure_delete has already zeroed the freed space; a TRUNCATE checkpoint copies the
    write-ahead log into the database and empties it, so no older page image stays in the
    -wal file; VACUUM (with `vacuum`) also rewrites the whole file, compact. PostgreSQL keeps
    the old row versions until VACUUM FULL rewrites the tables (with `vacuum`).
    Returns a sentence for the operator.
    """
    engine = db.engine
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if engine.dialect.name == "sqlite":
            if vacuum:
                conn.exec_driver_sql("VACUUM")
            busy, _log, _done = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
            if busy:
                return ("The write-ahead log could not be emptied (the database was busy): "
                        "run again at a quiet time.")
            return ("Database file rewritten (VACUUM) and write-ahead log emptied." if vacuum
                    else "Freed space zeroed and write-ahead log emptied.")
        if vacuum:
            conn.exec_driver_sql("VACUUM FULL incident, attachment")
            return "Tables rewritten (VACUUM FULL incident, attachment)."
        return ("PostgreSQL keeps old row versions until `flask retention run --vacuum` "
                "(VACUUM FULL) rewrites the tables.")
