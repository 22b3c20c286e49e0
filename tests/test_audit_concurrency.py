"""Many writers appending to one organisation's audit chain at once: several processes (as
gunicorn's workers) with several threads each, on a SQLite file or on PostgreSQL. No writer may
fail and the chain must never fork: every event gets its own number and the chain verifies."""

from __future__ import annotations

import multiprocessing
import threading
from typing import Any

import sqlalchemy as sa

from app import audit
from app.audit_verify import verify_all
from app.extensions import db
from app.models import INSTANCE_CHAIN, AuditEvent, Organisation, OrgTerm
from tests.conftest import fresh_database, make_app, migrate_to_head

PROCESSES, THREADS, ROUNDS = 3, 6, 15


def _writer(url: str, org_id: int, worker: int, results: Any) -> None:
    """One 'gunicorn worker': THREADS threads, each with its own session and connection."""
    app = make_app(url)
    counts = {"org": 0, "instance": 0}
    errors: list[str] = []
    lock = threading.Lock()

    def run(thread: int) -> None:
        with app.app_context():
            for n in range(ROUNDS):
                shape = (worker + thread + n) % 4
                try:
                    # Every transaction reads first, as a request does.
                    org = db.session.get(Organisation, org_id)
                    assert org is not None
                    if shape == 0:  # the audit event is the transaction's only write
                        audit.record("load_audit_only", org=org, w=worker, t=thread, n=n)
                        added = {"org": 1}
                    elif shape == 1:  # another write first, as a service does
                        db.session.add(OrgTerm(org_id=org_id, list_name="actors",
                                               code=f"org_load_{worker}_{thread}_{n}",
                                               label="Load"))
                        db.session.flush()
                        audit.record("load_after_write", org=org, w=worker, t=thread, n=n)
                        added = {"org": 1}
                    elif shape == 2:  # two chains in one transaction
                        audit.record("load_two_chains", org=org, w=worker, t=thread, n=n)
                        audit.record("load_instance", w=worker, t=thread, n=n)
                        audit.record("load_two_chains", org=org, w=worker, t=thread, n=n)
                        added = {"org": 2, "instance": 1}
                    else:  # a refusal: rolled back, leaves nothing
                        audit.record("load_rolled_back", org=org, w=worker, t=thread, n=n)
                        db.session.rollback()
                        continue
                    db.session.commit()
                    with lock:
                        for key, value in added.items():
                            counts[key] += value
                except Exception as exc:  # every failure is the finding
                    db.session.rollback()
                    with lock:
                        errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")
            db.session.remove()

    threads = [threading.Thread(target=run, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with app.app_context():
        db.engine.dispose()
    results.put((counts, errors))


def test_concurrent_writers_never_fork_the_chain_nor_fail() -> None:
    with fresh_database("audit-load") as url:
        migrate_to_head(url)
        app = make_app(url)
        with app.app_context():
            org = Organisation(name="Busy")
            db.session.add(org)
            db.session.flush()
            audit.record("org_created", org=org)
            db.session.commit()
            org_id = org.id
            db.session.remove()
            db.engine.dispose()

        context = multiprocessing.get_context("spawn")
        results = context.Queue()
        workers = [context.Process(target=_writer, args=(url, org_id, w, results))
                   for w in range(PROCESSES)]
        for worker in workers:
            worker.start()
        outcomes = [results.get(timeout=300) for _ in workers]
        for worker in workers:
            worker.join(timeout=60)
            assert worker.exitcode == 0

        errors = [e for _, errs in outcomes for e in errs]
        assert errors == []
        written_org = 1 + sum(c["org"] for c, _ in outcomes)
        written_instance = sum(c["instance"] for c, _ in outcomes)
        assert written_org > PROCESSES * THREADS * ROUNDS // 2
        with app.app_context():
            seqs = db.session.scalars(sa.select(AuditEvent.seq).where(
                AuditEvent.chain == org_id).order_by(AuditEvent.seq)).all()
            assert seqs == list(range(1, written_org + 1))
            assert db.session.scalar(sa.select(sa.func.count()).where(
                AuditEvent.chain == INSTANCE_CHAIN)) == written_instance
            assert db.session.scalar(sa.select(sa.func.count()).where(
                AuditEvent.action == "load_rolled_back")) == 0
            # Two events of one transaction stay next to each other in the chain.
            pairs = db.session.execute(sa.select(AuditEvent.seq, AuditEvent.details).where(
                AuditEvent.action == "load_two_chains").order_by(AuditEvent.seq)).all()
            for first, second in zip(pairs[::2], pairs[1::2], strict=True):
                assert second.seq == first.seq + 1 and second.details == first.details
            with app.test_request_context():
                states = verify_all()
            assert [(s.name, s.ok, s.verified) for s in states] == [
                ("Busy", True, written_org), ("instance", True, written_instance)]
            db.session.remove()
            db.engine.dispose()
