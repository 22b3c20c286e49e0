"""Shared by the page routes and the API: the current member's organisation, object lookup
by public id (404 for anything of another organisation), and refusals as JSON."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, jsonify, request
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app.auth.access import current_membership
from app.extensions import db
from app.models import Incident, Membership
from app.payload import BadInput, loads

from . import service


def membership() -> Membership:
    found = current_membership()
    if found is None:
        abort(403)
    return found


def incident_or_404(public_id: uuid.UUID) -> Incident:
    incident = service.get(membership().organisation, public_id)
    if incident is None:
        abort(404)
    return incident


def refusals(view: Callable[..., Any]) -> Callable[..., Any]:
    """Turn every refusal into a clear JSON answer and roll back; commit on success."""
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            result = view(*args, **kwargs)
        except service.FormInvalid as exc:
            db.session.rollback()
            return jsonify(error=_("Some fields need attention."), errors=exc.errors,
                           field=None), 400
        except BadInput as exc:
            db.session.rollback()
            errors = {exc.field: [exc.message]} if exc.field else {}
            return jsonify(error=exc.message, field=exc.field, errors=errors), 400
        except (service.Conflict, StaleDataError, IntegrityError) as exc:
            # IntegrityError: a unique id or IV taken by a save that won a race.
            db.session.rollback()
            current = getattr(exc, "current_version", None)
            message = getattr(exc, "message", _(
                "Someone saved this incident after you opened it. Your text is kept here: copy "
                "what you need, reload, and apply your changes again."))
            return jsonify(error=message, field=None, current_version=current), 409
        except PermissionError:
            db.session.rollback()
            abort(403)
        db.session.commit()
        return result
    return wrapped


def json_list(text: str | None, field: str) -> list[Any]:
    """A JSON list the page script sent in a form field (`field` names it in the error)."""
    try:
        value = loads(text or "[]")
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, list):
        raise BadInput(_("The page sent a damaged list. Reload it and try again."), field)
    return value


def record_id_from(text: str | None) -> uuid.UUID:
    try:
        value = uuid.UUID(text or "")
    except ValueError as exc:
        raise BadInput(_("The page did not give this incident an id. Reload it and try again."),
                       "record_id") from exc
    return value


def uploaded_files() -> dict[str, bytes]:
    return {name: storage.read() for name, storage in request.files.items()}
