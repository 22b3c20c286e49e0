"""Migrations have one head, and upgrading an empty database gives exactly the models' schema."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade

from app.extensions import db
from tests.conftest import backend, fresh_database, make_app


def test_one_head() -> None:
    app = make_app("sqlite://")
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def _diff(url: str) -> list[object]:
    app = make_app(url)
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
        db.engine.dispose()
    return list(diff)


def test_upgrade_from_empty_matches_models() -> None:
    with fresh_database("migrations") as url:
        app = make_app(url)
        with app.app_context():
            upgrade()
            assert db.engine.dialect.name == backend()
            tables = set(db.inspect(db.engine).get_table_names())
            db.engine.dispose()
        assert set(db.metadata.tables) <= tables
        assert _diff(url) == []


def test_downgrade_to_empty_and_back() -> None:
    with fresh_database("roundtrip") as url:
        app = make_app(url)
        with app.app_context():
            upgrade()
            downgrade(revision="base")
            remaining = set(db.inspect(db.engine).get_table_names()) - {"alembic_version"}
            assert remaining == set()
            upgrade()
            db.engine.dispose()
        assert _diff(url) == []


@pytest.mark.skipif(backend() != "sqlite", reason="SQLite pragmas; this run uses PostgreSQL")
def test_sqlite_runs_in_wal_mode_with_foreign_keys() -> None:
    with fresh_database("pragmas") as url:
        app = make_app(url)
        with app.app_context(), db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            db.engine.dispose()
