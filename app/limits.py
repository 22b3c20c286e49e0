"""Request size limits (MAX_CONTENT_LENGTH), enforced before anything else reads the body.

- A body whose Content-Length is over the limit is refused with 413 before a byte of it is
  read: before the CSRF check parses the form, before any session or database lookup.
- A body without Content-Length (chunked) is read here, into a temporary spool, to one byte
  past the limit: over it is 413 as soon as that byte arrives; within it the app sees an
  ordinary body with a Content-Length. Werkzeug's own limit on such streams stops reading
  at the limit without saying so, so a URL-encoded form or a JSON body would have been cut
  short silently instead of refused.
"""

from __future__ import annotations

import tempfile

from flask import Flask, abort, request
from flask_babel import gettext as _

PIECE = 64 * 1024
IN_MEMORY = 1024 * 1024  # a spooled body larger than this goes to a temporary file
SPOOL = "collateral.spooled_body"


def _too_large(limit: int) -> None:
    abort(413, description=_("This server accepts at most %(n)s MiB in one request.",
                             n=f"{limit / 2**20:g}"))


def _spool_streamed_body(limit: int) -> None:
    environ = request.environ
    source = environ["wsgi.input"]
    spool = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY)  # noqa: SIM115 - closed at teardown
    environ[SPOOL] = spool
    size = 0
    while True:
        piece = source.read(min(PIECE, limit + 1 - size))
        if not piece:
            break
        size += len(piece)
        if size > limit:
            _too_large(limit)
        spool.write(piece)
    spool.seek(0)
    environ["wsgi.input"] = spool
    environ["CONTENT_LENGTH"] = str(size)
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    environ.pop("wsgi.input_terminated", None)


def refuse_oversized() -> None:
    limit = request.max_content_length
    if limit is None:
        return
    if request.content_length is not None:
        if request.content_length > limit:
            _too_large(limit)
    elif "chunked" in request.headers.get("Transfer-Encoding", "").lower() and \
            request.environ.get("wsgi.input_terminated"):
        # (A server that does not mark the stream as de-chunked gets an empty body from
        # Werkzeug instead: nothing to limit.)
        _spool_streamed_body(limit)


def _close_spool(_exc: BaseException | None) -> None:
    spool = request.environ.pop(SPOOL, None)
    if spool is not None:
        spool.close()


def init_app(app: Flask) -> None:
    # First of all before_request functions: before the CSRF check parses the form.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_oversized)
    app.teardown_request(_close_spool)
