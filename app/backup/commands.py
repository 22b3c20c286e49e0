"""`flask backup create|verify|restore`."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from . import service
from .manifest import TRANSIENT, BackupError, manifest_path

backup = AppGroup("backup", help="Consistent online backups of the database, and restore.")

# Tables shown in summaries (the others are counted in the manifest too).
SUMMARY = ("organisation", "user", "incident", "attachment", "audit_event")


def _summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{counts[t]} {t}" for t in SUMMARY if t in counts)


@backup.command("create")
@click.argument("path", type=click.Path(path_type=Path))
def create(path: Path) -> None:
    """Snapshot the database into PATH (a new file, or a folder for a dated name) while the
    app keeps serving. Writes PATH and PATH.manifest.json, both readable by you only."""
    try:
        written, manifest = service.create(path)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Backup written: {written} ({manifest.size:,} bytes, {manifest.backend}, "
               f"schema {manifest.revision}).")
    click.echo(f"Holds: {_summary(manifest.tables)}. Manifest: {manifest_path(written)}.")
    click.echo("Sealed fields and attachments are in it only as ciphertext; coded data and "
               "members' e-mail addresses are in clear. Keep it encrypted and access-controlled.")


@backup.command("verify")
@click.argument("path", type=click.Path(path_type=Path))
def verify(path: Path) -> None:
    """Check a backup without restoring it: checksum, completeness, integrity, schema."""
    try:
        found = service.inspect(path)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    if found.manifest is None:
        raise click.ClickException(
            f"{path.name} is a readable {found.backend} backup (schema {found.revision}, "
            f"{_summary(found.counts)}), but it has no manifest ({manifest_path(path).name}), "
            "so its checksum cannot be checked.")
    older = "" if found.current else " (older; a restore upgrades it)"
    click.echo(f"OK: {path} — {found.backend}, taken {found.manifest.created_at}, "
               f"schema {found.revision}{older}, {_summary(found.counts)}; checksum and row "
               "counts match the manifest.")


@backup.command("restore")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask; replace the data.")
def restore(path: Path, yes: bool) -> None:
    """Replace every record in the configured database with the backup PATH.

    Runs in one transaction while the app may keep serving: requests wait for it and then see
    the restored data. Everyone must log in again afterwards."""
    try:
        service.require_restorable_here(path)
        found = service.inspect(path)
        taken = found.manifest.created_at if found.manifest else "unknown (no manifest)"
        click.echo(f"Backup {path.name}: {found.backend}, taken {taken}, schema "
                   f"{found.revision}; {_summary(found.counts)}.")
        if found.manifest is None:
            click.echo(f"Warning: no {manifest_path(path).name} beside it; its checksum cannot "
                       "be checked (the file itself passed its checks).")
        if not yes:
            click.confirm(f"Replace every record in {service.describe_target()} with this "
                          "backup? What was saved since it was taken is lost", abort=True)
        service.restore(path)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    if not found.current:
        click.echo("The backup's schema was older; it has been upgraded to this version's.")
    click.echo(f"Restored into {service.describe_target()}: {_summary(found.counts)}. "
               f"Every login has ended ({', '.join(TRANSIENT)} are not in backups); everyone "
               "logs in again.")
