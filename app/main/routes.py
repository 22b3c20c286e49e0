from __future__ import annotations

import sqlalchemy as sa
from flask import (
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response as WerkzeugResponse

from app import i18n
from app.auth import sessions
from app.extensions import db
from app.incidents import choices
from app.models import Organisation
from app.security import runs_argon2

from . import bp


@bp.get("/")
def index() -> str:
    # Until an organisation exists the operator sees how to create the first one.
    has_org = db.session.scalar(sa.select(sa.func.count(Organisation.id))) or 0
    if not has_org:
        return render_template("main/first_run.html")
    return render_template("main/index.html")


@bp.get("/help")
def help_page() -> str:
    """Plain words for everyone, logged in or not: what the server can and cannot see, what
    it cannot protect against, what to do after losing a passphrase, what the codes mean."""
    lists = {name: [(label, descriptions.get(code, "")) for code, label in
                    choices.vocab_choices(name)]
             for name in ("kinds", "work_settings", "sources", "groups")
             for descriptions in (choices.descriptions(name),)}
    return render_template("main/help.html", lists=lists,
                           idle_minutes=current_app.config["SESSION_IDLE_MINUTES"])


@bp.get("/selftest")
@runs_argon2
def selftest() -> str:
    """Lets anyone check that this browser can seal: secure context, WebCrypto, Argon2."""
    return render_template("main/selftest.html")


@bp.post("/language")
def language() -> WerkzeugResponse:
    """The language picker in every page's header: kept in the session, and for a logged-in
    person in their account too, so it follows them to every device. Not audited."""
    lang = request.form.get("lang", "")
    if lang not in i18n.languages():
        abort(400, description=_("Choose one of the languages in the list."))
    session[i18n.SESSION_KEY] = lang
    if current_user.is_authenticated:
        current_user.locale = lang
        db.session.commit()
    return redirect(i18n.safe_target(request.form.get("next"), url_for("main.index")), 303)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """For the operator's monitoring: is the app up and can it reach its database?"""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="unavailable", database=False), 503
    return jsonify(status="ok", database=True), 200


@bp.post("/quick-exit")
def quick_exit() -> tuple[str, int]:
    """Called by the quick-exit script (a beacon): the login session ends and its session key
    is erased, so the keys the browser kept in IndexedDB are useless even if not yet wiped."""
    sessions.end_current("quick_exit")
    db.session.commit()
    session.clear()
    return "", 204
