"""`flask` command groups. More groups (org, collective, backup, audit, ...) join here."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click
import sqlalchemy as sa
from flask import Flask, current_app, url_for
from flask.cli import AppGroup

from app.backup.commands import backup
from app.demo.cli import demo
from app.extensions import db
from app.models import (
    Collective,
    CollectiveRoleName,
    Membership,
    MembershipStatus,
    Organisation,
    User,
)
from app.orgs import collectives
from app.orgs import service as orgs
from app.payload import BadInput

T = TypeVar("T")

ROOT = Path(__file__).resolve().parent.parent
POT = ROOT / "messages.pot"
TRANSLATIONS = ROOT / "translations"

translate = AppGroup("translate", help="Extract, add, update, check and compile translations "
                                      "(docs/translating.md).")


def _babel(*args: str, quiet: bool = False) -> None:
    result = subprocess.run([sys.executable, "-m", "babel.messages.frontend",  # noqa: S603
                             *(["--quiet"] if quiet else []), *args], check=False)
    if result.returncode:
        raise click.ClickException(f"pybabel {args[0]} failed")


def _extract(output: Path = POT) -> None:
    from app import catalogs

    try:
        catalogs.extract(output, ROOT)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc


def _not_fuzzy(lang: str) -> None:
    """pybabel marks a new catalogue's header fuzzy, and compile then skips the whole file:
    the header is ours, not a translation to review."""
    from babel.messages.pofile import write_po

    from app import catalogs

    path = catalogs.po_path(lang)
    catalog = catalogs.read(path, lang)
    if catalog.fuzzy:
        catalog.fuzzy = False
        with path.open("wb") as handle:
            write_po(handle, catalog, sort_output=True, width=100)


@translate.command("extract")
@click.option("--output", "-o", type=click.Path(path_type=Path), default=POT, show_default=True)
def extract(output: Path) -> None:
    """Collect every marked string into a .pot file."""
    _extract(output)


@translate.command("init")
@click.argument("lang")
def init(lang: str) -> None:
    """Start a new language, e.g. `flask translate init es`."""
    _extract()
    _babel("init", "-i", str(POT), "-d", str(TRANSLATIONS), "-l", lang, "-w", "100")
    _not_fuzzy(lang)


@translate.command("update")
def update() -> None:
    """Bring every language up to date with the source strings."""
    _extract()
    # No fuzzy matching: a guessed translation of a changed sentence is worse than none.
    _babel("update", "-i", str(POT), "-d", str(TRANSLATIONS), "--no-fuzzy-matching",
           "--ignore-obsolete", "-w", "100")


@translate.command("check")
@click.argument("langs", nargs=-1)
@click.option("--limit", type=int, default=40, show_default=True,
              help="How many problems to list per language (0: all).")
def check(langs: tuple[str, ...], limit: int) -> None:
    """Say what is missing or broken in a language's catalogue (all languages by default):
    untranslated, fuzzy, missing (run `update`) or with changed placeholders."""
    from app import catalogs
    from app.vocab import load

    template = catalogs.current_template()
    failed = False
    for lang in langs or catalogs.TARGETS:
        problems = catalogs.check_language(lang, template, load())
        messages = sum(1 for m in template if m.id)
        if not problems:
            click.echo(f"{lang}: complete ({messages} messages).")
            continue
        failed = True
        counts = ", ".join(f"{n} {kind}" for kind, n in sorted(catalogs.summary(problems)
                                                              .items()))
        click.echo(f"{lang}: {len(problems)} of {messages} messages need work ({counts}).")
        for problem in problems[:limit] if limit else problems:
            click.echo(f"  {problem}")
        if limit and len(problems) > limit:
            click.echo(f"  … and {len(problems) - limit} more (--limit 0 lists all)")
    if failed:
        raise click.exceptions.Exit(1)


@translate.command("compile")
def compile_() -> None:
    """Compile .po files to the .mo files the app reads (untranslated strings stay English)."""
    langs = sorted(p.parent.parent.name for p in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))
    if not langs:
        click.echo("No translations yet: `flask translate init LANG` starts one.")
        return
    # Quiet: pybabel's statistics count an empty plural entry as translated;
    # `flask translate check` is the real count.
    _babel("compile", "-d", str(TRANSLATIONS), quiet=True)
    click.echo(f"Compiled: {', '.join(langs)}.")


org = AppGroup("org", help="Create organisations and recover one with its recovery code.")
collective = AppGroup("collective", help="Create collectives and invite organisations.")


def _link(endpoint: str, token: str) -> str:
    # Commands run outside a request: build the link against the configured public address.
    with current_app.test_request_context("/", base_url=current_app.config["PUBLIC_URL"]):
        return url_for(endpoint, token=token, _external=True)


def _find_org(name_or_id: str) -> Organisation:
    query = sa.select(Organisation).where(Organisation.name == name_or_id)
    with contextlib.suppress(ValueError):
        query = sa.select(Organisation).where(sa.or_(
            Organisation.name == name_or_id, Organisation.public_id == uuid.UUID(name_or_id)))
    found = db.session.scalars(query).all()
    if len(found) != 1:
        raise click.ClickException(f"no single organisation is called {name_or_id!r}")
    return found[0]


def _commit_or_fail(action: Callable[[], T]) -> T:
    try:
        result = action()
    except BadInput as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    return result


@org.command("create")
@click.argument("name")
@click.option("--coordinator", "email", required=True, help="The first coordinator's e-mail.")
@click.option("--hours", type=click.IntRange(1, 24 * 30), default=None,
              help="How long the link works (default INVITE_HOURS, 72).")
def org_create(name: str, email: str, hours: int | None) -> None:
    """Create an organisation and print its first coordinator's single-use link."""
    _, token = _commit_or_fail(lambda: orgs.create_org(name, email, hours))
    click.echo(f"Organisation {name!r} created.")
    click.echo("Send this single-use link to the first coordinator through a channel you trust:")
    click.echo(_link("auth.register_page", token))


