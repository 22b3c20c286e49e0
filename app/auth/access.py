"""Who may open what: the login session, the current organisation and role, and the
JSON-endpoint wrapper that turns refusals into clear 4xx answers."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import abort, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.extensions import db, login_manager
from app.models import Membership, MembershipStatus, Organisation, Role, User
from app.payload import BadInput, Payload

from . import sessions

F = TypeVar("F", bound=Callable[..., Any])
MEMBERSHIP = "collateral.membership"


@login_manager.request_loader  # type: ignore[untyped-decorator]
def _user_from_session(_request: Any) -> User | None:
    row = sessions.current()
    return row.user if row is not None else None


@login_manager.unauthorized_handler  # type: ignore[untyped-decorator]
def _unauthorized() -> Any:
    if request.is_json or request.path.startswith(("/auth/", "/api/")) or \
            request.accept_mimetypes.best == "application/json":
        return jsonify(error=_("Your session has ended. Please log in again."), field=None), 401
    flash(_("Please log in to continue."), "info")
    return redirect(url_for("auth.login_page"))


def current_membership() -> Membership | None:
    if MEMBERSHIP in request.environ:
        cached: Membership | None = request.environ[MEMBERSHIP]
        return cached
    row = sessions.current()
    membership = None
    if row is not None and row.org_id is not None:
        membership = db.session.scalar(sa.select(Membership).where(
            Membership.user_id == row.user_id, Membership.org_id == row.org_id,
            Membership.status != MembershipStatus.REMOVED))
    request.environ[MEMBERSHIP] = membership
    return membership


def current_org() -> Organisation:
    membership = current_membership()
    if membership is None:
        abort(403)
    return membership.organisation


def login_required(view: F) -> F:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        return view(*args, **kwargs)
    return wrapped  # type: ignore[return-value]


def role_required(*roles: Role) -> Callable[[F], F]:
    """A confirmed member of the current organisation with one of these roles; the
    organisation's 2FA rule sends members without a second factor to enrol first."""
    def decorator(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            membership = current_membership()
            if membership is None or membership.status != MembershipStatus.CONFIRMED:
                abort(403)
            if membership.organisation.require_2fa and current_user.totp_secret is None:
                flash(_("Your organisation asks every member to use a second factor. Set it "
                        "up to continue."), "info")
                return redirect(url_for("account.two_factor"))
            if roles and membership.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return wrapped  # type: ignore[return-value]
    return decorator


def json_body() -> Payload:
    data = request.get_json(silent=True)
    if data is None:
        raise BadInput(_("The request body must be JSON."))
    return Payload(data)


def json_endpoint(view: Callable[..., Any]) -> Callable[..., Any]:
    """Commit when the view returns; on a refusal roll back and answer 400 with the reason."""
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            result = view(*args, **kwargs)
        except BadInput as exc:
            db.session.rollback()
            return jsonify(error=exc.message, field=exc.field), 400
        db.session.commit()
        return result
    return wrapped

