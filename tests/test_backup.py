"""`flask backup`: a round trip keeps every incident and attachment byte-identical and
openable; the snapshot is online; the backup holds ciphertext only; bad files are refused.

Each test has a database of its own (SQLite file, or PostgreSQL in CI's second run)."""

from __future__ import annotations

import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate import downgrade

from app import audit
from app.backup import postgres, service
from app.backup.manifest import BackupError, manifest_path
from app.extensions import db, migrate
from app.models import AuditEvent, Incident, LoginSession, Organisation
from tests.backup_site import Site, make_site, readable_content, table_rows
from tests.conftest import backend, fresh_database, make_app, migrate_to_head

SUFFIX = ".db" if backend() == "sqlite" else ".dump"


@pytest.fixture
def site() -> Iterator[Site]:
    with fresh_database("backup") as url:
        migrate_to_head(url)
        app = make_app(url)
        with app.app_context():
            yield make_site(app)
            db.session.remove()
            db.engine.dispose()


def _cli(app: Flask, *args: str, code: int = 0, **kw: object) -> str:
    result = app.test_cli_runner().invoke(args=["backup", *args], **kw)
    assert result.exit_code == code, result.output
    return result.output


def _count(model: type) -> int:
    found = db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0
    db.session.rollback()
    return found


def test_round_trip_restores_every_incident_identical_and_openable(site: Site,
                                                                   tmp_path: Path) -> None:
    before = table_rows()
    assert len(before["incident"]) == 3 and len(before["attachment"]) == 2
    session_keys = [key for key in db.session.scalars(sa.select(LoginSession.session_key))
                    if key is not None]
    db.session.rollback()
    assert session_keys
    target = tmp_path / f"nightly{SUFFIX}"
    out = _cli(site.app, "create", str(target))
    assert "3 incident, 2 attachment" in out
    # Readable by the app's user only, the manifest too.
    for path in (target, manifest_path(target)):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    # The backup holds the sealed fields and files only as ciphertext ...
    content = readable_content(target)
    file_markers = [data.split(b"\n", 1)[0].split()[1] for _, data in site.files.values()]
    assert all(m.startswith(b"FILEMARK") for m in file_markers)
    for sealed in [*(m.encode() for m in site.markers.values()), *file_markers]:
        assert sealed not in content, sealed
    # No login session's key either (they would unwrap a logged-in browser's stored key).
    for key in session_keys:
        assert key.encode() not in content
    # ... while what the database holds in clear is there (so the check above can fail).
    assert site.coord.email.encode() in content
    some_ciphertext = before["attachment"][0]
    blob = next(v for v in some_ciphertext if isinstance(v, bytes) and len(v) > 1000)[:64]
    assert blob in content or blob.hex().encode() in content
    assert "OK:" in _cli(site.app, "verify", str(target))

    # Damage: delete an incident, add another, drop the attachments, rename the organisation.
    gone = next(iter(site.markers))
    assert site.coord.client.delete(f"/api/v1/incidents/{gone}", headers={
        "X-CSRFToken": site.coord.csrf}).status_code == 200
    site.add_incident("AFTERTHEBACKUP")
    db.session.execute(sa.text("DELETE FROM attachment"))
    db.session.execute(sa.update(Organisation).values(name="Renamed"))
    db.session.commit()
    assert table_rows() != before

    out = _cli(site.app, "restore", str(target), input="y\n")
    assert "Replace every record in" in out and "Restored into" in out
    assert table_rows() == before
    # Every login ended: the coordinator's old cookie no longer opens anything.
    assert site.coord.client.get("/auth/keyring").status_code == 401
    assert _count(LoginSession) == 0
    # Logging in again, every incident and file opens to what was sealed.
    assert site.coord.login().status_code == 200
    for rid, marker in site.markers.items():
        if marker == "AFTERTHEBACKUP":
            assert site.coord.client.get(f"/api/v1/incidents/{rid}").status_code == 404
            continue
        opened = site.opened(rid)
        assert opened["narrative"].endswith(marker) and opened["place"].endswith(marker)
    for att_id, (_, data) in site.files.items():
        assert site.attachment(att_id) == data


