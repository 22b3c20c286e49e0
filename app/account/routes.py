from __future__ import annotations

import os
from typing import Any

from flask import Response, current_app, flash, jsonify, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import audit
from app.auth import service as auth
from app.auth import sessions, totp
from app.auth.access import current_membership, json_body, json_endpoint, login_required
from app.crypto import b64u_encode
from app.extensions import db
from app.orgs.service import read_passphrase_change
from app.payload import BadInput
from app.security import runs_argon2

from . import bp
from .forms import CodeForm

NEW_SALT = "new_salt"


def _org() -> Any:
    membership = current_membership()
    return membership.organisation if membership else None


@bp.get("")
@login_required
def index() -> str:
    return render_template("account/index.html", membership=current_membership(),
                           page={"keyring-url": url_for("auth.keyring"),
                                 "user-id": current_user.pid})


@bp.route("/2fa", methods=["GET", "POST"])
@login_required
def two_factor() -> Any:
    if current_user.totp_secret:
        return render_template("account/two_factor.html", enrolled=True, form=CodeForm())
    secret = _enrolment_secret()
    form = CodeForm()
    if form.validate_on_submit():
        step = totp.matching_step(secret, form.code.data)
        if step is None:
            form.code.errors.append(_("That code is not right. Check the time on your phone."))
        else:
            current_user.totp_secret = secret
            current_user.totp_last_step = step
            audit.record("2fa_enabled", org=_org(), actor=current_user, object_type="user",
                         object_id=current_user.pid)
            db.session.commit()
            flash(_("The second factor is on. You will be asked for a code at each login."),
                  "ok")
            return redirect(url_for("account.index"))
    return render_template("account/two_factor.html", enrolled=False, form=form, secret=secret)


@bp.get("/2fa/qr.svg")
@login_required
def two_factor_qr() -> Response:
    if current_user.totp_secret:
        return Response(status=404)
    return Response(totp.qr_svg(_enrolment_secret(), current_user.email),
                    mimetype="image/svg+xml")


def _enrolment_secret() -> str:
    login = sessions.current()
    assert login is not None  # login_required
    return totp.enrolment_secret(current_app.config["SECRET_KEY"], login.token_hash,
                                 current_user.pid)


@bp.post("/2fa/disable")
@login_required
def two_factor_disable() -> Any:
    org = _org()
    form = CodeForm()
    if org is not None and org.require_2fa:
        flash(_("Your organisation requires a second factor; it cannot be turned off."),
              "error")
    elif not form.validate_on_submit() or not totp.verify_for_user(current_user,
                                                                   form.code.data):
        flash(_("That code is not right, or was already used."), "error")
    else:
        current_user.totp_secret = None
        current_user.totp_last_step = None
        audit.record("2fa_disabled", org=org, actor=current_user, object_type="user",
                     object_id=current_user.pid)
        db.session.commit()
        flash(_("The second factor is off."), "ok")
    return redirect(url_for("account.two_factor"))


@bp.get("/passphrase")
@login_required
@runs_argon2
def passphrase_page() -> str:
    salt = b64u_encode(os.urandom(16))
    session[NEW_SALT] = salt
    kdf = auth.default_kdf()
    return render_template("account/passphrase.html", page={
        "user-id": current_user.pid, "email": current_user.email, "salt": salt,
        "kdf-m": max(kdf.m, current_user.kdf_memory_kib),
        "kdf-t": max(kdf.t, current_user.kdf_time_cost),
        "kdf-p": max(kdf.p, current_user.kdf_parallelism),
        "prelogin-url": url_for("auth.prelogin"), "post-url": url_for("account.passphrase"),
        "keyring-url": url_for("auth.keyring")})


@bp.post("/passphrase")
@login_required
@json_endpoint
def passphrase() -> Any:
    body = json_body()
    issued = session.get(NEW_SALT)
    if not issued:
        raise BadInput(_("The page is out of date. Reload it and try again."))
    old = body.b64u("old_auth_key", length=32) or ""
    if not auth.verify_current(current_user, old):
        raise BadInput(_("The current passphrase is not right."), "old_passphrase")
    read_passphrase_change(current_user, body, issued)
    session.pop(NEW_SALT, None)
    audit.record("passphrase_changed", org=_org(), actor=current_user, object_type="user",
                 object_id=current_user.pid)
    return jsonify(status="ok", next=url_for("account.index"))
