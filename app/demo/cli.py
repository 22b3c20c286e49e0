"""`flask demo load`: a demo instance for newcomers, never on a production database."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from .build import Failed, Refused, Summary, load

demo = AppGroup("demo", help="A demo instance with invented organisations and incidents.")


@demo.command("load")
@click.option("--seed", type=int, default=None,
              help="Make the same incidents every time (the passphrases stay random).")
def demo_load(seed: int | None) -> None:
    """Fill an empty database with a demo: a collective, three organisations, their members
    and a few hundred sealed incidents. Needs COLLATERAL_DEMO=1; prints the passphrases once."""
    click.echo("Building the demo: registering members with Argon2id and sealing incidents…")
    try:
        summary = load(current_app._get_current_object(), seed=seed)  # type: ignore[attr-defined]
    except Refused as exc:
        raise click.ClickException(str(exc)) from exc
    except Failed as exc:
        raise click.ClickException(
            f"The demo stopped half-way: {exc}. Start again from an empty database.") from exc
    _report(summary)


def _report(summary: Summary) -> None:
    click.echo(f"\nDemo loaded in {summary.seconds:.0f} s: {len(summary.recovery_codes)} "
               f"organisations, {summary.incidents} incidents ({summary.published} case "
               f"studies published), the collective {summary.collective!r}"
               + (", and one approved research extract." if summary.extract_made else "."))
    base = current_app.config["PUBLIC_URL"].rstrip("/")
    click.echo(f"\nLog in at {base}/login as any of these people. The passphrases are shown "
               "this once and stored nowhere:\n")
    rows = [("role", "organisation", "e-mail", "passphrase")] + [
        (_role(a.person.role, a.person.email), a.organisation or "—", a.person.email,
         a.passphrase) for a in summary.accounts]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        click.echo("  " + "  ".join(cell.ljust(width) for cell, width in zip(
            row[:3], widths, strict=True)) + "  " + row[3])
    click.echo("\nRecovery codes (what each first coordinator's browser showed once; "
               "see `flask org recover`):")
    for name, code in summary.recovery_codes.items():
        click.echo(f"  {name}: {code}")
    click.echo("\nEverything in this demo is invented. Do not put real records in it.")


def _role(role: str, email: str) -> str:
    from .cast import COLLECTIVE_ANALYST

    return f"{role} + collective analyst" if email == COLLECTIVE_ANALYST else role
