"""Benchmark: the full collective report (all breakdowns) over a generated database of
1,000,000 incidents in 200 organisations, against the same GROUP BY queries run directly on
the database in the same run.

The report PAGE is requested through the app as a logged-in collective analyst (GET
/reports/view: session, parsing, every query, disclosure control, HTML rendering). The SQL
statements it sends are captured during one request (a `before_cursor_execute` listener);
the aggregate queries over `incident` among them are replayed, with their parameters, on a
raw DB-API connection: that is "the same GROUP BY queries, directly". Ratio = page median /
direct median.

Targets (acceptance): the page under 2 s on SQLite and on PostgreSQL, and at most 1.5x the
direct queries, for the default window (the last four complete calendar quarters). The whole
span of the data (2022-01..2026-09) is measured and reported too, but is not a target.

Run:  .venv/bin/python bench/reports.py [--incidents 1000000] [--orgs 200]
          [--backend sqlite|postgresql|both] [--repeat 5] [--profile] [--write]
SQLite goes in a temp dir; PostgreSQL (postgresql://postgres@127.0.0.1:5432/, trust auth)
gets a fresh database that is dropped at the end. Traffic: in-process and 127.0.0.1 only.
With --write a section is appended to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import re
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from flask import Flask  # noqa: E402
from sqlalchemy import event  # noqa: E402

from app.extensions import db  # noqa: E402
from app.models import Collective, CollectiveMember, CollectiveStatus, Incident  # noqa: E402
from app.reports.params import last_four_quarters  # noqa: E402
from app.vocab import load  # noqa: E402
from bench.incidents_search import machine  # noqa: E402
from bench.report_data import MONTHS, generate  # noqa: E402
from tests.actors import Browser  # noqa: E402
from tests.conftest import fresh_database, make_app, migrate_to_head  # noqa: E402
from tests.people import make_coordinator  # noqa: E402

PG_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
ANALYST = "analyst@bench.example"
TARGET_S, TARGET_RATIO = 2.0, 1.5
AGGREGATE = re.compile(r"\b(GROUP BY|count\(|sum\(|avg\(|min\(|max\()", re.IGNORECASE)
FROM_INCIDENT = re.compile(r"\bFROM incident\b", re.IGNORECASE)


def windows() -> dict[str, tuple[str, str]]:
    default = last_four_quarters(datetime.now(UTC).date())
    return {"default": (default.start, default.end), "whole span": (MONTHS[0], MONTHS[-1])}


def code_version() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              check=False).stdout.strip()
    dirty = git("status", "--porcelain", "--", "app", "templates", "migrations")
    return git("rev-parse", "--short", "HEAD") + (
        " + uncommitted changes in app/templates/migrations (working tree as measured)"
        if dirty else "")


def _seconds(fn: Callable[[], object], repeat: int) -> list[float]:
    """One warm-up call, then `repeat` timed calls."""
    fn()
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def label(sql: str) -> str:
    """A short, readable name for a statement: what it selects and groups by."""
    flat = " ".join(sql.split())
    if "row_number() OVER" in flat:
        return "amounts per currency (sum, count, median by window functions)"
    selected = flat[len("SELECT "):flat.upper().find(" FROM ")]
    selected = re.sub(r"\bincident\.", "", selected)
    grouped = re.findall(r"GROUP BY ([^)]*?)(?: ORDER BY| LIMIT|\)|$)", flat)
    tail = f" GROUP BY {re.sub(r'incident[.]', '', grouped[-1])}" if grouped else ""
    extra = " AND groups_set != ' '" if "groups_set !=" in flat else ""
    return f"SELECT {selected[:90]}{tail}{extra}"


def kind(sql: str) -> str:
    """The verb and first table of a statement ("SELECT organisation")."""
    flat = " ".join(sql.split())
    verb = flat.split(" ", 1)[0].upper()
    table = re.search(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", flat, re.IGNORECASE)
    name = table.group(1) if table else "?"
    return f"{verb} {name}" + (" (case studies)" if (verb, name) == ("SELECT", "incident")
                               else "")


def in_window(collective_id: int, start: str, end: str) -> tuple[int, int]:
    """Incidents of the collective's organisations in the window: all of them, and those a
    collective report counts (complete, consent aggregate or wider). Counted independently of
    the report code."""
    vocab = load()
    floor = vocab.consent_rank("aggregate")
    wide = [t.code for t in vocab.lists["consent"] if t.rank >= floor]
    base = (sa.select(sa.func.count()).select_from(Incident)
            .join(CollectiveMember, CollectiveMember.org_id == Incident.org_id)
            .where(CollectiveMember.collective_id == collective_id,
                   CollectiveMember.status == CollectiveStatus.JOINED,
                   Incident.month >= start, Incident.month <= end))
    everything = db.session.execute(base).scalar_one()
    counted = db.session.execute(base.where(Incident.status == "complete",
                                            Incident.consent.in_(wide))).scalar_one()
    return int(everything), int(counted)


def explain(statement: str, parameters: Any) -> str:
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        if db.engine.dialect.name == "postgresql":
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
        cursor.close()
        raw.rollback()
    finally:
        raw.close()
    return plan


def measure_window(app: Flask, analyst: Browser, pid: str, collective_id: int,
                   start: str, end: str, repeat: int, profile: bool) -> dict[str, Any]:
    query = f"scope={pid}&from={start}&to={end}"
    page_url, csv_url = f"/reports/view?{query}", f"/reports/download/csv?{query}"
    everything, counted = in_window(collective_id, start, end)
    db.session.remove()
    headline = f"<dd>{counted:,}</dd>"

    # One request with the listener on: every statement the report sends, with parameters.
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
                _many: bool) -> None:
        sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        response = analyst.client.get(page_url)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    body = response.get_data(as_text=True)
    assert response.status_code == 200, body[:800]
    assert headline in body, f"page lacks the headline count {headline}"
    kept = [(s, p) for s, p in sent if s.lstrip().upper().startswith("SELECT")
            and FROM_INCIDENT.search(s) and AGGREGATE.search(s)]
    skipped = Counter(kind(s) for s, _p in sent if all(s is not k for k, _ in kept))

    def page() -> None:
        got = analyst.client.get(page_url)
        assert got.status_code == 200 and headline in got.get_data(as_text=True)

    page_times = _seconds(page, repeat)

    per_query: list[list[float]] = [[] for _ in kept]
    raw = db.engine.raw_connection()

    def direct() -> None:
        cursor = raw.cursor()
        for i, (statement, parameters) in enumerate(kept):
            started = time.perf_counter()
            cursor.execute(statement, parameters)
            cursor.fetchall()
            per_query[i].append(time.perf_counter() - started)
        cursor.close()

    # The page's other SELECTs (sessions, people, organisations, case studies), timed the
    # same way but apart: not part of "the same GROUP BY queries", shown to account for the
    # difference between the page and the direct queries.
    others = [(s, p) for s, p in sent if s.lstrip().upper().startswith("SELECT")
              and all(s is not k for k, _ in kept)]
    other_times: dict[str, list[float]] = {}

    def other() -> None:
        cursor = raw.cursor()
        took: Counter[str] = Counter()
        for statement, parameters in others:
            started = time.perf_counter()
            cursor.execute(statement, parameters)
            cursor.fetchall()
            took[kind(statement)] += time.perf_counter() - started
        cursor.close()
        for name, seconds in took.items():
            other_times.setdefault(name, []).append(seconds)

    try:
        direct_times = _seconds(direct, repeat)
        others_total = _seconds(other, repeat)
        raw.rollback()
    finally:
        raw.close()
    counts = Counter(kind(s) for s, _p in others)
    other_ms = {name: (counts[name], round(statistics.median(times[1:] or times) * 1000, 1))
                for name, times in other_times.items()}

    started = time.perf_counter()
    got = analyst.client.get(csv_url)
    csv_s = time.perf_counter() - started
    assert got.status_code == 200 and got.mimetype == "text/csv", got.status

    profile_text = ""
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        analyst.client.get(page_url)
        profiler.disable()
        stream = io.StringIO()
        stats = pstats.Stats(profiler, stream=stream)
        stats.sort_stats("cumulative").print_stats(35)
        stats.sort_stats("tottime").print_stats(20)
        profile_text = stream.getvalue()

    medians = [statistics.median(times[1:] or times) for times in per_query]  # no warm-up
    order = sorted(range(len(kept)), key=lambda i: -medians[i])
    slowest = [(round(medians[i] * 1000, 1), label(kept[i][0])) for i in order[:5]]
    plan = explain(*kept[order[0]]) if kept else ""
    page_median, direct_median = statistics.median(page_times), statistics.median(direct_times)
    return {"window": f"{start}..{end}", "incidents_in_window": everything,
            "incidents_counted": counted, "statements_sent": len(sent),
            "statements_kept": len(kept), "skipped": dict(skipped.most_common()),
            "page_median_s": round(page_median, 3), "page_max_s": round(max(page_times), 3),
            "page_s": [round(t, 3) for t in page_times],
            "direct_median_s": round(direct_median, 3),
            "direct_max_s": round(max(direct_times), 3),
            "others_median_s": round(statistics.median(others_total), 3),
            "others_ms": dict(sorted(other_ms.items(), key=lambda item: -item[1][1])),
            "ratio": round(page_median / direct_median, 2), "csv_s": round(csv_s, 3),
            "page_kb": round(len(body.encode()) / 1024), "slowest": slowest,
            "slowest_plan": plan, "profile": profile_text}


def run(backend: str, incidents: int, orgs: int, repeat: int, profile: bool) -> dict[str, Any]:
    if backend == "postgresql":
        os.environ["DATABASE_URL"] = PG_SERVER
    else:
        os.environ.pop("DATABASE_URL", None)
    with fresh_database("bench") as url:
        migrate_to_head(url)
        app = make_app(url)
        with app.app_context():
            print(f"== {backend}: generating {incidents:,} incidents in {orgs} "
                  "organisations …", flush=True)
            started = time.perf_counter()
            collective_id = generate(db.engine, incidents, orgs)
            if backend == "postgresql":
                with db.engine.connect().execution_options(
                        isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(sa.text("VACUUM ANALYZE"))
            generated = time.perf_counter() - started
            print(f"   generated (with ANALYZE{', VACUUM' if backend != 'sqlite' else ''}) "
                  f"in {generated:.0f} s", flush=True)
            collective = db.session.get(Collective, collective_id)
            assert collective is not None
            pid, k = collective.pid, collective.min_cell
            db.session.remove()
            runner = app.test_cli_runner()
            # A coordinator of a new organisation (not in the collective), logged in, then
            # appointed analyst of the collective.
            analyst = make_coordinator(runner, lambda email: Browser(app.test_client(), email),
                                       "Bench analysts", ANALYST)
            result = runner.invoke(args=["collective", "appoint", "Bench network", ANALYST,
                                         "--role", "analyst"])
            assert result.exit_code == 0, result.output
            out: dict[str, Any] = {"backend": backend, "generated_s": round(generated),
                                   "k": k, "windows": {}}
            if backend == "postgresql":
                out["server"] = db.session.execute(sa.text("SHOW server_version")).scalar_one()
                db.session.remove()
            for name, (start, end) in windows().items():
                print(f"   {name} window {start}..{end}: timing …", flush=True)
                w = measure_window(app, analyst, pid, collective_id, start, end, repeat,
                                   profile)
                out["windows"][name] = w
                report(backend, name, w)
            db.session.remove()
            db.engine.dispose()
        return out


def report(backend: str, name: str, w: dict[str, Any]) -> None:
    met = w["page_median_s"] < TARGET_S and w["ratio"] <= TARGET_RATIO
    print(f"   [{backend}, {name} {w['window']}] {w['incidents_counted']:,} of "
          f"{w['incidents_in_window']:,} incidents counted; page {w['page_kb']} KiB\n"
          f"     statements sent by the page: {w['statements_sent']}, kept as aggregate "
          f"queries over incident: {w['statements_kept']}; skipped: {w['skipped']}\n"
          f"     page median {w['page_median_s']} s, max {w['page_max_s']} s "
          f"(runs {w['page_s']}); direct median {w['direct_median_s']} s, max "
          f"{w['direct_max_s']} s; ratio {w['ratio']}; CSV {w['csv_s']} s\n"
          f"     the page's other SELECTs, replayed: {w['others_median_s']} s in all; "
          f"per kind (statements, median ms): {w['others_ms']}\n"
          f"     targets (< {TARGET_S:g} s, <= {TARGET_RATIO:g}x): "
          f"{'met' if met else 'NOT met'}{'' if name == 'default' else ' (not a target)'}\n"
          "     slowest direct queries (median ms):", flush=True)
    for ms, sql in w["slowest"]:
        print(f"       {ms:8.1f}  {sql}", flush=True)
    print("     plan of the slowest:\n       " + w["slowest_plan"].replace("\n", "\n       "),
          flush=True)
    if w["profile"]:
        print(w["profile"], flush=True)


def _mark(ok: bool, target: bool) -> str:
    return ("yes" if ok else "**no**") if target else ("(yes)" if ok else "(no)")


def write(results: list[dict[str, Any]], incidents: int, orgs: int, repeat: int,
          code: str) -> None:
    when = subprocess.run(["date", "-u", "+%Y-%m-%d %H:%M UTC"], capture_output=True,
                          text=True, check=False).stdout.strip()
    default = results[0]["windows"]["default"]
    whole = results[0]["windows"]["whole span"]
    lines = [f"### Reports: full collective report over {incidents:,} incidents in {orgs} "
             f"organisations — {when}", "",
             f"Machine: {machine()}" + "".join(
                 f"; PostgreSQL {r['server']} on 127.0.0.1" for r in results if "server" in r),
             "", f"Code: {code}", "",
             f"`bench/reports.py --incidents {incidents} --orgs {orgs} --repeat {repeat}`. "
             f"Data from bench/report_data.py: {incidents:,} incidents over 2022-01..2026-09 "
             f"in {orgs} organisations that all joined one collective (k = "
             f"{results[0]['k']}); ~97 % complete, ~75 % with consent aggregate or wider. "
             f"Default window {default['window']} (last four complete quarters): "
             f"{default['incidents_in_window']:,} incidents, "
             f"{default['incidents_counted']:,} counted (complete, consent ≥ aggregate); "
             f"whole span {whole['window']}: {whole['incidents_in_window']:,}, "
             f"{whole['incidents_counted']:,} counted.", "",
             "Page = GET /reports/view as a logged-in collective analyst through the Flask "
             "test client (session, parsing, every query, disclosure control, HTML). Direct = "
             "the aggregate statements over `incident` captured from that request (SQL and "
             "parameters exactly as sent) replayed on a raw DB-API connection, fetching all "
             "rows. Median and max of "
             f"{repeat} runs after one warm-up; ratio = page median / direct median. CSV = one "
             "download of the same report, for information.", "",
             "| backend | window | statements (kept / sent) | page median s | page max s "
             "| direct median s | ratio | CSV s | page < 2 s | ratio ≤ 1.5 |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    verdicts = []
    for r in results:
        for name, w in r["windows"].items():
            fast = w["page_median_s"] < TARGET_S
            close = w["ratio"] <= TARGET_RATIO
            target = name == "default"
            lines.append(f"| {r['backend']} | {w['window']} ({name}) | "
                         f"{w['statements_kept']} / {w['statements_sent']} | "
                         f"{w['page_median_s']} | {w['page_max_s']} | {w['direct_median_s']} "
                         f"| {w['ratio']}× | {w['csv_s']} | {_mark(fast, target)} "
                         f"| {_mark(close, target)} |")
            if name == "default":
                verdicts.append(f"{r['backend']}: {'met' if fast and close else 'NOT met'} "
                                f"(page {w['page_median_s']} s, {w['ratio']}× direct)")
    lines += ["", "Targets, default window: " + "; ".join(verdicts) + ". The whole-span rows "
              "(in parentheses) are reported, not targeted.", "",
              "Slowest direct queries, default window (median ms):", ""]
    for r in results:
        for ms, sql in r["windows"]["default"]["slowest"]:
            lines.append(f"- {r['backend']}: {ms} ms — `{sql}`")
    lines += ["", "The page's other SELECTs (not aggregates, so not in 'direct'), replayed the "
              "same way, median ms (statements):", ""]
    for r in results:
        w = r["windows"]["default"]
        parts = ", ".join(f"{name} {ms} ({n})" for name, (n, ms) in w["others_ms"].items())
        lines.append(f"- {r['backend']}: {round(w['others_median_s'] * 1000)} ms in all — "
                     f"{parts}")
    lines += ["", "Generating the data (bulk INSERT, ANALYZE; VACUUM ANALYZE on PostgreSQL) "
              "took " + ", ".join(f"{r['generated_s']} s on {r['backend']}" for r in results)
              + "."]
    text = "\n".join(lines) + "\n"
    print(text)
    with (ROOT / "bench" / "RESULTS.md").open("a", encoding="utf-8") as handle:
        handle.write("\n" + text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--orgs", type=int, default=200)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", action="store_true",
                        help="print a cProfile of one more page request per window")
    parser.add_argument("--write", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    if not 1 <= args.repeat <= 100 or args.incidents < 1 or not 1 <= args.orgs <= 10_000:
        parser.error("--repeat 1..100, --incidents >= 1, --orgs 1..10000")
    code = code_version()  # at the start: the code this process imported
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = [run(b, args.incidents, args.orgs, args.repeat, args.profile) for b in backends]
    if args.write:
        write(results, args.incidents, args.orgs, args.repeat, code)


if __name__ == "__main__":
    main()
