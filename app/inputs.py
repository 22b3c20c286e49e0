"""Characters no input may carry: control characters other than tab and line breaks.

Nobody types them; a NUL cannot even be stored in PostgreSQL (it made a 500 there while
SQLite kept it), and an escape sequence in a name would reach the operator's terminal. Form
fields and query parameters are checked here for every request; JSON text is checked where
it is read (app.payload)."""

from __future__ import annotations

import re

from flask import Flask, abort, request
from flask_babel import gettext as _

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def has_control(text: str) -> bool:
    return CONTROL.search(text) is not None


def refuse_control_characters() -> None:
    for source in (request.args, request.form):
        for name, value in source.items(multi=True):
            if has_control(name) or has_control(value):
                abort(400, description=_(
                    "The field “%(name)s” holds a control character (such as a null byte), "
                    "which is never part of what anyone types. Nothing was saved.",
                    name=CONTROL.sub("?", name)[:40]))


def init_app(app: Flask) -> None:
    # After the size limit and the CSRF check, which answer first.
    app.before_request(refuse_control_characters)
