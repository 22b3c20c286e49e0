"""SQLite: the snapshot is VACUUM INTO a new file; a restore is the backup API into the live file.

VACUUM INTO reads the database in one read transaction, so the copy is a consistent snapshot
while the app goes on writing (WAL mode lets one writer work beside readers). It writes only
live rows: pages freed by deleted records are not carried into the backup, which a page-by-page
copy (the backup API) would do.

A restore copies the backup's pages into the configured database file with the backup API, in
one write transaction: other connections (a running app) wait for it (busy_timeout) and then
see the restored database; nobody sees half of it. So a restore need not stop the app.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path

from .manifest import TRANSIENT, BackupError

MAGIC = b"SQLite format 3\x00"
BUSY_MS = 30_000


def tool() -> str:
    return f"sqlite {sqlite3.sqlite_version}"


def _connect(path: Path, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                               isolation_level=None)
    else:
        conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout={BUSY_MS}")
    return conn


def snapshot(source: Path, target: Path) -> None:
    """Copy the live database at `source` into `target` (an existing empty file)."""
    if not source.is_file():
        raise BackupError(f"there is no database at {source}")
    with closing(_connect(source)) as conn:
        try:
            conn.execute("VACUUM INTO ?", (str(target),))
        except sqlite3.Error as exc:
            raise BackupError(f"SQLite could not copy the database: {exc}") from exc
    with closing(_connect(target)) as copy:
        # A single self-contained file: no -wal beside it.
        copy.execute("PRAGMA journal_mode=DELETE")
        # Login sessions (with their session keys) and login failures stay out of backups;
        # secure_delete overwrites their bytes with zeros, so no trace is left in the file.
        copy.execute("PRAGMA secure_delete=ON")
        present = {row[0] for row in copy.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        for table in TRANSIENT:
            if table in present:
                copy.execute(f'DELETE FROM "{table}"')  # noqa: S608  # nosec B608 - fixed names
    check(target)
    with target.open("rb+") as handle:
        os.fsync(handle.fileno())


def looks_like(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(MAGIC)) == MAGIC


def check(path: Path) -> None:
    """SQLite's own integrity check of a copy."""
    try:
        with closing(_connect(path, readonly=True)) as conn:
            result = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    except sqlite3.Error as exc:
        raise BackupError(f"{path.name} is not a readable SQLite database ({exc}).") from exc
    if result != ["ok"]:
        raise BackupError(f"{path.name} is damaged: " + "; ".join(result[:5]))


def revision_and_counts(path: Path) -> tuple[str | None, dict[str, int]]:
    """The Alembic revision (None when there is no alembic_version) and rows per table."""
    try:
        with closing(_connect(path, readonly=True)) as conn:
            names = [row[0] for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
            counts = {name: int(conn.execute(
                f'SELECT count(*) FROM "{name}"').fetchone()[0])  # noqa: S608  # nosec B608 - catalog names
                for name in names}
            revision = None
            if "alembic_version" in names:
                row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
                revision = row[0] if row else None
    except sqlite3.Error as exc:
        raise BackupError(f"{path.name} is not a readable SQLite database ({exc}).") from exc
    return revision, counts


def restore(backup: Path, live: Path) -> None:
    """Replace the database at `live` with the backup, in one transaction."""
    if not live.exists():
        live.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(live, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
    with closing(_connect(backup, readonly=True)) as src, closing(_connect(live)) as dst:
        mode = dst.execute("PRAGMA journal_mode").fetchone()[0]
        ours, theirs = (c.execute("PRAGMA page_size").fetchone()[0] for c in (dst, src))
        if mode == "wal" and ours != theirs:
            # The backup API cannot change the page size of a database in WAL mode.
            raise BackupError(f"the backup's page size ({theirs}) differs from the database's "
                              f"({ours}); stop the app, move {live.name} and its -wal and -shm "
                              "files aside, and restore again. The database is unchanged.")
        try:
            src.backup(dst)
        except sqlite3.Error as exc:
            raise BackupError(f"SQLite could not restore into {live}: {exc}. The database "
                              "is unchanged.") from exc
        result = [row[0] for row in dst.execute("PRAGMA quick_check")]
    if result != ["ok"]:
        raise BackupError(f"the restored database fails SQLite's check: {result[:5]}")
