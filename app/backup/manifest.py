"""The manifest written beside every backup file (`<backup>.manifest.json`).

It names the backend, the schema (Alembic) revision, when the snapshot was taken, the rows per
table and the file's SHA-256, so `verify` and `restore` can tell a damaged or foreign file from
a good one. It holds no data from the database other than table names and row counts.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FORMAT = "collateral-backup"
VERSION = 1
SUFFIX = ".manifest.json"
# Tables whose rows a backup leaves out: login sessions (each holds the key that unwraps a
# logged-in browser's copy of its member key) and login failures (minutes-long throttling
# state). After a restore everyone logs in again.
TRANSIENT = ("login_session", "auth_failure")


class BackupError(Exception):
    """A backup or restore that cannot go on; the message is for the operator."""


@dataclass
class Manifest:
    backend: str  # "sqlite" or "postgresql"
    revision: str  # alembic_version of the snapshot
    created_at: str  # ISO 8601, UTC
    tables: dict[str, int]  # rows per table in the snapshot
    sha256: str = ""
    size: int = 0
    file: str = ""
    tool: str = ""  # e.g. "sqlite 3.40.1" or "pg_dump 15.20"
    format: str = FORMAT
    version: int = VERSION
    extra: dict[str, Any] = field(default_factory=dict)


def manifest_path(backup: Path) -> Path:
    return backup.with_name(backup.name + SUFFIX)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def private_file(path: Path) -> None:
    """Create an empty file only the app's user may read (fails if it exists)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)


def write(manifest: Manifest, backup: Path) -> Path:
    target = manifest_path(backup)
    tmp = target.with_name(target.name + ".tmp")
    tmp.unlink(missing_ok=True)
    private_file(tmp)
    tmp.write_text(json.dumps(asdict(manifest), indent=2, sort_keys=True) + "\n")
    tmp.replace(target)
    return target


def read(backup: Path) -> Manifest | None:
    """The manifest beside `backup`, None when there is none; BackupError when unreadable."""
    path = manifest_path(backup)
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
        if data.get("format") != FORMAT:
            raise ValueError("not a Collateral manifest")
        if int(data.get("version", 0)) > VERSION:
            raise ValueError(f"manifest version {data['version']} is newer than this code")
        known = set(Manifest.__dataclass_fields__)
        return Manifest(**{k: v for k, v in data.items() if k in known})
    except (ValueError, TypeError, KeyError) as exc:
        raise BackupError(f"{path.name} is not a readable backup manifest ({exc}).") from exc
