"""Benchmark: the full collective report over a generated database of 1,000,000 incidents in
200 organisations, against the same GROUP BY queries run directly on the database.

The report page is requested through the app (login session, parsing, every query,
disclosure control, HTML). The SQL statements it sends are captured during one request and
replayed on a raw DB-API connection: that is "the same queries, directly".

Run:  .venv/bin/python bench/reports.py [--incidents 1000000] [--orgs 200]
          [--backend sqlite|postgresql|both] [--repeat 5] [--write]
Everything runs in-process or against 127.0.0.1. With --write the figures are appended to
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy import event  # noqa: E402

from app.extensions import db  # noqa: E402
from app.models import Collective  # noqa: E402
from bench.incidents_search import machine  # noqa: E402
from bench.report_data import generate  # noqa: E402
from tests.actors import Browser  # noqa: E402
from tests.conftest import make_app, migrate_to_head  # noqa: E402
from tests.people import make_coordinator  # noqa: E402

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/"
WINDOWS = {"last four quarters (default)": ("2025-10", "2026-09"),
           "whole span, 57 months": ("2022-01", "2026-09")}
TARGET_S, TARGET_RATIO = 2.0, 1.5


@contextmanager
def database(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="collateral-bench-") as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.db'}"
        return
    name = f"collateral_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_SERVER + "postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_SERVER + name
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _timed(fn: Any, repeat: int) -> list[float]:
    fn()  # warm-up: caches, query plans
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def run(backend: str, incidents: int, orgs: int, repeat: int) -> dict[str, Any]:
    with database(backend) as url:
        migrate_to_head(url)
        app = make_app(url)
        with app.app_context():
            started = time.perf_counter()
            collective_id = generate(db.engine, incidents, orgs)
            generated = time.perf_counter() - started
            if backend == "postgresql":
                with db.engine.connect().execution_options(
                        isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(sa.text("VACUUM ANALYZE"))
            collective = db.session.get(Collective, collective_id)
            assert collective is not None
            pid = collective.pid
            analyst = make_coordinator(app.test_cli_runner(),
                                       lambda email: Browser(app.test_client(), email),
                                       "Bench lead", "analyst@example.org")
            result = app.test_cli_runner().invoke(args=["collective", "appoint",
                                                        "Bench network",
                                                        "analyst@example.org"])
            assert result.exit_code == 0, result.output
            out: dict[str, Any] = {"backend": backend, "generated_s": round(generated, 1),
                                   "windows": {}}
            for label, (start, end) in WINDOWS.items():
                out["windows"][label] = _window(app, analyst, pid, start, end, repeat)
            db.session.remove()
            db.engine.dispose()
        return out


def _window(app: Any, analyst: Browser, pid: str, start: str, end: str,
            repeat: int) -> dict[str, Any]:
    url = f"/reports/view?scope={pid}&from={start}&to={end}"
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
                _many: bool) -> None:
        if "FROM incident" in statement and ("GROUP BY" in statement or "count(" in statement):
            statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    response = analyst.get(url)
    event.remove(db.engine, "before_cursor_execute", capture)
    body = response.get_data(as_text=True)
    assert response.status_code == 200, body[:500]
    assert "Headline figures" in body

    def page() -> None:
        got = analyst.get(url)
        assert got.status_code == 200

    page_times = _timed(page, repeat)

    raw = db.engine.raw_connection()
    per_query: dict[int, list[float]] = {i: [] for i in range(len(statements))}

    def direct() -> None:
        cursor = raw.cursor()
        for i, (statement, parameters) in enumerate(statements):
            started = time.perf_counter()
            cursor.execute(statement, parameters)
            cursor.fetchall()
            per_query[i].append(time.perf_counter() - started)
        cursor.close()

    direct_times = _timed(direct, repeat)
    raw.close()
    started = time.perf_counter()
    csv_response = analyst.get(url.replace("/reports/view", "/reports/download/csv"))
    csv_s = time.perf_counter() - started
    assert csv_response.status_code == 200
    with app.app_context():
        in_window = db.session.execute(sa.text(
            "SELECT count(*) FROM incident WHERE month >= :a AND month <= :b AND "
            "status = 'complete' AND consent IN ('aggregate', 'research')"),
            {"a": start, "b": end}).scalar_one()
    slowest = sorted(((statistics.median(v), statements[i][0]) for i, v in per_query.items()
                      if v), reverse=True)[:5]
    page_median, direct_median = statistics.median(page_times), statistics.median(direct_times)
    return {"window": f"{start}..{end}", "incidents_in_window": int(in_window),
            "queries": len(statements), "page_median_s": round(page_median, 3),
            "page_max_s": round(max(page_times), 3),
            "direct_median_s": round(direct_median, 3),
            "ratio": round(page_median / direct_median, 2), "csv_s": round(csv_s, 3),
            "slowest": [(round(t * 1000, 1), " ".join(sql.split())[:120])
                        for t, sql in slowest]}


def write(results: list[dict[str, Any]], incidents: int, orgs: int, repeat: int) -> None:
    lines = [f"\n## Reports: the full collective report over {incidents:,} incidents in {orgs} "
             f"organisations ({datetime.now(UTC):%Y-%m-%d})\n",
             f"Machine: {machine()}. `bench/reports.py --incidents {incidents} --orgs {orgs} "
             f"--repeat {repeat}`: the report page (GET /reports/view as a collective analyst: "
             "session, parsing, every query, disclosure control, HTML) against the same SQL "
             "statements, captured from that request and replayed on a raw DB-API "
             "connection. Medians of the repeats after one warm-up.\n",
             "| backend | window | incidents counted | queries | page median s | page max s "
             "| direct median s | ratio | CSV s | targets (< 2 s, ≤ 1.5×) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for result in results:
        for label, w in result["windows"].items():
            met = w["page_median_s"] < TARGET_S and w["ratio"] <= TARGET_RATIO
            target = ("met" if met else "not met") if "default" in label else "(not a target)"
            lines.append(f"| {result['backend']} | {w['window']} ({label}) | "
                         f"{w['incidents_in_window']:,} | {w['queries']} | "
                         f"{w['page_median_s']} | {w['page_max_s']} | {w['direct_median_s']} "
                         f"| {w['ratio']} | {w['csv_s']} | {target} |")
    lines.append("\nSlowest direct queries (default window), ms:\n")
    for result in results:
        w = result["windows"]["last four quarters (default)"]
        for ms, sql in w["slowest"][:3]:
            lines.append(f"- {result['backend']}: {ms} ms — `{sql}…`")
    took = ", ".join(f"{r['generated_s']} s on {r['backend']}" for r in results)
    lines.append(f"\nGenerating the data took {took}.\n")
    with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as out:
        out.write("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--orgs", type=int, default=200)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("COLLATERAL_BENCH", "1")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = []
    for backend in backends:
        print(f"== {backend}: generating {args.incidents:,} incidents …", flush=True)
        result = run(backend, args.incidents, args.orgs, args.repeat)
        for label, w in result["windows"].items():
            print(f"  {label}: {w}", flush=True)
        results.append(result)
    if args.write:
        write(results, args.incidents, args.orgs, args.repeat)


if __name__ == "__main__":
    main()
