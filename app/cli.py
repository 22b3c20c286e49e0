"""`flask` command groups. More groups (org, collective, backup, audit, ...) join here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

ROOT = Path(__file__).resolve().parent.parent
POT = ROOT / "messages.pot"
TRANSLATIONS = ROOT / "translations"

translate = AppGroup("translate", help="Extract, add, update and compile translations.")


def _babel(*args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args],  # noqa: S603
                            check=False)
    if result.returncode:
        raise click.ClickException(f"pybabel {args[0]} failed")


def _extract(output: Path = POT) -> None:
    _babel("extract", "-F", str(ROOT / "babel.cfg"), "-k", "_l", "-o", str(output),
           "--no-location", "--sort-output", "--project", "Collateral", str(ROOT / "app"),
           str(ROOT / "templates"))


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
    _babel("init", "-i", str(POT), "-d", str(TRANSLATIONS), "-l", lang)


@translate.command("update")
def update() -> None:
    """Bring every language up to date with the source strings."""
    _extract()
    _babel("update", "-i", str(POT), "-d", str(TRANSLATIONS), "--no-fuzzy-matching")


@translate.command("compile")
def compile_() -> None:
    """Compile .po files to the .mo files the app reads."""
    if not any(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")):
        click.echo("No translations yet: `flask translate init LANG` starts one.")
        return
    _babel("compile", "-d", str(TRANSLATIONS))


def init_app(app: Flask) -> None:
    app.cli.add_command(translate)
