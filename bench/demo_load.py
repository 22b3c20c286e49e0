"""Benchmark: `flask demo load` (the demo instance) with production Argon2id parameters
(64 MiB, t = 3 in "the browser" and on the server), on SQLite and PostgreSQL.

Target (issue 9): under a minute. Also reports the collective report page of the demo, as
its analyst sees it (disclosure control over every breakdown).

Run:  .venv/bin/python bench/demo_load.py [--backend sqlite|postgresql|both] [--write]
SQLite goes in a temp dir; PostgreSQL (postgresql://postgres@127.0.0.1:5432/, trust auth) gets
a fresh database that is dropped at the end. Traffic: in-process only.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from app.demo import cast  # noqa: E402
from app.demo.browser import Browser  # noqa: E402
from app.demo.build import load  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Collective  # noqa: E402
from app.reports.params import last_four_quarters  # noqa: E402
from bench.incidents_search import machine  # noqa: E402
from tests.conftest import fresh_database, make_app, migrate_to_head  # noqa: E402

PG_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
PRODUCTION_KDF = {"KDF_MEMORY_KIB": 65536, "KDF_TIME_COST": 3, "AUTH_HASH_MEMORY_KIB": 65536,
                  "AUTH_HASH_TIME_COST": 3}


def run(backend: str) -> dict[str, object]:
    if backend == "postgresql":
        os.environ["DATABASE_URL"] = PG_SERVER
    else:
        os.environ.pop("DATABASE_URL", None)
    with fresh_database("demobench") as url:
        migrate_to_head(url)
        app = make_app(url, DEMO=True, **PRODUCTION_KDF)
        with app.app_context():
            started = time.monotonic()
            summary = load(app, seed=1)
            seconds = time.monotonic() - started
            secret = {a.person.email: a.passphrase for a in summary.accounts}
            analyst = Browser(app.test_client(), cast.COLLECTIVE_ANALYST,
                              secret[cast.COLLECTIVE_ANALYST])
            assert analyst.login().status_code == 200
            collective = db.session.scalar(sa.select(Collective))
            assert collective is not None
            window = last_four_quarters(datetime.now(UTC).date())
            times = []
            for _ in range(3):
                t = time.monotonic()
                page = analyst.get("/reports/view", query_string={
                    "scope": collective.pid, "from": window.start, "to": window.end})
                times.append(time.monotonic() - t)
                assert page.status_code == 200
            db.session.remove()
            db.engine.dispose()
        return {"database": backend, "incidents": summary.incidents,
                "people": len(summary.accounts), "load_s": round(seconds, 1),
                "collective_report_best_s": round(min(times), 2),
                "collective_report_worst_s": round(max(times), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--write", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    results = [run(b) for b in backends]
    load_avg = os.getloadavg()[0]
    lines = [f"\n### Demo load (`flask demo load`, production Argon2id) — "
             f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n",
             f"Machine: {machine()}; load average {load_avg:.1f} at the end (shared "
             "machine)\n", "| measure | " + " | ".join(str(r["database"]) for r in results)
             + " |", "|---|" + "---|" * len(results)]
    for key in ("incidents", "people", "load_s", "collective_report_best_s",
                "collective_report_worst_s"):
        lines.append(f"| {key} | " + " | ".join(str(r[key]) for r in results) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        with (ROOT / "bench" / "RESULTS.md").open("a") as out:
            out.write(text)


if __name__ == "__main__":
    main()
