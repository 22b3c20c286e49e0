"""Oversized request bodies are refused with 413 and a reason: from the Content-Length before
a byte of the body is read, and, for a chunked body without Content-Length, as soon as it
grows past MAX_CONTENT_LENGTH. Checked with the test client and with real servers (Werkzeug's
and gunicorn) on 127.0.0.1 over a raw socket."""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.conftest import LiveServer, fresh_database, make_app, migrate_to_head
from tests.test_throttle_gunicorn import Gunicorn

LIMIT = 64 * 1024  # small, so the chunked tests stay small


class Untouchable(io.RawIOBase):
    """A request body that fails the request if anything reads it."""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, _offset: int, _whence: int = 0) -> int:
        return 0

    def readinto(self, _buffer: Any) -> int:
        raise AssertionError("the body was read")


@pytest.mark.parametrize("method,path,content_type", [
    ("POST", "/auth/prelogin", "application/json"),
    ("POST", "/api/v1/incidents", "application/json"),
    ("POST", "/incidents/new", "multipart/form-data; boundary=x"),
    ("POST", "/org/invites", "application/x-www-form-urlencoded"),
    ("PUT", f"/api/v1/incidents/{'0' * 8}-0000-0000-0000-{'0' * 12}", "application/json"),
    ("GET", "/", "text/plain"),
])
def test_a_declared_size_over_the_limit_is_refused_unread(app: Flask, method: str, path: str,
                                                          content_type: str) -> None:
    client = app.test_client()
    size = str(app.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.open(path, method=method, input_stream=Untouchable(),
                           content_type=content_type, environ_overrides={"CONTENT_LENGTH": size})
    assert response.status_code == 413
    body = response.get_data(as_text=True)
    assert "too large" in body and "at most 64 MiB" in body
    if path.startswith("/api/") or content_type == "application/json":
        assert response.json and "too large" in response.json["error"]


def test_a_body_at_the_limit_is_not_refused_for_its_size(app: Flask) -> None:
    client = app.test_client()
    client.get("/")
    response = client.post("/auth/prelogin", data=b" " * (LIMIT - 20) + b'{"email": "a@b.cd"}',
                           content_type="application/json")
    assert response.status_code != 413


def test_a_chunked_body_is_cut_off_at_the_limit(app: Flask) -> None:
    app.config["MAX_CONTENT_LENGTH"] = LIMIT
    response = app.test_client().post(
        "/org/invites", input_stream=io.BytesIO(b"email=" + b"x" * (2 * LIMIT)),
        content_type="application/x-www-form-urlencoded",
        environ_overrides={"wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"})
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)


def test_a_chunked_body_within_the_limit_arrives_whole(app: Flask) -> None:
    app.config["MAX_CONTENT_LENGTH"] = LIMIT
    client = app.test_client()
    token = client.get("/").get_data(as_text=True).split('name="csrf-token" content="')[1]
    body = b'{"email": "someone@example.org"}' + b" " * (LIMIT - 32)
    assert len(body) == LIMIT
    response = client.post(
        "/auth/prelogin", input_stream=io.BytesIO(body), content_type="application/json",
        headers={"X-CSRFToken": token.split('"')[0]},
        environ_overrides={"wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json and response.json["salt"]


# Real servers: the answer must arrive while the client is still holding back (or sending)
# the body.

def _status_line(sock: socket.socket) -> str:
    sock.settimeout(10)
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n", 1)[0].decode()


def _headers(host: str, lines: list[str]) -> bytes:
    return ("\r\n".join([f"Host: {host}", *lines, "Connection: close"]) + "\r\n\r\n").encode()


def declared_huge(port: int) -> str:
    """Claim a 10 GiB body, send none of it, and wait for the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST /org/invites HTTP/1.1\r\n" + _headers(f"127.0.0.1:{port}", [
            "Content-Type: application/x-www-form-urlencoded", f"Content-Length: {10 * 2**30}"]))
        started = time.monotonic()
        line = _status_line(sock)
        assert time.monotonic() - started < 5
        return line


def chunked_over(port: int, limit: int) -> str:
    """Send a chunked body twice the limit from a thread; read the answer meanwhile."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(b"POST /org/invites HTTP/1.1\r\n" + _headers(f"127.0.0.1:{port}", [
        "Content-Type: application/x-www-form-urlencoded", "Transfer-Encoding: chunked"]))

    def send() -> None:
        chunk = b"x" * 8192
        try:
            sock.sendall(b"%x\r\nemail=\r\n" % 6)
            for _ in range(2 * limit // len(chunk)):
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed before the end: what we want

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        return _status_line(sock)
    finally:
        sender.join(timeout=10)
        sock.close()


@pytest.fixture(scope="module")
def small_limit_url() -> Iterator[str]:
    with fresh_database("limits") as url:
        migrate_to_head(url)
        yield url


def test_werkzeug_server_refuses_before_the_body(small_limit_url: str) -> None:
    app = make_app(small_limit_url, MAX_CONTENT_LENGTH=LIMIT)
    with LiveServer(app) as server:
        port = server.server.server_port
        assert declared_huge(port).endswith(" 413 REQUEST ENTITY TOO LARGE")
        assert chunked_over(port, LIMIT).endswith(" 413 REQUEST ENTITY TOO LARGE")


def test_gunicorn_refuses_before_the_body(small_limit_url: str, tmp_path: Path) -> None:
    server = Gunicorn(small_limit_url, tmp_path / "access.log")
    server.env["MAX_CONTENT_MIB"] = "1"
    server.start()
    try:
        assert " 413 " in declared_huge(server.port)
        assert " 413 " in chunked_over(server.port, 2**20)
    finally:
        server.stop()