@org.command("list")
def org_list() -> None:
    """Organisations on this instance, with member counts (no incident data)."""
    for item in db.session.scalars(sa.select(Organisation).order_by(Organisation.name)):
        count = db.session.scalar(sa.select(sa.func.count(Membership.id)).where(
            Membership.org_id == item.id, Membership.status == MembershipStatus.CONFIRMED))
        click.echo(f"{item.pid}  {item.name}  ({count} confirmed members)")


@org.command("recover")
@click.argument("organisation")
@click.option("--email", required=True, help="Who takes over as coordinator.")
def org_recover(organisation: str, email: str) -> None:
    """Print a link with which the holder of the recovery code takes over as coordinator."""
    target = _find_org(organisation)
    token = _commit_or_fail(lambda: orgs.create_recovery_invite(target, email))
    click.echo("Recovery link (works only together with the organisation's recovery code):")
    click.echo(_link("auth.recover_page", token))


@collective.command("create")
@click.argument("name")
def collective_create(name: str) -> None:
    """Create a collective (a network of organisations that pools de-identified reports)."""
    made = _commit_or_fail(lambda: orgs.create_collective(name))
    click.echo(f"Collective {name!r} created: {made.pid}")


@collective.command("invite")
@click.argument("collective_name")
@click.argument("organisation")
def collective_invite(collective_name: str, organisation: str) -> None:
    """Invite an organisation; it joins when one of its coordinators accepts."""
    target = _collective(collective_name)
    member = _find_org(organisation)
    _commit_or_fail(lambda: collectives.invite(target, member))
    click.echo(f"{member.name} is invited to {target.name}; a coordinator of it must accept.")


def _collective(name: str) -> Collective:
    found = db.session.scalar(sa.select(Collective).where(Collective.name == name))
    if found is None:
        raise click.ClickException(f"no collective is called {name!r}")
    return found


