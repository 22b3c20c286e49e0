"""Benchmark: many people using Collateral at once, against gunicorn with the production config.

Run:  .venv/bin/python bench/load.py --backend sqlite --clients 50 --duration 300 [--write]
      .venv/bin/python bench/load.py --backend postgresql ...   (a new database on the server
      in $DATABASE_URL, else postgresql+psycopg://postgres@127.0.0.1:5432; dropped afterwards)

`gunicorn -c gunicorn.conf.py wsgi:app` serves a throwaway database on a free port of
127.0.0.1 with the app's normal Config (production Argon2 and KDF parameters included); only a
SECRET_KEY, SESSION_COOKIE_SECURE=0 (plain http on 127.0.0.1) and the database are set.
The clients (tests/load/workload.py) register over HTTP in `--orgs` organisations, log in
before the clock starts, then loop for `--duration` seconds: seal and create an incident, list,
open one, and (coordinators) run the organisation's report, with a think time between one
person's requests (default 1 s on average, uniform 0-2 s: a person reads what a page shows
before the next click; at 0 the clients are a closed-loop stress test whose latency is set by
clients / throughput, not by any one request). Every request is timed; the
figures and the verdict on the targets (no errors; p95 < 250 ms for writes and for lists)
are printed and, with --write, appended to bench/RESULTS.md. All traffic goes to 127.0.0.1;
the run is bounded by --duration (at most 3600 s) and a request count per client.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.incidents_search import machine  # noqa: E402
from bench.reports import code_version  # noqa: E402
from tests.conftest import make_app, migrate_to_head  # noqa: E402
from tests.load.server import Gunicorn, throwaway_database  # noqa: E402
from tests.load.workload import (  # noqa: E402
    LISTS,
    WRITES,
    LoadSpec,
    errors,
    make_accounts,
    run_load,
    summary,
)

TARGET_P95_MS = 250.0
OPS = ("create", "create_form", "list", "list_api", "open", "report", "report_csv", "writes",
       "lists", "all")


def _gunicorn_shape(env: dict[str, str]) -> str:
    workers = env.get("GUNICORN_WORKERS") or os.environ.get("GUNICORN_WORKERS") or \
        _conf_default("GUNICORN_WORKERS")
    threads = env.get("GUNICORN_THREADS") or os.environ.get("GUNICORN_THREADS") or \
        _conf_default("GUNICORN_THREADS")
    return f"{workers} workers × {threads} threads (gthread)"


def _conf_default(name: str) -> str:
    found = re.search(rf'"{name}", "(\d+)"', (ROOT / "gunicorn.conf.py").read_text())
    return found.group(1) if found else "?"


def _server_version(url: str) -> str:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        version = str(conn.execute(sa.text("SELECT version()")).scalar()).split(" on ")[0]
    engine.dispose()
    return version


def _count_incidents(url: str) -> int:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        count = int(conn.execute(sa.text("SELECT count(*) FROM incident")).scalar() or 0)
    engine.dispose()
    return count


def _log_findings(log: Path) -> list[str]:
    """Lines of the server's log that tell of trouble (it logs no requests, only errors)."""
    trouble = re.compile(r"ERROR|CRITICAL|locked|unhandled|Traceback|WORKER TIMEOUT", re.I)
    return [line.strip() for line in log.read_text(errors="replace").splitlines()
            if trouble.search(line)]


