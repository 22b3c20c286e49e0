"""What no request may carry, checked before anything reads it (right after the size limit,
before the CSRF check):

- a form part without a name (a multipart body can have one; Flask-WTF's CSRF check then
  failed with a 500);
- control characters other than tab and line breaks, in a form field or query parameter.
  Nobody types them; a NUL cannot even be stored in PostgreSQL (it made a 500 there while
  SQLite kept it), and an escape sequence in a name would reach the operator's terminal.
  JSON text is checked where it is read (app.payload)."""

from __future__ import annotations

import re

from flask import Flask, abort, request
from flask_babel import gettext as _

from app import limits

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def has_control(text: str) -> bool:
    return CONTROL.search(text) is not None


def refuse_malformed() -> None:
    if None in request.form or None in request.files:
        abort(400, description=_("A part of the form has no name. Nothing was saved."))
    for source in (request.args, request.form):
        for name, value in source.items(multi=True):
            if has_control(name) or has_control(value):
                abort(400, description=_(
                    "The field “%(name)s” holds a control character (such as a null byte), "
                    "which is never part of what anyone types. Nothing was saved.",
                    name=CONTROL.sub("?", name)[:40]))


def init_app(app: Flask) -> None:
    checks = app.before_request_funcs.setdefault(None, [])
    first = checks.index(limits.refuse_oversized) + 1 if limits.refuse_oversized in checks else 0
    checks.insert(first, refuse_malformed)
