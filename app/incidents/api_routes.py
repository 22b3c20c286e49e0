"""The JSON API (/api/v1): the same operations as the pages, for page scripts and other tools.
Session cookie + CSRF header; described in static/openapi.json."""

from __future__ import annotations

import json
import uuid
from typing import Any

from flask import Response, abort, current_app, jsonify, request, send_from_directory, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from app.auth.access import current_org, json_body, role_required
from app.extensions import db
from app.models import Incident, Role
from app.paging import page_number
from app.payload import BadInput, loads
from app.vocab import load

from . import api, choices, service
from .handling import incident_or_404, membership, refusals

ANY_MEMBER = (Role.OUTREACH, Role.COORDINATOR, Role.ANALYST)
KEY_HOLDERS = (Role.OUTREACH, Role.COORDINATOR)
MAX_PER_PAGE = 500
SEARCH_PAGE = 2000


def _item(incident: Incident, with_sealed: bool) -> dict[str, Any]:
    item = {"id": incident.pid, "version": incident.version,
            "created_by": None, "updated_at": incident.updated_at.isoformat(),
            "published_case_study": incident.published_case_study,
            "attachments": [{"id": a.pid, "kv": a.kv, "iv": a.iv, "size": a.size}
                            for a in incident.attachments] if with_sealed else [],
            **service.coded_dict(incident)}
    if with_sealed:
        item["sealed"] = incident.sealed  # null once the retention rule destroyed it
    item["sealed_destroyed_at"] = (incident.sealed_destroyed_at.isoformat()
                                   if incident.sealed_destroyed_at else None)
    return item


@api.get("/openapi.json")
def openapi() -> Response:
    return send_from_directory(current_app.static_folder or "static", "openapi.json",
                               mimetype="application/json")


@api.get("/vocab")
@role_required(*ANY_MEMBER)
def vocab() -> Any:
    org = current_org()
    lists = {}
    for name, terms in load().lists.items():
        entries = [{"code": t.code, "label": choices.term_label(name, t),
                    "description": choices.term_description(name, t),
                    **({"typical_p": list(t.typical_p)} if name == "kinds" else {})}
                   for t in terms]
        if name in ("instruments", "actors"):
            entries += [{"code": t.code, "label": t.label, "description": t.description}
                        for t in choices.org_terms(org, name)]
        lists[name] = entries
    return jsonify(version=load().version, lists=lists,
                   countries=[{"code": c, "name": n} for c, n in choices.countries()],
                   currencies=[{"code": c, "name": n} for c, n in choices.currencies()])


@api.get("/incidents")
@role_required(*ANY_MEMBER)
def incidents() -> Any:
    from .routes import _filters

    number = page_number()
    size = min(MAX_PER_PAGE, max(1, request.args.get("per_page", 50, type=int) or 50))
    items, total = service.page(current_org(), _filters(), number, size)
    sealed_ok = service.can_read_sealed(membership())
    return jsonify(items=[_item(i, sealed_ok) for i in items], page=number, per_page=size,
                   total=total)


@api.get("/incidents/sealed")
@role_required(*KEY_HOLDERS)
def sealed_feed() -> Any:
    """The envelopes for the in-browser search, 2,000 at a time (key holders only)."""
    from .routes import _filters

    number = page_number()
    size = min(SEARCH_PAGE, max(1, request.args.get("per_page", SEARCH_PAGE, type=int) or 1))
    items, total = service.sealed_feed(current_org(), _filters(), number, size)
    return jsonify(items=items, page=number, per_page=size, total=total)


@api.post("/incidents")
@role_required(*KEY_HOLDERS)
@refusals
def create_incident() -> Any:
    body = json_body()
    org = current_org()
    record_id = body.uuid("id")
    coded = service.validate_coded(org, service.as_formdata(body.raw("coded")))
    sealed = service.check_sealed(org, body.raw("sealed"), record_id)
    incident = service.create(org, current_user, record_id, coded, sealed, [])
    return jsonify(_item(incident, True)), 201


