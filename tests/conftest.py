"""Fixtures: an app over a migrated database (SQLite, or PostgreSQL when DATABASE_URL says so),
a test client, a CLI runner, and a live server on 127.0.0.1 for the browser tests."""

from __future__ import annotations

import os
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from flask_migrate import upgrade
from werkzeug.serving import make_server

from app import create_app
from app.extensions import db
from config import TestConfig, database_url
from tests.actors import Browser
from tests.people import joined, make_coordinator
from tests.world import World, build, sqlite_savepoints


def backend() -> str:
    """'postgresql' when the suite runs against PostgreSQL (CI's second run), else 'sqlite'."""
    return "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"


@contextmanager
def fresh_database(label: str) -> Iterator[str]:
    """An empty database of its own: a temp SQLite file, or a new PostgreSQL database."""
    if backend() == "sqlite":
        with tempfile.TemporaryDirectory(prefix=f"collateral-{label}-") as tmp:
            yield f"sqlite:///{Path(tmp) / 'test.db'}"
        return
    server = sa.make_url(database_url(os.environ["DATABASE_URL"]))
    name = f"collateral_{label}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def make_app(url: str, **overrides: object) -> Flask:
    return create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, **overrides)


def migrate_to_head(url: str) -> None:
    app = make_app(url)
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def migrated_url() -> Iterator[str]:
    """One migrated database for the session's unit tests; each test empties it afterwards."""
    with fresh_database("unit") as url:
        migrate_to_head(url)
        yield url


def _empty_all_tables() -> None:
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def app(migrated_url: str) -> Iterator[Flask]:
    app = make_app(migrated_url)
    with app.app_context():
        yield app
        db.session.remove()
        _empty_all_tables()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def new_browser(app: Flask) -> Callable[[str], Browser]:
    """A fresh Python-played browser for an e-mail address."""
    return lambda email: Browser(app.test_client(), email)


@pytest.fixture
def coordinator(runner: FlaskCliRunner, new_browser: Callable[[str], Browser]) -> Browser:
    """The first coordinator of "Red Umbrella", registered (with the org keys) and logged in."""
    return make_coordinator(runner, new_browser)


@pytest.fixture(scope="session")
def world() -> Iterator[tuple[Flask, World]]:
    """Two organisations with every kind of object a URL can name (tests/world.py), built once
    per run on a database of its own. Tests push `app.app_context()` and send requests inside
    `world.rolled_back()`, so they leave it as they found it."""
    with fresh_database("world") as url:
        migrate_to_head(url)
        app = make_app(url)
        with app.app_context():
            if backend() == "sqlite":
                sqlite_savepoints(db.engine)
            built = build(app)
        yield app, built
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def outreach(coordinator: Browser, new_browser: Callable[[str], Browser]) -> Browser:
    """An outreach worker of "Red Umbrella", confirmed (holding the org key) and logged in."""
    worker = joined(coordinator, new_browser, "out@example.org", "outreach")
    assert coordinator.confirm(worker.user_id).status_code == 200
    assert worker.login().status_code == 200
    return worker


def dump_tables() -> bytes:
    """Every row of every table as bytes (blobs as they are): what a seized database shows."""
    dump = bytearray()
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(sa.select(table)):
            for value in row:
                dump += value if isinstance(value, bytes) else repr(value).encode()
                dump += b"\n"
    return bytes(dump)


class LiveServer:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


@pytest.fixture(scope="session")
def live_app() -> Iterator[Flask]:
    with fresh_database("live") as url:
        migrate_to_head(url)
        app = make_app(url)
        yield app
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(live_app: Flask) -> Iterator[str]:
    """Base URL of the app served on 127.0.0.1 (a secure context, so WebCrypto works)."""
    with LiveServer(live_app) as server:
        yield server.url
