"""Benchmark: the cost of the audit chain and of a retention run.

1. Appending: the time of a commit that writes one row, without and with an audit event
   (the event is hashed and chained under the head's lock at commit).
2. Verifying: the time `verify_org` takes (what the audit log page and `flask audit verify`
   do) over one organisation's chain of N events.
3. Retention: the time of `flask retention run`'s work (destroy, audit, wipe free space) over
   M old incidents, a tenth of them with a 4 KiB attachment, in one organisation.

Run:  .venv/bin/python bench/audit_retention.py [--backend sqlite|postgresql]
          [--events 100000,1000000] [--incidents 100000] [--write]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.incidents_search import machine  # noqa: E402

BATCH = 20_000


def _org(db: Any, name: str) -> Any:
    from app import audit
    from app.models import Organisation

    org = Organisation(name=name)
    db.session.add(org)
    db.session.flush()
    audit.record("org_created", org=org, object_type="organisation", object_id=org.pid)
    db.session.commit()
    return org


def appending(db: Any, commits: int) -> dict[str, float]:
    from app import audit
    from app.models import OrgTerm

    org = _org(db, "Append")
    out = {}
    for label, with_event in (("commit_ms_without_event", False),
                              ("commit_ms_with_event", True)):
        started = time.perf_counter()
        for n in range(commits):
            db.session.add(OrgTerm(org_id=org.id, list_name="actors",
                                   code=f"org_{int(with_event)}_{n}", label="x"))
            if with_event:
                audit.record("vocab_term_added", org=org, object_type="term", code=n)
            db.session.commit()
        out[label] = round((time.perf_counter() - started) * 1000 / commits, 2)
    return out


def chain_of(db: Any, events: int) -> Any:
    """One organisation with a chain of `events` events, written with bulk INSERTs."""
    from app.audit import GENESIS, event_hash
    from app.models import AuditChainHead, AuditEvent

    org = _org(db, f"Chain {events}")
    table = AuditEvent.__table__
    prev = db.session.get(AuditChainHead, org.id).hash
    start = datetime(2020, 1, 1, tzinfo=UTC)
    rows: list[dict[str, Any]] = []
    seq = 1
    assert prev != GENESIS
    for n in range(2, events + 1):
        seq = n
        row = {"org_id": org.id, "actor_id": None, "action": "incident_updated",
               "object_type": "incident", "object_id": str(uuid.UUID(int=n)),
               "details": {"version": n % 7 + 1, "attachments_added": 0},
               "created_at": start + timedelta(seconds=n), "chain": org.id, "seq": seq}
        row["hash"] = prev = event_hash(chain=org.id, seq=seq, prev=prev, org_id=org.id,
                                        actor_id=None, action=row["action"],
                                        object_type=row["object_type"],
                                        object_id=row["object_id"], details=row["details"],
                                        created_at=row["created_at"])
        rows.append(row)
        if len(rows) >= BATCH:
            db.session.execute(table.insert(), rows)
            rows.clear()
    if rows:
        db.session.execute(table.insert(), rows)
    db.session.execute(sa.update(AuditChainHead).where(AuditChainHead.chain == org.id)
                       .values(seq=seq, hash=prev))
    db.session.commit()
    return org


def verifying(app: Any, db: Any, events: int) -> dict[str, float]:
    from app.audit_verify import verify_org

    org = chain_of(db, events)
    db.session.expire_all()
    with app.test_request_context():
        started = time.perf_counter()
        state = verify_org(org)
        took = time.perf_counter() - started
    assert state.ok and state.verified == events, state
    return {f"verify_s_{events}": round(took, 2),
            f"verify_events_per_s_{events}": round(events / took)}


def retention(app: Any, db: Any, incidents: int) -> dict[str, float]:
    from app.models import Attachment, Incident
    from app.retention import service
    from bench.report_data import generate

    generate(db.engine, incidents, 1)
    org_id = db.session.scalar(sa.select(Incident.org_id).limit(1))
    old = datetime(2019, 1, 1, tzinfo=UTC)
    db.session.execute(sa.update(Incident).values(updated_at=old, month="2019-01"))
    ids = db.session.scalars(sa.select(Incident.id).where(Incident.id % 10 == 0)).all()
    for start in range(0, len(ids), 2000):
        db.session.execute(Attachment.__table__.insert(), [
            {"public_id": uuid.uuid4(), "created_at": old, "incident_id": i, "kv": 1,
             "iv": f"{i:016x}", "ciphertext": os.urandom(4112), "size": 4112}
            for i in ids[start:start + 2000]])
    db.session.commit()
    from app.models import Organisation

    org = db.session.get(Organisation, org_id)
    org.retention_months = 12
    db.session.commit()
    path = db.engine.url.database if db.engine.dialect.name == "sqlite" else None
    with app.test_request_context():
        started = time.perf_counter()
        outcome = service.apply(org)
        db.session.commit()
        applied = time.perf_counter() - started
        service.wipe_free_space(False)
        wiped = time.perf_counter() - started
    assert outcome.incidents == incidents and outcome.attachments == len(ids)
    out = {"retention_incidents": incidents, "retention_attachments": len(ids),
           "retention_destroy_s": round(applied, 1), "retention_with_wipe_s": round(wiped, 1)}
    if path:
        out["sqlite_file_mib_after"] = round(Path(path).stat().st_size / 2**20, 1)
        started = time.perf_counter()
        service.wipe_free_space(True)
        out["sqlite_vacuum_s"] = round(time.perf_counter() - started, 1)
        out["sqlite_file_mib_after_vacuum"] = round(Path(path).stat().st_size / 2**20, 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--events", default="100000,1000000")
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    if args.backend == "postgresql":
        os.environ["DATABASE_URL"] = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    else:
        os.environ.pop("DATABASE_URL", None)
    from app.extensions import db
    from tests.conftest import fresh_database, make_app, migrate_to_head

    figures: dict[str, float] = {}
    with fresh_database("auditbench") as url:
        migrate_to_head(url)
        app = make_app(url)
        with app.app_context():
            figures |= appending(db, args.commits)
            for events in (int(n) for n in args.events.split(",") if n):
                figures |= verifying(app, db, events)
            if args.incidents:
                figures |= retention(app, db, args.incidents)
            db.session.remove()
            db.engine.dispose()
    for key, value in figures.items():
        print(f"{key}: {value}")
    if args.write:
        with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as results:
            results.write(
                f"\n## Audit chain and retention ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
                f"{args.backend})\n\nMachine: {machine()}. `bench/audit_retention.py "
                f"--backend {args.backend} --events {args.events} --incidents "
                f"{args.incidents}`. Commits: one row each, {args.commits} in a row, one "
                "writer. Verify: one organisation's chain, as the audit log page and "
                "`flask audit verify` walk it. Retention: every incident old, a tenth with a "
                "4 KiB attachment, one organisation, one transaction.\n\n"
                "| measure | value |\n|---|---|\n"
                + "".join(f"| {k} | {v} |\n" for k, v in figures.items()))


if __name__ == "__main__":
    main()