def test_snapshot_does_not_wait_for_an_open_write_and_leaves_it_out(site: Site,
                                                                   tmp_path: Path) -> None:
    """The app holds an uncommitted write on its own connection for the whole snapshot: the
    snapshot neither waits for it (it would time out with "database is locked") nor contains
    it, and the write commits afterwards."""
    db.session.execute(sa.update(Organisation).values(name="Changed in an open transaction"))
    path, _ = service.create(tmp_path / f"b{SUFFIX}")
    db.session.commit()
    assert db.session.scalar(sa.select(Organisation.name)) == "Changed in an open transaction"
    service.restore(path)
    assert db.session.scalar(sa.select(Organisation.name)) == "Red Umbrella"


def test_snapshots_taken_while_the_app_writes_are_consistent(site: Site,
                                                             tmp_path: Path) -> None:
    """A writer commits numbered events one by one while backups are taken. No write fails,
    some commits fall inside a backup's run, and a backup restores to an unbroken prefix of
    the numbers (a consistent snapshot, not a torn one)."""
    app = site.app
    stop = threading.Event()
    commits: list[float] = []
    failures: list[BaseException] = []

    def writer() -> None:
        with app.app_context():
            try:
                number = 0
                while not stop.is_set() and number < 20_000:
                    audit.record("tick", n=number)  # chained at commit, like every event
                    db.session.commit()
                    commits.append(time.monotonic())
                    number += 1
            except BaseException as exc:  # reported below
                failures.append(exc)
            finally:
                db.session.remove()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while not commits and thread.is_alive():
            time.sleep(0.01)
        for attempt in range(10):
            began = time.monotonic()
            path, _ = service.create(tmp_path / f"busy{attempt}{SUFFIX}")
            ended = time.monotonic()
            if any(began <= at <= ended for at in list(commits)):
                break
        else:
            pytest.fail("no commit fell inside any of ten backups")
    finally:
        stop.set()
        thread.join(timeout=60)
    assert failures == []
    assert service.inspect(path).counts["audit_event"] >= 1
    service.restore(path)
    ticks = sorted(e.details["n"] for e in db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "tick")))
    assert ticks == list(range(len(ticks))) and 0 < len(ticks) < len(commits)


