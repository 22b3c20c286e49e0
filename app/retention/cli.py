"""`flask retention run`: apply every organisation's retention rule (run it daily)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.extensions import db

from . import service

retention_cli = AppGroup("retention", help="Destroy the sealed tier of old incidents.")


@retention_cli.command("run")
@click.option("--vacuum", is_flag=True,
              help="Also rewrite the database (SQLite VACUUM; PostgreSQL VACUUM FULL of the "
                   "incident tables, which locks them while it runs).")
def run(vacuum: bool) -> None:
    """Destroy the sealed tier and attachments of incidents older than their organisation's
    retention rule; keep the coded tier. Safe to repeat; one audit event per organisation."""
    orgs = service.organisations_with_rule()
    if not orgs:
        click.echo("No organisation has a retention rule.")
    for org in orgs:
        name = org.name
        try:
            outcome = service.apply(org)
        except Exception:
            db.session.rollback()
            raise
        db.session.commit()  # one organisation at a time, each with its audit event
        click.echo(f"{name}: {outcome.incidents} incident(s) older than {outcome.months} "
                   f"month(s) lost their sealed tier; {outcome.attachments} attachment(s) "
                   "deleted.")
    click.echo(service.wipe_free_space(vacuum))
