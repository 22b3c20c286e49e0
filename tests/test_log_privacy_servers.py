"""The real servers' logs hold no e-mail address, IP address, record id or link token: gunicorn
with gunicorn.conf.py and the development server (`flask run`), each fed requests that carry
them (in paths, queries, X-Forwarded-For, a malformed request line, a careless log call and an
unhandled error). With LOG_PRIVACY=0 the same run shows them, so the check can fail."""

from __future__ import annotations

import http.client
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import fresh_database, migrate_to_head

ROOT = Path(__file__).resolve().parent.parent
EMAIL = "alice.marker@example.org"
CLIENT = "127.0.0.9"  # the connection's source address
FORWARDED_V4, FORWARDED_V6 = "198.51.100.23", "2001:db8::17"


@dataclass
class Secrets:
    rid: str
    token: str

    def all(self) -> list[str]:
        return [EMAIL, EMAIL.replace("@", "%40"), self.rid, self.rid.replace("-", ""),
                self.token, FORWARDED_V4, FORWARDED_V6, CLIENT]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    with fresh_database("logprivacy") as url:
        migrate_to_head(url)
        yield url


def _serve(kind: str, database: str, log: Path, privacy: bool) -> tuple[subprocess.Popen[bytes],
                                                                         int]:
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database, "SECRET_KEY": secrets.token_urlsafe(32),
           "PROXY_COUNT": "1", "SESSION_COOKIE_SECURE": "0",
           "LOG_PRIVACY": "1" if privacy else "0", "GUNICORN_BIND": f"127.0.0.1:{port}",
           "GUNICORN_WORKERS": "1"}
    env.pop("LOG_FILE", None)
    if kind == "gunicorn":
        command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
                   "tests.privacy_wsgi:app"]
    else:
        command = [sys.executable, "-m", "flask", "--app", "tests.privacy_wsgi", "run",
                   "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as stderr:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=stderr, stderr=stderr)
    for _ in range(150):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc, port
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{kind} did not start:\n{log.read_text()}")


def _request(port: int, method: str, path: str, headers: dict[str, str] | None = None,
             body: str | None = None) -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30,
                                      source_address=(CLIENT, 0))
    conn.request(method, path, body=body, headers=headers or {})
    answer = conn.getresponse()
    result = answer.status, {k.lower(): v for k, v in answer.getheaders()}, \
        answer.read().decode(errors="replace")
    conn.close()
    return result


def _raw(port: int, data: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=30,
                                  source_address=(CLIENT, 0)) as conn:
        conn.sendall(data)
        conn.recv(65536)


def _exercise(port: int, s: Secrets) -> dict[str, str]:
    """Requests that carry every secret; returns the Set-Cookie over http and over https."""
    status, _, _ = _request(port, "GET", f"/incidents/{s.rid}?email={EMAIL}",
                            {"X-Forwarded-For": FORWARDED_V4})
    assert status in (302, 401)
    _request(port, "GET", f"/register/{s.token}", {"X-Forwarded-For": FORWARDED_V6})
    _request(port, "POST", "/auth/prelogin", {"Content-Type": "application/json"},
             f'{{"email": "{EMAIL}"}}')
    status, _, page = _request(port, "GET", f"/careless/{EMAIL}?id={s.rid}",
                               {"X-Forwarded-For": FORWARDED_V6, "Accept": "text/html"})
    # The error page: a reason, no stack trace, nothing of the request.
    assert status == 500 and "Something went wrong on our side" in page
    for leak in ("Traceback", "RuntimeError", "privacy_wsgi", EMAIL, s.rid):
        assert leak not in page
    assert _request(port, "GET", f"/careless/{s.rid}?email={EMAIL}",
                    {"X-Forwarded-For": FORWARDED_V4})[0] == 500
    _raw(port, f"GET /incidents/{s.rid} HTTP/1.1 {EMAIL}\r\nHost: x\r\n\r\n".encode())
    cookies = {}
    for scheme in ("http", "https"):
        _, headers, _ = _request(port, "GET", "/login", {"X-Forwarded-Proto": scheme})
        cookies[scheme] = headers.get("set-cookie", "")
    return cookies


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("kind", ["gunicorn", "flask-run"])
def test_server_logs_hold_no_address_id_or_token(kind: str, database: str,
                                                 tmp_path: Path) -> None:
    s = Secrets(str(uuid.uuid4()), secrets.token_urlsafe(32))
    proc, port = _serve(kind, database, tmp_path / "stderr.log", privacy=True)
    try:
        cookies = _exercise(port, s)
    finally:
        _stop(proc)
    log = (tmp_path / "stderr.log").read_text(errors="replace")
    assert [secret for secret in s.all() if secret in log] == [], log
    # The lines are there, scrubbed: the careless call and the unhandled error ...
    assert "careless: [email] from [ip] asked /careless/[email]?<query>" in log, log
    assert "careless: <id> from [ip] asked /careless/<id>?<query>" in log, log
    assert "unhandled RuntimeError at privacy_wsgi.py:" in log, log
    # ... the malformed request ...
    if kind == "gunicorn":
        assert "Invalid request from ip=[ip]" in log, log
    else:
        assert "[ip] - - [" in log and "Bad request version ('[email]')" in log, log
    # ... but no line per request: no access log.
    assert "GET /login" not in log and '"GET ' not in log, log
    # The session cookie: HttpOnly and SameSite=Strict, and Secure when the request came
    # over HTTPS through the proxy (X-Forwarded-Proto with PROXY_COUNT=1), although
    # SESSION_COOKIE_SECURE=0 here.
    for scheme, cookie in cookies.items():
        assert cookie.startswith("collateral_session="), cookie
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert ("Secure" in cookie.split("; ")) == (scheme == "https"), (scheme, cookie)


@pytest.mark.parametrize("kind", ["gunicorn", "flask-run"])
def test_with_log_privacy_off_the_same_run_shows_them(kind: str, database: str,
                                                      tmp_path: Path) -> None:
    s = Secrets(str(uuid.uuid4()), secrets.token_urlsafe(32))
    proc, port = _serve(kind, database, tmp_path / "stderr.log", privacy=False)
    try:
        _exercise(port, s)
    finally:
        _stop(proc)
    log = (tmp_path / "stderr.log").read_text(errors="replace")
    for secret in (EMAIL, s.rid, FORWARDED_V6):
        assert secret in log, (secret, log)
    if kind == "flask-run":
        assert f"GET /register/{s.token}" in log and CLIENT in log