def test_a_damaged_foreign_or_incomplete_file_is_refused_and_nothing_changes(
        site: Site, tmp_path: Path) -> None:
    good = tmp_path / f"good{SUFFIX}"
    _cli(site.app, "create", str(good))
    site.add_incident("AFTERTHEBACKUP")
    after = table_rows()

    # Never overwrites a backup.
    assert "already exists" in _cli(site.app, "create", str(good), code=1)
    # Not a backup at all.
    junk = tmp_path / "notes.txt"
    junk.write_text("shopping list\n")
    assert "is not a Collateral backup" in _cli(site.app, "restore", str(junk), "--yes", code=1)
    # One byte changed: the manifest's checksum catches it.
    damaged = tmp_path / f"damaged{SUFFIX}"
    data = bytearray(good.read_bytes())
    data[len(data) // 2] ^= 0x55
    damaged.write_bytes(bytes(data))
    manifest_path(damaged).write_text(manifest_path(good).read_text())
    out = _cli(site.app, "restore", str(damaged), "--yes", code=1)
    assert "does not match the checksum in its manifest" in out
    assert "does not match the checksum" in _cli(site.app, "verify", str(damaged), code=1)
    # Cut short and without a manifest: the file's own check catches it.
    short = tmp_path / f"short{SUFFIX}"
    short.write_bytes(good.read_bytes()[: good.stat().st_size * 2 // 3])
    out = _cli(site.app, "restore", str(short), "--yes", code=1)
    assert "Error:" in out and "Restored" not in out
    # A backup of the other kind of database.
    other = tmp_path / "other"
    other.write_bytes((b"PGDMP" if backend() == "sqlite" else b"SQLite format 3\x00")
                      + bytes(4096))
    out = _cli(site.app, "restore", str(other), code=1)
    assert "backup but the configured database is" in out and "Replace" not in out
    # Refusing the restore prompt changes nothing either.
    assert "Aborted" in _cli(site.app, "restore", str(good), input="n\n", code=1)
    assert table_rows() == after

    # Without its manifest a good backup still restores (with a warning); verify says so.
    bare = tmp_path / f"bare{SUFFIX}"
    bare.write_bytes(good.read_bytes())
    assert "has no manifest" in _cli(site.app, "verify", str(bare), code=1)
    out = _cli(site.app, "restore", str(bare), "--yes")
    assert "Warning: no" in out and "Restored into" in out
    assert _count(Incident) == 3


def _head_and_previous() -> tuple[str, str]:
    scripts = ScriptDirectory.from_config(migrate.get_config())
    head = scripts.get_current_head()
    assert head is not None
    previous = scripts.get_revision(head).down_revision
    assert isinstance(previous, str)
    return head, previous


def test_a_backup_from_a_newer_schema_is_refused(site: Site, tmp_path: Path) -> None:
    db.session.execute(sa.text("UPDATE alembic_version SET version_num = 'f00dfeedbeef'"))
    db.session.commit()
    newer = tmp_path / f"newer{SUFFIX}"
    service.create(newer)
    db.session.execute(sa.text(f"UPDATE alembic_version SET version_num = "
                               f"'{_head_and_previous()[0]}'"))
    db.session.commit()
    before = table_rows()
    out = _cli(site.app, "restore", str(newer), "--yes", code=1)
    assert "comes from a newer version of Collateral" in out and "f00dfeedbeef" in out
    assert table_rows() == before


def test_a_backup_from_an_older_schema_is_restored_and_upgraded(tmp_path: Path) -> None:
    with fresh_database("backup_old") as old_url, fresh_database("backup_new") as new_url:
        migrate_to_head(old_url)
        old = make_app(old_url)
        with old.app_context():
            head, previous = _head_and_previous()
            assert old.test_cli_runner().invoke(
                args=["org", "create", "Old Org", "--coordinator", "a@example.org"]
            ).exit_code == 0
            db.session.remove()
            downgrade(revision=previous)  # the database of the version before this one
            path, manifest = service.create(tmp_path / f"old{SUFFIX}")
            assert manifest.revision == previous
            db.engine.dispose()
        migrate_to_head(new_url)
        new = make_app(new_url)
        with new.app_context():
            out = _cli(new, "restore", str(path), "--yes")
            assert "upgraded to this version's" in out
            assert db.session.scalar(sa.text("SELECT version_num FROM alembic_version")) == head
            assert db.session.scalars(sa.select(Organisation.name)).all() == ["Old Org"]
            db.session.remove()
            db.engine.dispose()


# The PostgreSQL client programs: found off PATH, refused when missing or too old. These run in
# both suites: they need no server, only small stand-in programs.

def _fake(folder: Path, name: str, version: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    program = folder / name
    program.write_text(f"#!/bin/sh\necho '{name} (PostgreSQL) {version}'\n")
    program.chmod(0o755)
    return program


def test_the_newest_pg_dump_is_found_off_path(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    for version in ("13", "17", "15"):
        _fake(tmp_path / "postgresql" / version / "bin", "pg_dump", f"{version}.2")
    monkeypatch.setattr(postgres, "SEARCH", (str(tmp_path / "postgresql" / "*" / "bin"),))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    found, major = postgres.find_tool("pg_dump", 16)
    assert major == 17 and found == tmp_path / "postgresql" / "17" / "bin" / "pg_dump"


def test_a_missing_or_older_pg_dump_fails_with_a_clear_message(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postgres, "SEARCH", (str(tmp_path / "none" / "*"),))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(BackupError, match=r"pg_dump was not found.*postgresql-client-16"):
        postgres.find_tool("pg_dump", 16)
    old = _fake(tmp_path / "old", "pg_dump", "14.11")
    with pytest.raises(BackupError, match=r"pg_dump 14 .* is older than the PostgreSQL server "
                                          r"\(16\).*postgresql-client-16"):
        postgres.find_tool("pg_dump", 16, str(old.parent))


@pytest.mark.skipif(backend() != "postgresql", reason="runs in the PostgreSQL suite")
def test_postgres_backup_names_the_missing_tool(site: Site, tmp_path: Path) -> None:
    site.app.config["PG_BIN_DIR"] = str(tmp_path)
    out = _cli(site.app, "create", str(tmp_path / "x.dump"), code=1)
    assert "pg_dump was not found" in out and "PG_BIN_DIR" in out
    assert not (tmp_path / "x.dump").exists() and not list(tmp_path.glob(".*partial"))


def test_a_folder_gets_a_dated_backup(site: Site, tmp_path: Path) -> None:
    out = _cli(site.app, "create", str(tmp_path))
    made = [p for p in tmp_path.iterdir() if not p.name.endswith(".manifest.json")]
    assert len(made) == 1 and made[0].name.startswith("collateral-")
    assert made[0].suffix == SUFFIX and str(made[0]) in out
    assert "OK:" in _cli(site.app, "verify", str(made[0]))