@collective.command("appoint")
@click.argument("collective_name")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in CollectiveRoleName]),
              default="analyst", show_default=True)
def collective_appoint(collective_name: str, email: str, role: str) -> None:
    """Give a person with an account a role in a collective (analysts make its reports)."""
    target = _collective(collective_name)
    user = db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"no account uses {email!r}; the person registers first")
    _commit_or_fail(lambda: collectives.appoint(target, user, CollectiveRoleName(role)))
    click.echo(f"{user.display_name} is now {role} of {target.name}.")


@collective.command("dismiss")
@click.argument("collective_name")
@click.argument("email")
def collective_dismiss(collective_name: str, email: str) -> None:
    """Take away a person's role in a collective."""
    target = _collective(collective_name)
    user = db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"no account uses {email!r}")
    _commit_or_fail(lambda: collectives.dismiss(target, user))
    click.echo(f"{user.display_name} no longer has a role in {target.name}.")


@org.command("quorum")
@click.argument("organisation")
@click.argument("n", type=int)
def org_quorum(organisation: str, n: int) -> None:
    """How many coordinators must approve a research extract (default 1)."""
    from app.research import service as research

    target = _find_org(organisation)
    _commit_or_fail(lambda: research.set_quorum(target, n, None))
    click.echo(f"{target.name}: research extracts need {n} coordinator approval(s).")


@collective.command("quorum")
@click.argument("collective_name")
@click.argument("n", type=int)
def collective_quorum(collective_name: str, n: int) -> None:
    """How many collective coordinators' approvals suffice for an extract (default 2)."""
    from app.research import service as research

    target = _collective(collective_name)
    _commit_or_fail(lambda: research.set_quorum(target, n, None))
    click.echo(f"{target.name}: {n} collective coordinator approval(s) suffice.")


@collective.command("threshold")
@click.argument("collective_name")
@click.argument("k", type=int)
def collective_threshold(collective_name: str, k: int) -> None:
    """Set the collective's small-cell threshold k (at least 3; default 5)."""
    target = _collective(collective_name)
    _commit_or_fail(lambda: collectives.set_threshold(target, k, None))
    click.echo(f"{target.name}: counts under {k} are shown as 'fewer than {k}'.")


extracts = AppGroup("extract", help="Research extracts: open one offline, delete expired ones.")


@extracts.command("open")
@click.argument("sealed", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", "keyfile", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Your key file (Research page: 'Download your key file').")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the opened file (CSV or JSON).")
@click.password_option("--passphrase", prompt="Your Collateral passphrase",
                       confirmation_prompt=False)
def extract_open(sealed: Path, keyfile: Path, out: Path, passphrase: str) -> None:
    """Open a sealed extract with your key file and passphrase; needs no server."""
    from app.crypto import CryptoError
    from app.research.opener import open_with_keyfile, read_keyfile

    try:
        plain = open_with_keyfile(sealed.read_bytes(), read_keyfile(keyfile), passphrase)
    except CryptoError as exc:
        raise click.ClickException(f"{exc}. Nothing was written.") from exc
    out.write_bytes(plain)
    click.echo(f"Opened {sealed.name}: {len(plain):,} bytes written to {out}.")


@extracts.command("purge")
def extract_purge() -> None:
    """Delete the files of expired extracts (run daily; safe to repeat)."""
    from app.research import service as research

    done = _commit_or_fail(research.purge)
    click.echo(f"{done} expired extract(s) deleted.")


def init_app(app: Flask) -> None:
    from app.audit_verify import audit_cli
    from app.retention.cli import retention_cli

    app.cli.add_command(translate)
    app.cli.add_command(org)
    app.cli.add_command(collective)
    app.cli.add_command(extracts)
    app.cli.add_command(backup)
    app.cli.add_command(demo)
    app.cli.add_command(audit_cli)
    app.cli.add_command(retention_cli)
