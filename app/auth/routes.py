from __future__ import annotations

import os
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Response, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from app import audit
from app.crypto import b64u_encode
from app.extensions import db
from app.models import Invite, InvitePurpose
from app.orgs import service as orgs
from app.payload import BadInput
from app.security import runs_argon2

from . import bp, service, sessions
from .access import current_membership, json_body, json_endpoint, login_required

PENDING_2FA = "pending_2fa"
ISSUED = "issued"
PENDING_2FA_MINUTES = 5


def _address() -> str:
    return request.remote_addr or "unknown"


def _refused() -> tuple[Response, int]:
    # One message for a wrong e-mail, a wrong passphrase and a wrong code alike.
    return jsonify(error=_("The e-mail address or passphrase is not right."), field=None), 401


def _throttled(minutes: int) -> tuple[Response, int]:
    return jsonify(error=ngettext("Too many failed attempts. Try again in %(num)d minute.",
                                  "Too many failed attempts. Try again in %(num)d minutes.",
                                  minutes),
                   field=None, retry_after_minutes=minutes), 429


def _logged_in(user: Any) -> Response:
    org = service.complete_login(user)
    target = url_for("main.index")
    if service.org_requires_2fa_but_user_lacks(user, org):
        target = url_for("account.two_factor")
    return jsonify(status="ok", next=target)


@bp.get("/login")
@runs_argon2
def login_page() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    return render_template("auth/login.html", page={
        "prelogin-url": url_for("auth.prelogin"), "login-url": url_for("auth.login"),
        "totp-url": url_for("auth.login_totp"), "keyring-url": url_for("auth.keyring")})


@bp.post("/auth/prelogin")
@json_endpoint
def prelogin() -> Any:
    return jsonify(service.prelogin(json_body().email()))


@bp.post("/auth/login")
@json_endpoint
def login() -> Any:
    body = json_body()
    outcome = service.check_password(body.email(), body.b64u("auth_key", length=32) or "",
                                     _address())
    if outcome.status == "throttled":
        return _throttled(outcome.wait_minutes)
    if outcome.status == "refused" or outcome.user is None:
        return _refused()
    if outcome.status == "totp":
        session[PENDING_2FA] = {"user": outcome.user.pid,
                                "at": datetime.now(UTC).timestamp()}
        return jsonify(status="totp")
    return _logged_in(outcome.user)


@bp.post("/auth/totp")
@json_endpoint
def login_totp() -> Any:
    pending = session.get(PENDING_2FA) or {}
    started = datetime.fromtimestamp(pending.get("at", 0), UTC)
    user = service.find_user_by_pid(pending.get("user", ""))
    if user is None or datetime.now(UTC) - started > timedelta(minutes=PENDING_2FA_MINUTES):
        session.pop(PENDING_2FA, None)
        return jsonify(error=_("That took too long. Please log in again."), field=None), 401
    outcome = service.check_second_factor(user, json_body().text("code", max_len=12) or "",
                                          _address())
    if outcome.status == "throttled":
        return _throttled(outcome.wait_minutes)
    if outcome.status != "ok":
        return jsonify(error=_("That code is not right, or was already used."),
                       field="code"), 401
    return _logged_in(user)


@bp.get("/auth/keyring")
@login_required
def keyring() -> Any:
    row = sessions.current()
    assert row is not None
    user = row.user
    membership = current_membership()
    org = None
    if membership is not None:
        versions = orgs.key_versions(membership.organisation)
        org = {"id": membership.organisation.pid, "name": membership.organisation.name,
               "role": membership.role.value, "status": membership.status.value,
               "current_kv": membership.organisation.current_kv,
               "recovery_public_key": versions[-1].recovery_public_key if versions else None,
               "wraps": [{"kv": kv, "wrapped": w}
                         for kv, w in orgs.wraps_for(membership.organisation, user)]}
    return jsonify(user={"id": user.pid, "email": user.email, "display_name": user.display_name,
                         "public_key": user.public_key,
                         "wrapped_private_key": user.wrapped_private_key},
                   session_key=row.session_key, org=org)


