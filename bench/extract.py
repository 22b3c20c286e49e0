"""Benchmark: a research extract from 1,000,000 incidents — peak memory of the process that
generates it (target: under 300 MB) and the time it takes.

The database is generated first (bench/report_data.py, 200 organisations); then a fresh child
process plans the anonymisation and writes the sealed CSV and dictionary, and reports its own
peak resident memory (getrusage), so the generator's memory does not count.

Run:  .venv/bin/python bench/extract.py [--incidents 1000000] [--backend sqlite|postgresql]
          [--write]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.incidents_search import machine  # noqa: E402

FIELDS = ("kinds", "four_p", "actors", "instrument", "country", "region", "month",
          "work_setting", "people_affected", "days_detained")


def child(url: str, out_dir: str) -> None:
    """Plan and write the extract; print figures as JSON (runs in its own process)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from app.extensions import db
    from app.research.anonymise import Request, plan
    from app.research.deliver import write_extract
    from tests.conftest import make_app

    app = make_app(url)
    with app.app_context():
        org_ids = tuple(db.session.scalars(sa.text("SELECT id FROM organisation")))
        request = Request(org_ids, "2022-01", "2026-09", FIELDS, k=5)
        key = ec.generate_private_key(ec.SECP256R1())
        started = time.perf_counter()
        chosen = plan(db.session, request)
        planned = time.perf_counter() - started
        written = write_extract(db.session, request, chosen, key.public_key(), "bench",
                                "bench-export", Path(out_dir), {"purpose": "benchmark"},
                                hxl=True)
        total = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"plan_s": round(planned, 1), "total_s": round(total, 1),
                      "rows_in": chosen.rows_in, "rows_out": written.rows,
                      "suppressed": chosen.suppressed, "level": chosen.level.describe(),
                      "achieved_k": written.achieved_k, "peak_mib": round(peak_kib / 1024),
                      "csv_mib": round(written.csv_bytes / 2**20, 1)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--orgs", type=int, default=200)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("URL", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    from app.extensions import db
    from bench.report_data import generate
    from tests.conftest import fresh_database, make_app, migrate_to_head

    if args.backend == "postgresql":
        os.environ["DATABASE_URL"] = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    else:
        os.environ.pop("DATABASE_URL", None)
    with fresh_database("extract") as url, tempfile.TemporaryDirectory() as out:
        migrate_to_head(url)
        app = make_app(url)
        with app.app_context():
            generate(db.engine, args.incidents, args.orgs)
            db.engine.dispose()
        done = subprocess.run([sys.executable, __file__, "--child", url, out],
                              capture_output=True, text=True, check=False)
        if done.returncode:
            raise SystemExit(done.stderr[-3000:])
        figures = json.loads(done.stdout.strip().splitlines()[-1])
    print(figures)
    if args.write:
        ok = "met" if figures["peak_mib"] < 300 else "NOT met"
        with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as results:
            results.write(
                f"\n## Research extract from {args.incidents:,} incidents "
                f"({datetime.now(UTC):%Y-%m-%d}, {args.backend})\n\n"
                f"Machine: {machine()}. `bench/extract.py --incidents {args.incidents} "
                f"--backend {args.backend}`: fields {', '.join(FIELDS)}; whole span "
                "2022-01..2026-09; k = 5; HXL row on. A fresh process plans the "
                "generalisation and streams the sealed CSV and dictionary to disk.\n\n"
                f"| measure | value |\n|---|---|\n"
                f"| incidents with research consent in scope | {figures['rows_in']:,} |\n"
                f"| rows written / suppressed | {figures['rows_out']:,} / "
                f"{figures['suppressed']:,} |\n"
                f"| generalisation | {figures['level']} |\n"
                f"| achieved k | {figures['achieved_k']} |\n"
                f"| planning s / total s | {figures['plan_s']} / {figures['total_s']} |\n"
                f"| sealed CSV MiB | {figures['csv_mib']} |\n"
                f"| **peak memory of the generating process** | **{figures['peak_mib']} MiB** "
                f"(target < 300 MB: {ok}) |\n")


if __name__ == "__main__":
    main()
