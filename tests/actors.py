"""A person's browser, played in Python with app.crypto: registers, logs in, confirms members,
rotates keys, recovers. The class lives in app/demo/browser.py (`flask demo load` uses it
too); here it gets the tests' default passphrase."""

from __future__ import annotations

from dataclasses import dataclass

from app.demo.browser import Browser as _Browser
from app.demo.browser import csrf_of, page_data

PASSPHRASE = "correct horse battery staple"

__all__ = ["PASSPHRASE", "Browser", "csrf_of", "page_data"]


@dataclass
class Browser(_Browser):
    """One person's browser in a test: the passphrase defaults to PASSPHRASE."""

    passphrase: str = PASSPHRASE