@api.route("/incidents/<uuid:public_id>", methods=["GET", "PUT", "DELETE"])
@role_required(*ANY_MEMBER)
@refusals
def incident(public_id: uuid.UUID) -> Any:
    found = incident_or_404(public_id)
    member = membership()
    if request.method == "GET":
        return jsonify(_item(found, service.can_read_sealed(member)))
    service.require_edit(member, found)
    org = current_org()
    if request.method == "DELETE":
        service.delete(org, current_user, found)
        return jsonify(status="deleted", list_url=url_for("incidents.index"))
    service.require_sealed_tier(found)
    body = json_body()
    coded = service.validate_coded(org, service.as_formdata(body.raw("coded")))
    sealed = service.check_sealed(org, body.raw("sealed"), found.public_id, editing=True)
    service.update(org, current_user, found, body.integer("version", minimum=1), coded, sealed,
                   [], [])
    return jsonify(_item(found, True))


@api.post("/incidents/<uuid:public_id>/attachments")
@role_required(*KEY_HOLDERS)
@refusals
def add_attachment(public_id: uuid.UUID) -> Any:
    found = incident_or_404(public_id)
    service.require_edit(membership(), found)
    service.require_sealed_tier(found)
    upload = request.files.get("file")
    try:
        meta = loads(request.form.get("meta") or "{}")
    except json.JSONDecodeError:
        meta = None
    if upload is None or not isinstance(meta, dict):
        raise BadInput(_("Send the sealed file as 'file' and its envelope as 'meta'."), "file")
    files = {f"attachment-{meta.get('id')}": upload.read()}
    attachments = service.read_attachments(current_org(), json.dumps([meta]), files)
    service.add_attachments(found, attachments)
    db.session.flush()
    return jsonify(id=str(attachments[0].id)), 201


@api.route("/attachments/<uuid:public_id>", methods=["GET", "DELETE"])
@role_required(*KEY_HOLDERS)
@refusals
def attachment(public_id: uuid.UUID) -> Any:
    found = service.get_attachment(current_org(), public_id)
    if found is None:
        abort(404)
    if request.method == "DELETE":
        service.require_edit(membership(), found.incident)
        service.delete_attachment(current_org(), current_user, found)
        return jsonify(status="deleted")
    return Response(found.ciphertext, mimetype="application/octet-stream", headers={
        "X-Collateral-IV": found.iv, "X-Collateral-KV": str(found.kv)})


@api.post("/incidents/import")
@role_required(*KEY_HOLDERS)
@refusals
def import_incidents() -> Any:
    body = json_body()
    org = current_org()
    rows = body.items("incidents", max_items=service.MAX_IMPORT_ROWS)
    if not rows:
        raise BadInput(_("The file has no incidents."), "incidents")
    problems: dict[str, dict[str, list[str]]] = {}
    checked = []
    seen_ivs: set[str] = set()
    for number, row in enumerate(rows, start=1):
        try:
            record_id = row.uuid("id")
            sealed = service.check_sealed(org, row.raw("sealed"), record_id)
            if sealed["iv"] in seen_ivs:
                raise BadInput(_("This row repeats another row's sealed part."), "sealed")
            seen_ivs.add(sealed["iv"])
            checked.append((record_id, service.validate_coded(
                org, service.as_formdata(row.raw("coded"))), sealed))
        except service.FormInvalid as exc:
            problems[str(number)] = exc.errors
        except (BadInput, service.Conflict) as exc:
            problems[str(number)] = {getattr(exc, "field", None) or "row": [exc.message]}
    if problems:
        return jsonify(error=ngettext("Nothing was imported: %(num)d row needs attention.",
                                      "Nothing was imported: %(num)d rows need attention.",
                                      len(problems)), rows=problems, field=None), 400
    for record_id, coded, sealed in checked:
        service.create(org, current_user, record_id, coded, sealed, [])
    return jsonify(status="ok", imported=len(checked)), 201


@api.route("/incidents/<uuid:public_id>/case-study", methods=["PUT", "DELETE"])
@role_required(Role.COORDINATOR)
@refusals
def case_study(public_id: uuid.UUID) -> Any:
    found = incident_or_404(public_id)
    if request.method == "DELETE":
        service.unpublish(current_org(), current_user, found)
    else:
        service.publish(current_org(), current_user, found, json_body().text(
            "text", max_len=20_000) or "")
    return jsonify(status="ok", published=found.published_case_study)