@bp.post("/auth/logout")
def logout() -> Any:
    row = sessions.current()
    if row is not None:
        membership = current_membership()
        audit.record("logout", org=membership.organisation if membership else None,
                     actor=row.user, object_type="user", object_id=row.user.pid)
    sessions.end_current("logout")
    db.session.commit()
    return redirect(url_for("auth.login_page"))


@bp.post("/auth/logout-everywhere")
@login_required
def logout_everywhere() -> Any:
    ended = sessions.end_all(current_user, "everywhere")
    audit.record("logout_everywhere", actor=current_user, object_type="user",
                 object_id=current_user.pid, sessions=ended)
    sessions.end_current("everywhere")
    db.session.commit()
    return redirect(url_for("auth.login_page"))


# Registration and recovery from a single-use link.

def _issue(invite: Invite) -> dict[str, str]:
    """Salt, account id and nonce this page gets; the POST must bring back the same ones."""
    issued = dict(session.get(ISSUED) or {})
    entry = issued.get(invite.pid)
    if entry is None:
        entry = {"salt": b64u_encode(os.urandom(16)), "user_id": str(uuid.uuid4()),
                 "nonce": secrets.token_urlsafe(24)}
        if invite.user_id is not None:
            entry["user_id"] = service.pid_of(invite.user_id)
        issued = {invite.pid: entry}  # one registration at a time per browser
        session[ISSUED] = issued
    return dict(entry)


def _invite_page(token: str, template: str, post_endpoint: str) -> Any:
    try:
        invite = orgs.open_invite(token)
    except BadInput as exc:
        return render_template("errors/error.html", code=410, reason=exc.message,
                               detail=None), 410
    issued = _issue(invite)
    kdf = service.default_kdf()
    org = invite.organisation
    page = {
        "token": token, "user-id": issued["user_id"], "salt": issued["salt"],
        "kdf-m": kdf.m, "kdf-t": kdf.t, "kdf-p": kdf.p,
        "email": invite.email or (service.email_of(invite.user_id) if invite.user_id else ""),
        "org-id": org.pid if org else "", "org-name": invite.inviter_name,
        "role": invite.role.value if invite.role else "researcher",
        "creates-org-keys": "1" if invite.purpose == InvitePurpose.NEW_ORG else "0",
        "reset": "1" if invite.purpose == InvitePurpose.RESET else "0",
        "post-url": url_for(post_endpoint, token=token), "login-url": url_for("auth.login"),
        "keyring-url": url_for("auth.keyring"), "prelogin-url": url_for("auth.prelogin"),
    }
    if invite.purpose == InvitePurpose.RECOVER:
        versions = orgs.key_versions(invite.org)
        page["nonce"] = issued["nonce"]
        page["recovery-public-key"] = versions[-1].recovery_public_key if versions else ""
        page["recovery-wraps"] = ",".join(f"{v.kv}:{v.recovery_wrap}" for v in versions)
    return render_template(template, page=page, invite=invite, org=org)


def _invite_post(token: str, action: Any) -> Any:
    invite = orgs.open_invite(token)
    issued = (session.get(ISSUED) or {}).get(invite.pid)
    if not issued:
        raise BadInput(_("The page is out of date. Reload it and try again."))
    user = action(invite, json_body(), issued)
    db.session.flush()
    session.pop(ISSUED, None)
    return jsonify(status="ok", user=user.pid, login_url=url_for("auth.login")), 201


@bp.get("/register/<token>")
@runs_argon2
def register_page(token: str) -> Any:
    return _invite_page(token, "auth/register.html", "auth.register")


@bp.post("/register/<token>")
@json_endpoint
def register(token: str) -> Any:
    return _invite_post(token, orgs.register)


@bp.get("/recover/<token>")
@runs_argon2
def recover_page(token: str) -> Any:
    return _invite_page(token, "auth/recover.html", "auth.recover")


@bp.post("/recover/<token>")
@json_endpoint
def recover(token: str) -> Any:
    return _invite_post(token, orgs.recover)

