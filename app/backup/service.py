"""Create, check and restore backups of the configured database (SQLite or PostgreSQL)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from flask import current_app
from flask_migrate import upgrade

from app.extensions import db, migrate
from app.models import LoginSession, utcnow

from . import postgres, sqlite
from .manifest import TRANSIENT, BackupError, Manifest, private_file, read, sha256_of, write

EXTENSIONS = {"sqlite": "db", "postgresql": "dump"}


@dataclass
class Inspection:
    """What a backup file holds, after every check passed."""

    path: Path
    backend: str
    revision: str
    counts: dict[str, int]
    manifest: Manifest | None
    current: bool  # its schema revision is this code's head (else it is older)


def backend() -> str:
    name = db.engine.dialect.name
    if name not in EXTENSIONS:
        raise BackupError(f"backups of {name} databases are not supported")
    return name


def describe_target() -> str:
    url = db.engine.url
    if backend() == "sqlite":
        return f"the SQLite database {_sqlite_path()}"
    return f"the PostgreSQL database {url.database!r} on {url.host or 'the local socket'}"


def _sqlite_path() -> Path:
    name = db.engine.url.database
    if not name or name == ":memory:" or name.startswith("file::memory:"):
        raise BackupError("the configured SQLite database lives in memory; there is no file "
                          "to back up or restore into")
    return Path(name)


def _bindir() -> str | None:
    return current_app.config.get("PG_BIN_DIR") or None


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(migrate.get_config())


def create(target: Path) -> tuple[Path, Manifest]:
    """Snapshot the live database into `target` (or a dated file inside it when it is a
    folder), mode 0600, with its manifest beside it."""
    kind = backend()
    started = datetime.now(UTC).replace(microsecond=0)
    if target.is_dir():
        target = target / f"collateral-{started:%Y%m%dT%H%M%SZ}.{EXTENSIONS[kind]}"
    if target.exists():
        raise BackupError(f"{target} already exists; choose a new name (backups never "
                          "overwrite one another)")
    if not target.parent.is_dir():
        raise BackupError(f"there is no folder {target.parent}")
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)  # left by a crash
    private_file(partial)
    try:
        if kind == "sqlite":
            sqlite.snapshot(_sqlite_path(), partial)
            revision, counts = sqlite.revision_and_counts(partial)
            tool = sqlite.tool()
        else:
            found, counts, tool = postgres.snapshot(db.engine, partial, _bindir())
            revision = found
        if revision is None:
            raise BackupError("the database has no Collateral schema (no alembic_version "
                              "table): there is nothing to back up.")
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    manifest = Manifest(backend=kind, revision=revision, created_at=started.isoformat(),
                        tables=counts, sha256=sha256_of(target), size=target.stat().st_size,
                        file=target.name, tool=tool)
    write(manifest, target)
    _sync_folder(target.parent)
    return target, manifest


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def kind_of(path: Path) -> str:
    """"sqlite" or "postgresql", from the file's first bytes."""
    if not path.is_file():
        raise BackupError(f"there is no backup file at {path}")
    if sqlite.looks_like(path):
        return "sqlite"
    if postgres.looks_like(path):
        return "postgresql"
    raise BackupError(f"{path.name} is not a Collateral backup: it is neither an SQLite "
                      "database nor a pg_dump custom-format archive.")


def require_restorable_here(path: Path) -> None:
    """A backup restores only into the same kind of database."""
    kind, here = kind_of(path), backend()
    if kind != here:
        names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
        raise BackupError(f"{path.name} is a {names[kind]} backup but the configured "
                          f"database is {names[here]}; restore it into a {names[kind]} "
                          "database (point DATABASE_URL at one).")


def inspect(path: Path) -> Inspection:
    """Every check short of restoring: the manifest's checksum and counts, the file's kind and
    integrity (SQLite's integrity check, or pg_restore reading the archive to its end), and a
    schema revision this code knows."""
    if not path.is_file():
        raise BackupError(f"there is no backup file at {path}")
    manifest = read(path)
    if manifest is not None and sha256_of(path) != manifest.sha256:
        raise BackupError(f"{path.name} does not match the checksum in its manifest: the "
                          "copy is incomplete, damaged or altered. Use another backup.")
    kind = kind_of(path)
    if kind == "sqlite":
        sqlite.check(path)
        revision, counts = sqlite.revision_and_counts(path)
    else:
        revision, counts = postgres.revision_and_counts(path, _bindir())
    if revision is None:
        raise BackupError(f"{path.name} is not a Collateral backup: it has no schema "
                          "revision (alembic_version).")
    scripts = _scripts()
    try:
        known = scripts.get_revision(revision) is not None
    except CommandError:
        known = False
    if not known:
        raise BackupError(f"{path.name} comes from a newer version of Collateral (schema "
                          f"revision {revision} is unknown to this one) or from another "
                          "application. Upgrade Collateral first, then restore.")
    if manifest is not None:
        if manifest.backend != kind or manifest.revision != revision:
            raise BackupError(f"{path.name} does not match its manifest (backend or schema "
                              "revision differ).")
        differ = sorted(t for t, n in manifest.tables.items() if counts.get(t) != n)
        if differ:
            raise BackupError(f"{path.name} does not hold the rows its manifest lists "
                              f"(tables: {', '.join(differ)}).")
    return Inspection(path, kind, revision, counts, manifest,
                      current=revision == scripts.get_current_head())


def restore(path: Path) -> Inspection:
    """Replace every record of the configured database with the backup's (one transaction),
    bring an older backup's schema up to date, and end every login session."""
    require_restorable_here(path)
    found = inspect(path)
    kind = found.backend
    db.session.remove()
    if kind == "sqlite":
        target = _sqlite_path()
        db.engine.dispose()
        sqlite.restore(path, target)
    else:
        postgres.restore(db.engine, path, _bindir())
    db.engine.dispose()
    if not found.current:
        upgrade()
    # Our backups hold no login sessions, but a copy made another way (sqlite3 .backup, a
    # plain pg_dump) may: none of them may come back to life.
    db.session.execute(sa.update(LoginSession).where(LoginSession.ended_at.is_(None)).values(
        ended_at=utcnow(), ended_reason="restore", session_key=None))
    db.session.commit()
    return found


__all__ = ["TRANSIENT", "BackupError", "Inspection", "create", "inspect", "restore"]
