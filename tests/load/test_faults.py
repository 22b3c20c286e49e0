"""Faults under load: gunicorn's workers and master killed with SIGKILL, PostgreSQL stopped
and started again. Nothing acknowledged may be lost or changed, nothing half-written may
remain, requests during an outage get a clear answer, and the app recovers by itself.

Run by `make test-load` (marker `load`), not by `make test`: about four minutes in all."""

from __future__ import annotations

import html
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.load.conftest import running_stack
from tests.load.http import http_browser
from tests.load.integrity import check_api, check_database
from tests.load.server import PrivateCluster
from tests.load.workload import (
    UNAVAILABLE,
    Account,
    LoadRun,
    LoadSpec,
    Sample,
    errors,
    run_load,
)

pytestmark = pytest.mark.load

ORGS, PER_ORG = 2, 6  # 12 people at once
DURATION = 180.0  # the most seconds of load per test; it ends LINGER_S after the last fault
RECOVERY_S = 10.0  # after a fault is over, every request sent later must succeed
LINGER_S = RECOVERY_S + 10


@dataclass
class Timeline:
    """When each fault began and ended (wall clock), to judge each request by when it was
    sent."""

    events: dict[str, float] = field(default_factory=dict)

    def mark(self, name: str) -> None:
        self.events[name] = time.time()
        print(f"{time.strftime('%H:%M:%S')} {name}", flush=True)


def _sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


def _sent_between(run: LoadRun, start: float, end: float) -> list[Sample]:
    return [s for s in run.samples if start <= s.at and s.at + s.seconds <= end]


def _verify_acknowledged(stack_url: str, base_url: str, accounts: list[Account],
                         run: LoadRun) -> None:
    print(f"{len(run.samples)} requests in {run.seconds:.0f} s, {len(run.acks)} incidents "
          f"acknowledged ({sum(a.via == '409' for a in run.acks)} by a retry's 409, "
          f"{sum(a.attachment is not None for a in run.acks)} with an attachment); failures: "
          f"{errors(run)}", flush=True)
    assert run.acks, "no incident was acknowledged: the load did not run"
    problems = check_database(stack_url, run.acks) + check_api(base_url, accounts, run.acks)
    assert not problems, "\n".join(problems[:30])


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_sigkill_of_workers_and_master_loses_nothing_acknowledged(
        backend: str, tmp_path: Path) -> None:
    """SIGKILL one worker (the master starts another), later the master itself (its workers
    leave; the test restarts gunicorn, as systemd would), all during load."""
    timeline = Timeline()
    with running_stack(backend, tmp_path, ORGS, PER_ORG) as stack:
        server = stack.server

        def faults(started: float) -> None:
            _sleep_until(started + 8)
            timeline.mark("worker killed")
            killed, replacement = server.kill_worker()
            timeline.mark("worker replaced")
            assert killed != replacement
            _sleep_until(started + 20)
            timeline.mark("master killed")
            stray = server.kill_master()
            timeline.mark("master gone")
            server.start()
            timeline.mark("restarted")
            assert not stray, f"workers {stray} outlived their master and had to be killed"

        spec = LoadSpec(server.url, DURATION, think=0.05, attach_every=4, record_acks=True,
                        timeout=30)
        run = run_load(spec, stack.accounts, processes=2, during=faults, linger=LINGER_S)
        t = timeline.events

        # A request in flight while a worker or the whole server was away may find no answer
        # at all (connection reset or refused); none gets a server error, none fails else.
        windows = [(t["worker killed"] - 1, t["worker replaced"] + 1),
                   (t["master killed"] - 1, t["restarted"] + 1)]
        for s in run.samples:
            if not s.ok:
                assert s.status == 0, f"{s.op} got {s.status} {s.note}"
                assert any(s.at <= b and s.at + s.seconds >= a for a, b in windows), \
                    f"{s.op} failed outside the faults: {s.note}"
        # The app served again after each fault: acknowledged creates after both.
        assert any(a.at > t["worker replaced"] for a in run.acks)
        assert any(a.at > t["restarted"] for a in run.acks)
        late = _sent_between(run, t["restarted"] + RECOVERY_S, run.ended)
        assert late and all(s.ok for s in late), errors(run)

        _verify_acknowledged(stack.database_url, server.url, stack.accounts, run)


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    with PrivateCluster() as private:
        yield private


def test_postgresql_stopped_and_started_during_load(cluster: PrivateCluster,
                                                    tmp_path: Path) -> None:
    """`pg_ctl stop -m immediate` (as a crash), later `-m fast`, each for a few seconds during
    load, on a private cluster. Requests in each gap get the 503 page with its reason; the
    app reconnects by itself (pool pre-ping) with no restart; nothing acknowledged is lost."""
    timeline = Timeline()
    with running_stack("postgresql", tmp_path, ORGS, PER_ORG, cluster.url()) as stack:
        server = stack.server
        processes = (server.master, tuple(server.workers()))
        # A person with the incident list open, who reloads it during each gap.
        person = http_browser(server.url, stack.accounts[0].email)
        assert person.login().status_code == 200
        pages: list[tuple[int, str]] = []

        def outage(mode: str, at: float) -> None:
            _sleep_until(at)
            timeline.mark(f"{mode} stop")
            cluster.stop(mode)
            timeline.mark(f"{mode} stopped")
            time.sleep(1)
            for path in ("/incidents", "/healthz"):
                answer = person.client.get(path)
                pages.append((answer.status_code, answer.get_data(as_text=True)))
            time.sleep(3)
            timeline.mark(f"{mode} start")
            cluster.start()
            timeline.mark(f"{mode} started")

        def faults(started: float) -> None:
            outage("immediate", started + 8)
            outage("fast", started + 24)

        spec = LoadSpec(server.url, DURATION, think=0.05, attach_every=4, record_acks=True,
                        timeout=30)
        run = run_load(spec, stack.accounts, processes=2, during=faults, linger=LINGER_S)
        t = timeline.events

        # Every failure, in a gap or on its edge, is a 503 that says what happened.
        for s in run.samples:
            if not s.ok:
                assert s.status == 503 and s.note == "503 with the reason", \
                    f"{s.op} got {s.status} {s.note}"
        for mode in ("immediate", "fast"):
            gap = _sent_between(run, t[f"{mode} stopped"], t[f"{mode} start"])
            assert gap, f"no request fell in the {mode} gap"
            assert all(s.status == 503 for s in gap), \
                f"requests in the {mode} gap: {sorted({(s.op, s.status) for s in gap})}"
            assert any(a.at > t[f"{mode} started"] for a in run.acks)
        # A person's page in each gap: the service-unavailable page; health says so too.
        assert len(pages) == 4
        for (status, text), path in zip(pages, ["/incidents", "/healthz"] * 2, strict=True):
            assert status == 503, f"{path} in the gap: {status}"
            if path == "/incidents":
                assert UNAVAILABLE in html.unescape(text), text[:500]
        # Recovered by itself: the same processes, and every later request succeeded.
        assert (server.master, tuple(server.workers())) == processes
        late = _sent_between(run, t["fast started"] + RECOVERY_S, run.ended)
        assert late and all(s.ok for s in late), errors(run)
        assert server.healthy()

        _verify_acknowledged(stack.database_url, server.url, stack.accounts, run)
