"""Benchmark: `flask backup` on a database of N incidents with realistic ciphertext — how long
a snapshot, a verify and a restore take, how big the backup is, and how long the app's writes
wait meanwhile (a writer commits one small row every 20 ms throughout).

Every incident gets its own random 784-byte sealed envelope (a record padded to 768 bytes plus
the tag) and every 20th a 16 KiB sealed attachment, so nothing compresses unrealistically.

Run:  .venv/bin/python bench/backup.py [--incidents 100000] [--backend sqlite|postgresql]
          [--write]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from base64 import urlsafe_b64encode
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.incidents_search import machine  # noqa: E402


def b64u(data: bytes) -> str:
    return urlsafe_b64encode(data).rstrip(b"=").decode()


def generate(engine: sa.Engine, incidents: int, orgs: int) -> None:
    from app.models import Attachment, Incident, IncidentCode
    from bench.report_data import _incidents
    from bench.report_data import generate as make_orgs

    make_orgs(engine, 0, orgs)
    with engine.connect() as conn:
        org_ids = list(conn.scalars(sa.text("SELECT id FROM organisation")))
    rng = random.Random(2026)
    inc_t, code_t, att_t = Incident.__table__, IncidentCode.__table__, Attachment.__table__
    rows: list[dict[str, Any]] = []
    codes: list[dict[str, Any]] = []
    files: list[dict[str, Any]] = []

    def flush() -> None:
        with engine.begin() as conn:
            conn.execute(inc_t.insert(), rows)
            conn.execute(code_t.insert(), codes)
            if files:
                conn.execute(att_t.insert(), files)
        rows.clear()
        codes.clear()
        files.clear()

    now = datetime.now(UTC)
    for row, row_codes in _incidents(org_ids, incidents, rng, 1):
        row["sealed"] = {"v": 1, "kv": 1, "iv": b64u(os.urandom(12)),
                         "ct": b64u(os.urandom(784))}
        row["sealed_iv"] = row["sealed"]["iv"]
        rows.append(row)
        codes.extend(row_codes)
        if row["id"] % 20 == 0:
            files.append({"public_id": uuid.uuid4(), "created_at": now,
                          "incident_id": row["id"], "kv": 1, "iv": b64u(os.urandom(12)),
                          "ciphertext": os.urandom(16 * 1024 + 16), "size": 16 * 1024 + 16})
        if len(rows) >= 5000:
            flush()
    if rows:
        flush()
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('incident', 'id'), "
                                 "(SELECT max(id) FROM incident))"))


class Writer:
    """Commits one audit event every 20 ms on its own connection; records each commit's wait."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.stop = threading.Event()
        self.waits: list[tuple[float, float]] = []  # (start, seconds)
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        from app.extensions import db
        from app.models import AuditEvent

        with self.app.app_context():
            while not self.stop.is_set():
                began = time.monotonic()
                db.session.add(AuditEvent(action="bench", details={}))
                db.session.commit()
                self.waits.append((began, time.monotonic() - began))
                time.sleep(0.02)
            db.session.remove()

    def during(self, start: float, end: float) -> list[float]:
        return [w for at, w in self.waits if start <= at <= end]


@contextmanager
def timed(figures: dict[str, Any], name: str, writer: Writer) -> Iterator[None]:
    start = time.monotonic()
    yield
    end = time.monotonic()
    waits = writer.during(start, end)
    figures[f"{name}_s"] = round(end - start, 2)
    figures[f"{name}_writes"] = len(waits)
    figures[f"{name}_write_max_ms"] = round(max(waits, default=0) * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--orgs", type=int, default=50)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    if args.backend == "postgresql":
        os.environ["DATABASE_URL"] = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    else:
        os.environ.pop("DATABASE_URL", None)
    from app.backup import service
    from app.extensions import db
    from tests.conftest import fresh_database, make_app, migrate_to_head

    figures: dict[str, Any] = {}
    with fresh_database("benchbackup") as url, tempfile.TemporaryDirectory() as out:
        migrate_to_head(url)
        app = make_app(url)
        with app.app_context():
            started = time.monotonic()
            generate(db.engine, args.incidents, args.orgs)
            figures["generate_s"] = round(time.monotonic() - started)
            if args.backend == "sqlite":
                figures["database_mib"] = round(
                    Path(str(db.engine.url.database)).stat().st_size / 2**20)
            else:
                figures["database_mib"] = round(db.session.scalar(sa.text(
                    "SELECT pg_database_size(current_database())")) / 2**20)
                db.session.commit()
            writer = Writer(app)
            writer.thread.start()
            time.sleep(1)
            baseline = [w for _, w in writer.waits]
            figures["write_median_ms"] = round(statistics.median(baseline) * 1000, 1)
            target = Path(out) / "bench-backup"
            with timed(figures, "create", writer):
                path, manifest = service.create(target)
            figures["backup_mib"] = round(manifest.size / 2**20)
            with timed(figures, "verify", writer):
                service.inspect(path)
            with timed(figures, "restore", writer):
                service.restore(path)
            writer.stop.set()
            writer.thread.join(timeout=60)
            db.session.remove()
            db.engine.dispose()
    print(figures)
    if args.write:
        with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as results:
            results.write(
                f"\n## Backup, verify and restore of {args.incidents:,} incidents "
                f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {args.backend})\n\n"
                f"Machine: {machine()}. `bench/backup.py --incidents {args.incidents} "
                f"--backend {args.backend}`: each incident with its own random 784-byte "
                "envelope, every 20th with a 16 KiB attachment; a writer commits one small "
                "row every 20 ms throughout, and its commit times are reported per phase. "
                "The restore replaces the whole database, so writes wait for it.\n\n"
                "| measure | value |\n|---|---|\n"
                f"| database MiB / backup MiB | {figures['database_mib']} / "
                f"{figures['backup_mib']} |\n"
                f"| a write's commit, median before the backup | "
                f"{figures['write_median_ms']} ms |\n"
                f"| backup create s (writes meanwhile, slowest commit) | "
                f"{figures['create_s']} ({figures['create_writes']}, "
                f"{figures['create_write_max_ms']} ms) |\n"
                f"| backup verify s (writes, slowest) | {figures['verify_s']} "
                f"({figures['verify_writes']}, {figures['verify_write_max_ms']} ms) |\n"
                f"| restore s (writes, slowest) | {figures['restore_s']} "
                f"({figures['restore_writes']}, {figures['restore_write_max_ms']} ms) |\n")


if __name__ == "__main__":
    main()
