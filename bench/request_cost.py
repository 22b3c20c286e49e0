"""Benchmark: the server's CPU time and SQL statements per request of each kind the load test
sends, in-process (Flask test client, production Config except Argon2 at 1 MiB: logins are
not measured). CPU time, not wall time, so that other work on a shared machine disturbs it
less; it is what limits how many people two cores serve.

Run:  .venv/bin/python bench/request_cost.py [--backend sqlite|postgresql] [--incidents 500]
      [--repeat 50] [--profile OP]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from app import create_app  # noqa: E402
from app.crypto import seal_record  # noqa: E402
from app.extensions import db  # noqa: E402
from config import Config  # noqa: E402
from tests.actors import Browser  # noqa: E402
from tests.conftest import migrate_to_head  # noqa: E402
from tests.load.server import throwaway_database  # noqa: E402
from tests.load.workload import Incidents  # noqa: E402
from tests.people import make_coordinator  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--incidents", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--profile", help="print a cProfile of this operation")
    args = parser.parse_args()
    with throwaway_database(args.backend, "cost") as url:
        migrate_to_head(url)
        app = create_app(Config, SQLALCHEMY_DATABASE_URI=url, SECRET_KEY="x" * 40,
                         SESSION_COOKIE_SECURE=False, KDF_MEMORY_KIB=1024, KDF_TIME_COST=1,
                         AUTH_HASH_MEMORY_KIB=1024, AUTH_HASH_TIME_COST=1)
        with app.app_context():
            coord = make_coordinator(app.test_cli_runner(),
                                     lambda e: Browser(app.test_client(), e))
            org = (coord.client.get("/auth/keyring").json or {})["org"]["id"]
            incidents = Incidents(random.Random(1))
            ids: list[str] = []

            def create() -> Any:
                rid = str(uuid.uuid4())
                body = {"id": rid, "coded": incidents.coded(),
                        "sealed": seal_record(coord.org_keys[1], org, rid, 1,
                                              incidents.sealed_fields(1))}
                answer = coord.client.post("/api/v1/incidents", json=body,
                                           headers={"X-CSRFToken": coord.csrf})
                assert answer.status_code == 201, answer.get_data(as_text=True)
                ids.append(rid)

            for _ in range(args.incidents):
                create()
            client = coord.client
            ops: dict[str, Callable[[], Any]] = {
                "create": create,
                "list": lambda: client.get("/incidents"),
                "list_api": lambda: client.get("/api/v1/incidents?per_page=50"),
                "open": lambda: client.get(f"/incidents/{ids[len(ids) // 2]}"),
                "report": lambda: client.get("/reports/view?scope=org"),
                "report_csv": lambda: client.get("/reports/download/csv?scope=org"),
            }
            statements = 0

            def count(*_a: Any) -> None:
                nonlocal statements
                statements += 1

            sa.event.listen(db.engine, "before_cursor_execute", count)
            print(f"{args.backend}, {args.incidents} incidents in the organisation; CPU ms per "
                  f"request (median of {args.repeat}), SQL statements per request")
            for name, op in ops.items():
                for _ in range(3):
                    op()
                cpu = []
                statements = 0
                for _ in range(args.repeat):
                    started = time.thread_time()
                    op()
                    cpu.append((time.thread_time() - started) * 1000)
                print(f"  {name:11} {statistics.median(cpu):7.1f} ms  "
                      f"{statements / args.repeat:5.1f} statements", flush=True)
            if args.profile:
                profiler = cProfile.Profile()
                profiler.enable()
                for _ in range(args.repeat):
                    ops[args.profile]()
                profiler.disable()
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
                print(out.getvalue())
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
