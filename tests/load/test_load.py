"""Fifty people at once against gunicorn with the production config, on SQLite and on
PostgreSQL: no request fails (no "database is locked"), nothing is half-written, and the
server logs no error. A shorter run of bench/load.py, which measures the latency targets on
a quiet machine and records them in bench/RESULTS.md. Here latency is only checked for
stalls that a busy machine does not explain: writes waiting on a lock would make them far
slower than lists, which CPU starvation slows alike.

Run by `make test-load` (marker `load`), not by `make test`: about three minutes in all."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.load.conftest import running_stack
from tests.load.integrity import check_database
from tests.load.workload import LoadSpec, errors, run_load, summary

pytestmark = pytest.mark.load

ORGS, PER_ORG = 5, 10
DURATION = 60.0
THINK = 1.0  # mean seconds between one person's requests, as in bench/load.py's figures
STALL_MS = 10_000.0  # SQLite's busy_timeout: a p95 above it is a stall, however busy


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_fifty_people_at_once_without_an_error(backend: str, tmp_path: Path) -> None:
    with running_stack(backend, tmp_path, ORGS, PER_ORG) as stack:
        spec = LoadSpec(stack.server.url, DURATION, think=THINK, seed_per_client=2,
                        record_acks=True)
        run = run_load(spec, stack.accounts, processes=2)
        figures = summary(run)
        print({op: {k: round(v, 1) for k, v in f.items()} for op, f in figures.items()})

        assert figures["all"]["errors"] == 0, errors(run)
        for op in ("create", "create_form", "list", "list_api", "open", "report"):
            assert figures.get(op, {}).get("count", 0) > 0, f"no {op} request was made"
        assert figures["all"]["count"] > 300, "the clients hardly ran"
        writes, lists = figures["writes"]["p95"], figures["lists"]["p95"]
        assert writes < STALL_MS and lists < STALL_MS, (writes, lists)
        assert writes < 3 * lists + 500, f"writes stall: p95 {writes:.0f} ms, lists {lists:.0f}"
        problems = check_database(stack.database_url, run.acks)
        assert not problems, "\n".join(problems[:30])
    log = (tmp_path / "gunicorn.log").read_text(errors="replace")
    assert "ERROR" not in log and "locked" not in log, log[-3000:]
