"""Error pages: HTML for people, JSON for API clients; always a reason, never a stack trace."""

from __future__ import annotations

import contextlib
import logging
import traceback
from pathlib import Path

from flask import Flask, Response, g, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from app.extensions import db, login_manager
from app.i18n import ERROR_PAGE

log = logging.getLogger(__name__)


def _wants_json() -> bool:
    # The API, and any client that sent JSON (the page scripts' endpoints under /auth/, /org/).
    if request.path.startswith("/api/") or request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > \
        request.accept_mimetypes["text/html"]


def _reason(error: HTTPException) -> str:
    messages = {
        400: _("The request could not be understood."),
        403: _("You do not have permission to do that."),
        404: _("There is nothing at this address."),
        405: _("This address does not accept that kind of request."),
        409: _("Someone else changed this in the meantime."),
        410: _("This is no longer available."),
        413: _("What you sent is too large."),
        429: _("Too many attempts. Please wait and try again."),
        503: _("The service is briefly unavailable. Nothing you saved is lost; "
               "please try again in a minute."),
    }
    code = error.code or 500
    return str(messages.get(code, _("Something went wrong on our side. Nothing was saved.")))


def render_error(error: HTTPException, detail: str | None = None) -> tuple[Response | str, int]:
    code = error.code or 500
    reason = _reason(error)
    request.environ[ERROR_PAGE] = True
    if _wants_json():
        return jsonify(error=reason, detail=detail, status=code), code
    return render_template("errors/error.html", code=code, reason=reason, detail=detail), code


def _render_without_database() -> None:
    """The error page's layout asks who is logged in (the navigation), which needs the
    database; while it is down, render the page as for a visitor instead of failing again."""
    from app.auth.access import MEMBERSHIP
    from app.auth.sessions import CACHE

    request.environ[CACHE] = None
    request.environ[MEMBERSHIP] = None
    g._login_user = login_manager.anonymous_user()


def init_app(app: Flask) -> None:
    # Registered after db.init_app, so it runs before Flask-SQLAlchemy's own teardown.
    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        """Closing the session rolls back its transaction; when the database went away
        meanwhile that rollback fails, and the answer already made would become a bare 500.
        Drop the dead connection instead (pre-ping replaces it once the server is back)."""
        try:
            db.session.remove()
        except SQLAlchemyError:
            with contextlib.suppress(SQLAlchemyError):
                db.session.registry().invalidate()
            db.session.registry.clear()
            log.error("database connection lost at the end of a request")

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[Response | str, int]:
        return render_error(error, _("The form had expired or did not come from this site. "
                                     "Reload the page and send it again."))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response | str, int]:
        # A description given at abort() is a sentence written for the person (translated);
        # Werkzeug's own default descriptions are not, and are not shown.
        custom = error.description if error.description != type(error).description else None
        return render_error(error, custom)

    @app.errorhandler(OperationalError)
    def database_down(error: OperationalError) -> tuple[Response | str, int]:
        # The connection may be gone; the pool replaces it (pre-ping) once the server is back.
        with contextlib.suppress(SQLAlchemyError):
            db.session.rollback()
        log.error("database unavailable: %s", error.__class__.__name__)
        _render_without_database()
        return render_error(ServiceUnavailable())

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[Response | str, int]:
        db.session.rollback()
        # Log the type and where it happened, not the message: exception text can carry
        # request data, and nothing a person typed may reach the logs.
        frames = traceback.extract_tb(error.__traceback__)[-5:]
        where = " < ".join(f"{Path(f.filename).name}:{f.lineno}" for f in reversed(frames))
        log.error("unhandled %s at %s", error.__class__.__name__, where)
        return render_error(InternalServerError())