def run(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    env = {}
    if args.workers:
        env["GUNICORN_WORKERS"] = str(args.workers)
    if args.threads:
        env["GUNICORN_THREADS"] = str(args.threads)
    per_org = args.clients // args.orgs
    out: dict[str, Any] = {"backend": backend, "gunicorn": _gunicorn_shape(env)}
    with throwaway_database(backend, "load") as url, \
            tempfile.TemporaryDirectory(prefix="collateral-load-") as tmp:
        if backend == "postgresql":
            out["server"] = _server_version(url)
        migrate_to_head(url)
        cli = make_app(url).test_cli_runner()

        def invoke(command: list[str]) -> str:
            result = cli.invoke(args=command)
            assert result.exit_code == 0, result.output
            return str(result.output)

        log = Path(tmp) / "gunicorn.log"
        with Gunicorn(url, log, **env) as server:
            print(f"[{backend}] gunicorn {out['gunicorn']} at {server.url}; registering "
                  f"{args.orgs * per_org} people in {args.orgs} organisations", flush=True)
            started = time.perf_counter()
            accounts = make_accounts(server.url, invoke, args.orgs, per_org)
            out["register_s"] = time.perf_counter() - started
            out["coordinators"] = sum(a.role == "coordinator" for a in accounts)
            spec = LoadSpec(server.url, args.duration, think=args.think,
                            seed_per_client=args.seed)
            print(f"[{backend}] {len(accounts)} registered in {out['register_s']:.0f} s; "
                  f"logging in, then {args.duration:g} s of load", flush=True)
            load_before: list[float] = []
            cpu_before: dict[int, float] = {}

            def at_start(_started: float) -> None:
                load_before.extend(os.getloadavg())
                cpu_before.update(server.cpu_seconds())

            result = run_load(spec, accounts, processes=args.processes, during=at_start)
            out["loadavg"] = (load_before, list(os.getloadavg()))
            cpu_after = server.cpu_seconds()
            # The server's CPU over the timed run (a worker started since counts from 0).
            out["server_cpu_s"] = sum(cpu - cpu_before.get(pid, 0.0)
                                      for pid, cpu in cpu_after.items())
            out["prepare_s"] = result.prepare_s
            out["seconds"] = result.seconds
            out["figures"] = summary(result)
            out["cpu_ms_per_request"] = out["server_cpu_s"] * 1000 / max(
                1, out["figures"]["all"]["count"])
            out["cores_used"] = out["server_cpu_s"] / result.seconds
            out["errors"] = errors(result)
        out["incidents"] = _count_incidents(url)
        out["log"] = _log_findings(log)
    return out


def verdict(r: dict[str, Any]) -> tuple[bool, str]:
    f = r["figures"]
    writes, lists = f["writes"]["p95"], f["lists"]["p95"]
    fails = f["all"]["errors"]
    ok = fails == 0 and writes < TARGET_P95_MS and lists < TARGET_P95_MS
    return ok, (f"{'met' if ok else 'NOT met'}: {fails} errors, p95 writes {writes:.0f} ms, "
                f"p95 lists {lists:.0f} ms (targets: 0 errors, p95 < {TARGET_P95_MS:.0f} ms)")


def table(r: dict[str, Any]) -> list[str]:
    lines = ["| operation | requests | errors | p50 ms | p95 ms | p99 ms | max ms | per s |",
             "|---|---|---|---|---|---|---|---|"]
    for op in OPS:
        if op in r["figures"]:
            f = r["figures"][op]
            name = {"writes": f"**writes** ({' + '.join(WRITES)})",
                    "lists": f"**lists** ({' + '.join(LISTS)})",
                    "all": "**all**"}.get(op, op)
            lines.append(f"| {name} | {f['count']} | {f['errors']} | {f['p50']:.0f} | "
                         f"{f['p95']:.0f} | {f['p99']:.0f} | {f['max']:.0f} | "
                         f"{f['per_s']:.1f} |")
    return lines


def show(r: dict[str, Any]) -> None:
    print("\n".join(table(r)))
    print(f"[{r['backend']}] {verdict(r)[1]}; load average "
          f"{r['loadavg'][0][0]:.2f} at start, {r['loadavg'][1][0]:.2f} at end; server CPU "
          f"{r['cpu_ms_per_request']:.1f} ms per request, {r['cores_used']:.2f} cores on "
          "average")
    for line in r["errors"]:
        print("   error:", line)
    for line in r["log"][:20]:
        print("   server log:", line)


def write(results: list[dict[str, Any]], args: argparse.Namespace, code: str,
          command: str) -> None:
    when = subprocess.run(["date", "-u", "+%Y-%m-%d %H:%M UTC"], capture_output=True,
                          text=True, check=False).stdout.strip()
    lines: list[str] = []
    for r in results:
        said = verdict(r)[1]
        first, last = r["loadavg"]
        lines += [f"### Load: {args.clients} people at once for {args.duration:g} s, "
                  f"{r['backend']} — {when}", "",
                  f"Machine: {machine()}" + (f"; {r['server']} on 127.0.0.1"
                                             if "server" in r else ""), "",
                  f"Code: {code}", "", f"`{command}`", "",
                  f"`gunicorn -c gunicorn.conf.py wsgi:app`, {r['gunicorn']}, the app's "
                  "normal Config (production Argon2 and KDF), a throwaway database. "
                  f"{args.clients} clients in {args.orgs} organisations "
                  f"({r['coordinators']} coordinators, the rest outreach workers) in "
                  f"{args.processes} client processes on the same machine; think time "
                  f"{args.think:g} s (mean); {args.seed} incidents per client made before the "
                  f"clock. Registering took {r['register_s']:.0f} s, logging in (and seeding) "
                  f"{r['prepare_s']:.0f} s, both before the clock. Each round: create (JSON "
                  "API; every 10th through the form with a sealed attachment), the list page, "
                  "the list API (50 per page), open one incident's page and its envelope; "
                  "coordinators every 2nd round the organisation's report page (every 4th "
                  "report the CSV). Load average (1 min) at start "
                  f"{first[0]:.2f}, at end {last[0]:.2f} (it counts the benchmark's own "
                  f"clients and server too; compare with {os.cpu_count()} cores). "
                  "The server (gunicorn's "
                  f"master and workers) used {r['server_cpu_s']:.0f} CPU seconds: "
                  f"{r['cpu_ms_per_request']:.1f} ms per request, {r['cores_used']:.2f} "
                  f"of the {os.cpu_count()} cores on average. {r['incidents']:,} "
                  "incidents in the database at the end.", "",
                  *table(r), "", f"Targets: {said}."]
        if r["errors"]:
            lines += ["", "Errors: " + "; ".join(r["errors"])]
        if r["log"]:
            lines += ["", f"Server log: {len(r['log'])} error lines, e.g. `{r['log'][0]}`"]
        lines.append("")
    text = "\n".join(lines)
    with (ROOT / "bench" / "RESULTS.md").open("a", encoding="utf-8") as handle:
        handle.write("\n" + text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--orgs", type=int, default=5)
    parser.add_argument("--duration", type=float, default=300, help="seconds of load")
    parser.add_argument("--think", type=float, default=1.0,
                        help="mean think time between one person's requests, seconds")
    parser.add_argument("--seed", type=int, default=10,
                        help="incidents each client makes before the clock starts")
    parser.add_argument("--processes", type=int, default=2, help="client processes")
    parser.add_argument("--workers", type=int, help="gunicorn workers (else the config's)")
    parser.add_argument("--threads", type=int, help="threads per worker (else the config's)")
    parser.add_argument("--write", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    if not (1 <= args.orgs <= args.clients <= 500 and args.clients % args.orgs == 0
            and 1 <= args.duration <= 3600 and 1 <= args.processes <= 16
            and 0 <= args.think <= 60 and 0 <= args.seed <= 1000):
        parser.error("--clients 1..500, a multiple of --orgs; --duration 1..3600; "
                     "--processes 1..16; --think 0..60; --seed 0..1000")
    code = code_version()  # at the start: the code the server runs
    command = "bench/load.py " + " ".join(sys.argv[1:])
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = []
    for backend in backends:
        results.append(run(backend, args))
        show(results[-1])
    if args.write:
        write(results, args, code, command)
    sys.exit(0 if all(verdict(r)[0] for r in results) else 1)


if __name__ == "__main__":
    main()
