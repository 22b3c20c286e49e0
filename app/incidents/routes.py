from __future__ import annotations

import csv
import io
import json
import re
import uuid
from typing import Any

import sqlalchemy as sa
from flask import (
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from app import audit
from app.auth.access import current_org, role_required
from app.extensions import db
from app.models import Incident, OrgTerm, Role, User
from app.paging import page_number
from app.payload import BadInput
from app.vocab import load

from . import bp, choices, guidance, service
from .forms import FilterForm, IncidentForm
from .handling import (
    incident_or_404,
    json_list,
    membership,
    record_id_from,
    refusals,
    uploaded_files,
)

ANY_MEMBER = (Role.OUTREACH, Role.COORDINATOR, Role.ANALYST)
KEY_HOLDERS = (Role.OUTREACH, Role.COORDINATOR)
PER_PAGE = 25
SEALED_CSV_COLUMNS = ("narrative", "exact_date", "exact_time", "place", "officers", "taken",
                      "support")
CODED_CSV_COLUMNS = ("kinds", "four_p", "instrument", "actors", "country", "region", "month",
                     "work_setting", "groups", "people_affected", "amount_confiscated",
                     "currency", "days_detained", "source", "consent", "case_study", "status")


def _filters() -> service.Filters:
    args = request.args
    month = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")

    def pick(name: str, allowed: tuple[str, ...] | None = None) -> str | None:
        value = (args.get(name) or "").strip()
        if not value or (allowed is not None and value not in allowed):
            return None
        return value

    vocab = load()
    return service.Filters(
        kind=pick("kind", vocab.codes("kinds")), four_p=pick("four_p", vocab.codes("four_p")),
        actor=pick("actor"), country=(pick("country") or "").upper()[:2] or None,
        month_from=pick("month_from") if month.fullmatch(args.get("month_from", "")) else None,
        month_to=pick("month_to") if month.fullmatch(args.get("month_to", "")) else None,
        status=pick("status", vocab.codes("statuses")))


def labels_for(org: Any) -> dict[str, dict[str, str]]:
    names = ("kinds", "four_p", "instruments", "actors", "work_settings", "groups", "sources",
             "consent", "statuses")
    return {name: dict(choices.vocab_choices(name, org)) for name in names}


@bp.get("")
@role_required(*ANY_MEMBER)
def index() -> str:
    org = current_org()
    number = page_number()
    filters = _filters()
    items, total = service.page(org, filters, number, PER_PAGE)
    return render_template(
        "incidents/list.html", items=items, labels=labels_for(org),
        filters=FilterForm(request.args, org=org), active_filters=filters,
        country_names=choices.country_names(),
        pagination={"page": number, "pages": max(1, -(-total // PER_PAGE)), "total": total},
        can_search=service.can_read_sealed(membership()),
        page={"api-url": url_for("api.incidents"), "search-url": url_for("api.sealed_feed"),
              "org-id": org.pid,
              "role": membership().role.value,
              "view-url-template": url_for("incidents.view", public_id=uuid.UUID(int=0))
              .replace(str(uuid.UUID(int=0)), "{id}")})


def _form_page(form: IncidentForm, incident: Incident | None) -> str:
    org = current_org()
    record_id = incident.pid if incident else (request.args.get("draft") or str(uuid.uuid4()))
    try:
        record_id = str(uuid.UUID(record_id))
    except ValueError:
        record_id = str(uuid.uuid4())
    attachments = [{"id": a.pid, "kv": a.kv, "iv": a.iv, "size": a.size}
                   for a in incident.attachments] if incident else []
    post_url = (url_for("incidents.edit", public_id=incident.public_id) if incident
                else url_for("incidents.new"))
    return render_template(
        "incidents/form.html", form=form, incident=incident,
        help=guidance.form_help(),
        page={"record-id": record_id, "org-id": org.pid, "current-kv": org.current_kv,
              "version": incident.version if incident else 0, "post-url": post_url,
              "view-url-template": url_for("incidents.view", public_id=uuid.UUID(int=0))
              .replace(str(uuid.UUID(int=0)), "{id}"),
              "sealed": json.dumps(incident.sealed) if incident else "",
              "attachments": json.dumps(attachments),
              "max-attachment-bytes": current_app.config["MAX_ATTACHMENT_BYTES"],
              "kind-suggestions": json.dumps(load().suggestions())})


def _save(incident: Incident | None) -> Any:
    """The form's POST: coded fields through WTForms, the sealed tier as an envelope."""
    org = current_org()
    coded = service.validate_coded(org, request.form)
    if not request.form.get("sealed"):
        service.check_sealed(org, None)  # refuses, saying why, before anything else
    record_id = incident.public_id if incident else record_id_from(request.form.get("record_id"))
    sealed = service.check_sealed(org, request.form.get("sealed"), record_id,
                                  editing=incident is not None)
    attachments = service.read_attachments(org, request.form.get("attachments_meta"),
                                           uploaded_files())
    if incident is None:
        saved = service.create(org, current_user, record_id, coded, sealed, attachments)
        status = 201
    else:
        service.require_edit(membership(), incident)
        version = request.form.get("version", type=int)
        if version is None:
            raise BadInput(_("The page did not say which version it edited. Reload it."),
                           "version")
        saved = service.update(org, current_user, incident, version, coded, sealed,
                               attachments, [str(x) for x in json_list(
                                   request.form.get("remove_attachments"), "attachments")])
        status = 200
    return jsonify(id=saved.pid, version=saved.version,
                   url=url_for("incidents.view", public_id=saved.public_id)), status


@bp.route("/new", methods=["GET", "POST"])
@role_required(*KEY_HOLDERS)
def new() -> Any:
    if request.method == "POST":
        return refusals(lambda: _save(None))()
    return _form_page(IncidentForm(org=current_org()), None)


@bp.route("/<uuid:public_id>/edit", methods=["GET", "POST"])
@role_required(*KEY_HOLDERS)
def edit(public_id: uuid.UUID) -> Any:
    incident = incident_or_404(public_id)
    if not service.can_edit(membership(), incident):
        abort(403)
    if incident.sealed_destroyed_at is not None:
        if request.method == "POST":
            return jsonify(error=service.destroyed_message(incident), field=None), 409
        flash(service.destroyed_message(incident), "error")
        return redirect(url_for("incidents.view", public_id=incident.public_id))
    if request.method == "POST":
        return refusals(lambda: _save(incident))()
    form = IncidentForm(formdata=None, org=current_org(),
                        data=service.coded_dict(incident) | {
                            "amount_confiscated": incident.amount_confiscated})
    return _form_page(form, incident)


@bp.get("/<uuid:public_id>")
@role_required(*ANY_MEMBER)
def view(public_id: uuid.UUID) -> str:
    incident = incident_or_404(public_id)
    org = current_org()
    member = membership()
    destroyed = incident.sealed_destroyed_at is not None
    sealed_ok = service.can_read_sealed(member) and not destroyed
    author = db.session.get(User, incident.created_by_id) if incident.created_by_id else None
    return render_template(
        "incidents/view.html", incident=incident, labels=labels_for(org),
        coded=service.coded_dict(incident), country=choices.country_name(incident.country),
        author=author, can_edit=service.can_edit(member, incident), destroyed=destroyed,
        page={"record-id": incident.pid, "org-id": org.pid,
              "sealed": json.dumps(incident.sealed) if sealed_ok else "",
              "attachments": json.dumps([{"id": a.pid, "kv": a.kv, "iv": a.iv, "size": a.size}
                                         for a in incident.attachments] if sealed_ok else []),
              "attachment-url-template": url_for("api.attachment", public_id=uuid.UUID(int=0))
              .replace(str(uuid.UUID(int=0)), "{id}"),
              "delete-url": url_for("api.incident", public_id=incident.public_id),
              "publish-url": url_for("api.case_study", public_id=incident.public_id),
              "list-url": url_for("incidents.index"),
              "consent": incident.consent, "case-study": "1" if incident.case_study else "0",
              "can-edit": "1" if service.can_edit(member, incident) else "0",
              "can-publish": "1" if (member.role == Role.COORDINATOR and not destroyed and
                                     service.consent_allows_case_study(incident)) else "0"})


@bp.get("/import")
@role_required(*KEY_HOLDERS)
def import_page() -> str:
    org = current_org()
    return render_template("incidents/import.html", columns=CODED_CSV_COLUMNS + SEALED_CSV_COLUMNS,
                           sealed_columns=SEALED_CSV_COLUMNS,
                           page={"import-url": url_for("api.import_incidents"),
                                 "template-url": url_for("incidents.import_template"),
                                 "org-id": org.pid, "current-kv": org.current_kv,
                                 "vocab-url": url_for("api.vocab"),
                                 "list-url": url_for("incidents.index")})


@bp.get("/import/template.csv")
@role_required(*KEY_HOLDERS)
def import_template() -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CODED_CSV_COLUMNS + SEALED_CSV_COLUMNS)
    writer.writerow(["raid;confiscation", "protection", "rescue_operation", "police",
                     "PT", "", "2026-03", "indoor_private", "documented_migrant;woman", "2",
                     "1850.00", "EUR", "", "firsthand", "aggregate", "false", "complete",
                     _("Example: describe what happened. This column is sealed in your "
                       "browser."),
                     "2026-03-14", "22:30", "", "", "", ""])
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": "attachment; filename=collateral-import-template.csv"})


# The organisation's own instruments and actors.

@bp.route("/terms", methods=["GET", "POST"])
@role_required(Role.COORDINATOR)
def terms() -> Any:
    org = current_org()
    error = None
    error_field = "label"  # the field the message is about (linked from the error summary)
    if request.method == "POST":
        list_name = request.form.get("list_name", "")
        label = (request.form.get("label") or "").strip()
        code = "org_" + re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")[:56]
        if list_name not in ("instruments", "actors"):
            error, error_field = _("Choose whether this is a measure or an actor."), "list_name"
        elif not label or len(label) > 120 or code == "org_":
            error = _("Give it a name of at most 120 characters, with letters or digits.")
        elif db.session.scalar(sa.select(OrgTerm.id).where(
                OrgTerm.org_id == org.id, OrgTerm.list_name == list_name, OrgTerm.code == code)):
            error = _("Your organisation already has this one.")
        else:
            db.session.add(OrgTerm(org_id=org.id, list_name=list_name, code=code, label=label,
                                   description=(request.form.get("description") or "")[:300]))
            audit.record("vocab_term_added", org=org, actor=current_user, object_type="term",
                         object_id=None, list=list_name, code=code)
            db.session.commit()
            return redirect(url_for("incidents.terms"))
    return render_template("incidents/terms.html", error=error, error_field=error_field, org=org,
                           instruments=choices.org_terms(org, "instruments"),
                           actors=choices.org_terms(org, "actors")), 400 if error else 200

