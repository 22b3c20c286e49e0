"""PostgreSQL: `pg_dump --format=custom` of an exported snapshot; restore through psql in one
transaction.

The snapshot: a REPEATABLE READ transaction exports its snapshot, counts the rows of every
table in it, and pg_dump dumps exactly that snapshot (`--snapshot`), so the manifest's counts
match the archive. pg_dump takes only ACCESS SHARE locks: the app reads and writes on.

The restore: `pg_restore --clean --if-exists --no-owner --no-privileges` writes the archive as
SQL, which psql runs inside one transaction that first drops every table of the schema (also
tables a newer schema added, which the archive does not know) and commits only when pg_restore
finished without error. A failed restore leaves the database as it was; the app's requests wait
for the restore's locks and then see the restored data.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .manifest import TRANSIENT, BackupError

MAGIC = b"PGDMP"
# Where distributions install the client programs of each major version.
SEARCH = ("/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/usr/local/pgsql/bin",
          "/opt/homebrew/opt/postgresql@*/bin", "/usr/local/opt/postgresql@*/bin")
LOCK_TIMEOUT = "60s"
VERSION = re.compile(rb"\(PostgreSQL\)\s+(\d+)")


def looks_like(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(MAGIC)) == MAGIC


def _major(program: Path) -> int | None:
    try:
        out = subprocess.run([str(program), "--version"], capture_output=True, timeout=20,  # noqa: S603
                             check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = VERSION.search(out)
    return int(found.group(1)) if found else None


def find_tool(name: str, at_least: int, bindir: str | None = None) -> tuple[Path, int]:
    """The newest `name` (pg_dump, pg_restore, psql) installed: in `bindir` when given, else in
    the versioned folders of SEARCH, else on PATH. It must be at least major `at_least`."""
    if bindir:
        candidates = [Path(bindir) / name]
    else:
        candidates = [Path(d) / name for pattern in SEARCH for d in sorted(glob.glob(pattern))]
        on_path = shutil.which(name)
        if on_path:
            candidates.append(Path(on_path))
    found: list[tuple[int, int, Path]] = []
    for index, candidate in enumerate(candidates):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            major = _major(candidate)
            if major is not None:
                found.append((major, -index, candidate))
    where = bindir or "on PATH or in /usr/lib/postgresql/*/bin"
    if not found:
        raise BackupError(f"{name} was not found {where}. Install the PostgreSQL client "
                          f"programs (Debian: postgresql-client-{at_least or 'N'}) or set "
                          "PG_BIN_DIR to the folder that holds them.")
    major, _, best = max(found)
    if major < at_least:
        raise BackupError(f"{name} {major} ({best}) is older than the PostgreSQL server "
                          f"({at_least}) and cannot read its databases or archives. Install "
                          f"postgresql-client-{at_least} or set PG_BIN_DIR.")
    return best, major


def _tool_beside(first: Path, name: str, at_least: int, bindir: str | None) -> Path:
    sibling = first.parent / name
    if sibling.is_file() and os.access(sibling, os.X_OK):
        return sibling
    return find_tool(name, at_least, bindir)[0]


def _libpq(engine: Engine) -> tuple[str, dict[str, str]]:
    """A libpq connection string for the configured database, and the environment with the
    password (never on a command line, where `ps` shows it)."""
    url = engine.url
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    conninfo = url.set(drivername="postgresql", password=None).render_as_string(
        hide_password=False)
    return conninfo, env


def server_major(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(sa.text("SHOW server_version_num")) or 0) // 10000


def _tables(conn: sa.Connection) -> list[str]:
    return list(conn.scalars(sa.text(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
        "ORDER BY tablename")))


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def snapshot(engine: Engine, target: Path, bindir: str | None) -> tuple[str, dict[str, int], str]:
    """Dump the configured database into `target`; (revision, rows per table, tool)."""
    pg_dump, major = find_tool("pg_dump", server_major(engine), bindir)
    conninfo, env = _libpq(engine)
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, \
            conn.begin():
        snap = conn.scalar(sa.text("SELECT pg_export_snapshot()"))
        if conn.scalar(sa.text("SELECT to_regclass('alembic_version')")) is None:
            raise BackupError("the database has no Collateral schema (no alembic_version "
                              "table): there is nothing to back up.")
        revision = str(conn.scalar(sa.text("SELECT version_num FROM alembic_version")))
        schema = str(conn.scalar(sa.text("SELECT current_schema()")))
        counts = {name: 0 if name in TRANSIENT else int(conn.scalar(sa.text(
            f"SELECT count(*) FROM {_quote(name)}")) or 0)  # noqa: S608  # nosec B608 - quoted names from the catalog
            for name in _tables(conn)}
        leave_out = [f"--exclude-table-data={_quote(schema)}.{_quote(name)}"
                     for name in TRANSIENT]
        with tempfile.TemporaryFile() as errors:
            proc = subprocess.Popen(  # noqa: S603
                [str(pg_dump), "--format=custom", f"--snapshot={snap}", f"--file={target}",
                 *leave_out, f"--dbname={conninfo}"],
                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors)
            if proc.wait() != 0:
                raise BackupError(f"pg_dump failed: {_tail(errors)}")
    _list(target, bindir)  # the archive reads back
    return revision, counts, f"pg_dump {major}"


def _tail(handle: IO[bytes], limit: int = 2000) -> str:
    handle.seek(0)
    text = handle.read().decode(errors="replace").strip()
    return text[-limit:] or "(no message)"


def _list(archive: Path, bindir: str | None) -> str:
    pg_restore, _ = find_tool("pg_restore", 0, bindir)
    result = subprocess.run([str(pg_restore), "--list", str(archive)],  # noqa: S603
                            capture_output=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{archive.name} is not a readable pg_dump archive: "
                          f"{result.stderr.decode(errors='replace').strip()[-500:]}")
    return result.stdout.decode(errors="replace")


def _copy_blocks(archive: Path, bindir: str | None) -> Iterator[tuple[str, int, bytes]]:
    """(table, rows, first row) for every table's data in the archive; every row is read, so
    this also proves the archive decompresses to its end."""
    pg_restore, _ = find_tool("pg_restore", 0, bindir)
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen([str(pg_restore), "--data-only", "--file=-", str(archive)],  # noqa: S603
                                stdout=subprocess.PIPE, stderr=errors)
        assert proc.stdout is not None
        table: str | None = None
        count, first = 0, b""
        for line in proc.stdout:
            if table is None:
                if line.startswith(b"COPY "):
                    name = line[5:].split(b" (", 1)[0].split(b" FROM", 1)[0]
                    table = name.decode().rsplit(".", 1)[-1].strip('"')
                    count, first = 0, b""
            elif line.rstrip(b"\n") == b"\\.":
                yield table, count, first
                table = None
            else:
                count += 1
                if count == 1:
                    first = line.rstrip(b"\n")
        if proc.wait() != 0:
            raise BackupError(f"{archive.name} cannot be read to its end: {_tail(errors)}")


def revision_and_counts(archive: Path, bindir: str | None) -> tuple[str | None, dict[str, int]]:
    """The Alembic revision in the archive (None when it has none) and rows per table."""
    toc = _list(archive, bindir)
    if not re.search(r"\bTABLE DATA \S+ alembic_version\b", toc):
        return None, {}
    revision = None
    # Tables whose data was left out (TRANSIENT) come back empty.
    counts = dict.fromkeys(re.findall(r"; \d+ \d+ TABLE \S+ (\S+) ", toc), 0)
    for table, count, first in _copy_blocks(archive, bindir):
        counts[table] = count
        if table == "alembic_version" and count:
            revision = first.decode()
    return revision, counts


def restore(engine: Engine, archive: Path, bindir: str | None) -> None:
    """Replace the configured database's tables with the archive's, in one transaction."""
    at_least = server_major(engine)
    pg_restore, _ = find_tool("pg_restore", at_least, bindir)
    psql = _tool_beside(pg_restore, "psql", at_least, bindir)
    conninfo, env = _libpq(engine)
    with engine.connect() as conn:
        schema = str(conn.scalar(sa.text("SELECT current_schema()")))
        names = _tables(conn)
    engine.dispose()  # this process holds no connection (and no lock) during the restore
    prelude = ["BEGIN;", f"SET lock_timeout = '{LOCK_TIMEOUT}';"]
    if names:
        prelude.append("DROP TABLE IF EXISTS " + ", ".join(
            f"{_quote(schema)}.{_quote(n)}" for n in names) + " CASCADE;")
    with tempfile.TemporaryFile() as dump_errors, tempfile.TemporaryFile() as sql_errors:
        reader = subprocess.Popen(  # noqa: S603
            [str(pg_restore), "--clean", "--if-exists", "--no-owner", "--no-privileges",
             "--file=-", str(archive)], stdout=subprocess.PIPE, stderr=dump_errors)
        writer = subprocess.Popen(  # noqa: S603
            [str(psql), "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1", "--file=-",
             f"--dbname={conninfo}"],
            env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=sql_errors)
        assert reader.stdout is not None and writer.stdin is not None
        try:
            writer.stdin.write("\n".join(prelude).encode() + b"\n")
            shutil.copyfileobj(reader.stdout, writer.stdin, 1 << 20)
            # Commit only what pg_restore produced in full; otherwise psql ends the
            # transaction unfinished and the server rolls it back.
            if reader.wait() == 0:
                writer.stdin.write(b"\nCOMMIT;\n")
            writer.stdin.close()
        except BrokenPipeError:  # psql stopped at an error; its message says which
            reader.kill()
        finally:
            with contextlib.suppress(BrokenPipeError):
                writer.stdin.close()
        reader.wait()
        writer.wait()
        if reader.returncode != 0:
            raise BackupError(f"pg_restore could not read {archive.name}: "
                              f"{_tail(dump_errors)}. The database is unchanged.")
        if writer.returncode != 0:
            message = _tail(sql_errors)
            if "lock timeout" in message:
                message += (f" (a connection held a table for over {LOCK_TIMEOUT}: "
                            "a long request or an open transaction; try again)")
            raise BackupError(f"the restore failed and was rolled back; the database is "
                              f"unchanged. psql said: {message}")
