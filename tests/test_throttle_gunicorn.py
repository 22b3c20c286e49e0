"""Login throttling holds across two gunicorn worker processes and across a restart."""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import fresh_database, migrate_to_head

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Gunicorn:
    def __init__(self, database_url: str, log: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.env = {**os.environ, "DATABASE_URL": database_url, "SESSION_COOKIE_SECURE": "0",
                    "SECRET_KEY": secrets.token_urlsafe(32), "AUTH_HASH_MEMORY_KIB": "1024",
                    "AUTH_HASH_TIME_COST": "1"}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind",
             f"127.0.0.1:{self.port}", "--access-logfile", str(self.log),
             "--access-logformat", "%(p)s %(s)s %(U)s", "wsgi:app"],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=20)
            self.proc = None


@pytest.fixture
def gunicorn(tmp_path: Path) -> Iterator[Gunicorn]:
    with fresh_database("gunicorn") as url:
        migrate_to_head(url)
        server = Gunicorn(url, tmp_path / "access.log")
        server.start()
        try:
            yield server
        finally:
            server.stop()


def _attempt(server: Gunicorn, email: str, source: str) -> tuple[int, dict[str, object]]:
    """One login attempt from a fresh client at loopback address `source`: new connection,
    new cookie, new CSRF token."""
    def connect() -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", server.port, timeout=30,
                                          source_address=(source, 0))
    conn = connect()
    conn.request("GET", "/login")
    page = conn.getresponse()
    cookie = (page.getheader("Set-Cookie") or "").split(";", 1)[0]
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.read().decode())
    conn.close()
    assert token and cookie
    conn = connect()
    conn.request("POST", "/auth/login", body=json.dumps({"email": email, "auth_key": "A" * 43}),
                 headers={"Content-Type": "application/json", "X-CSRFToken": token.group(1),
                          "Cookie": cookie})
    answer = conn.getresponse()
    result = answer.status, json.loads(answer.read())
    conn.close()
    return result


def _workers_that_answered_logins(log: Path) -> set[str]:
    return {line.split()[0] for line in log.read_text().splitlines()
            if line.endswith("/auth/login")}


def test_throttle_holds_across_workers_and_restart(gunicorn: Gunicorn) -> None:
    # Repeat with a new account until the failures landed on both workers (bounded).
    # Each round comes from its own loopback address, so the per-address limit starts afresh.
    for attempt in range(8):
        email, source = f"target{attempt}@example.org", f"127.0.0.{attempt + 2}"
        gunicorn.log.write_text("")
        answers = [_attempt(gunicorn, email, source)[0] for _ in range(5)]
        assert answers == [401] * 5
        status, body = _attempt(gunicorn, email, source)
        assert status == 429 and body["retry_after_minutes"] in (14, 15)
        time.sleep(0.2)  # let the access log flush
        if len(_workers_that_answered_logins(gunicorn.log)) == 2:
            break
    else:
        pytest.fail("the kernel never spread six connections over the two workers")
    gunicorn.stop()
    gunicorn.start()
    status, body = _attempt(gunicorn, email, source)
    assert status == 429, "a restart must not forget the failures"
    # The per-address limit also holds: another account from the same address is refused.
    assert _attempt(gunicorn, "someone.else@example.org", source)[0] == 429
    assert "Try again in" in str(body["error"])
