"""Report pages and downloads. Thin: parsing and scopes in service.py, figures in build.py,
files in export.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import audit, i18n
from app.auth.access import current_membership, login_required
from app.extensions import db
from app.incidents import choices
from app.models import CollectiveRoleName
from app.orgs import collectives
from app.payload import BadInput
from app.reports import export, present, service
from app.reports.build import Report
from app.reports.params import FILTERS, last_four_quarters

from . import bp

FORMATS = {"pdf": "application/pdf", "csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    def can_report() -> bool:
        if not current_user.is_authenticated:
            return False
        return bool(service.scopes(current_user, current_membership()))

    return {"can_report": can_report, "report_cell": present.cell_text,
            "report_change": present.change_text, "report_window": present.window_label,
            "report_included": present.included, "report_headline": present.headline,
            "report_charts": present.report_charts, "report_tables": present.tables,
            "report_amounts": present.amounts, "report_methodology": present.methodology,
            "report_month": present.month_label, "report_country": choices.country_name,
            "report_money": i18n.format_money, "report_filter": present.filter_text}


@bp.app_template_filter("report_when")
def _when(value: datetime) -> str:
    return i18n.format_when(value)


def _scopes_or_403() -> list[service.ReportScope]:
    scopes = service.scopes(current_user, current_membership())
    if not scopes:
        abort(403, description=_("Reports are made by coordinators and analysts of an "
                                 "organisation, and by a collective's analysts."))
    return scopes


def _form_page(error: BadInput | None = None, status: int = 200) -> tuple[str, int]:
    scopes = _scopes_or_403()
    default = last_four_quarters(datetime.now(UTC).date())
    org = next((s.org for s in scopes if s.org is not None), None)
    lists = {name: choices.vocab_choices(list_name, org) for name, list_name in FILTERS.items()
             if list_name is not None}
    return render_template(
        "reports/index.html", scopes=scopes, args=request.args, error=error, lists=lists,
        countries=choices.countries(), default=default,
        saved=service.saved_reports(current_user, current_membership())), status


@bp.get("")
@login_required
def index() -> tuple[str, int]:
    return _form_page()


def _generate(args: Any) -> Report | tuple[str, int]:
    _scopes_or_403()
    try:
        params, scope = service.parse(current_user, current_membership(), args)
    except BadInput as exc:
        return _form_page(exc, 400)
    return service.generate(params, scope, current_user)


@bp.get("/view")
@login_required
def view() -> Any:
    report = _generate(request.args)
    if not isinstance(report, Report):
        return report
    return render_template("reports/view.html", report=report, saved=None)


@bp.get("/download/<any(pdf, csv, xlsx):fmt>")
@login_required
def download(fmt: str) -> Any:
    report = _generate(request.args)
    if not isinstance(report, Report):
        return report
    return _file(report, fmt)


def _file(report: Report, fmt: str) -> Response:
    body = {"pdf": export.pdf, "csv": export.csv_bytes, "xlsx": export.xlsx}[fmt](report)
    name = f"collateral-report-{report.params.window.start}-{report.params.window.end}.{fmt}"
    return Response(body, mimetype=FORMATS[fmt], headers={
        "Content-Disposition": f'attachment; filename="{name}"'})


@bp.post("/save")
@login_required
def save() -> Any:
    _scopes_or_403()
    try:
        params, scope = service.parse(current_user, current_membership(), request.form)
        saved = service.save(scope, params, request.form.get("title", ""), current_user)
    except BadInput as exc:
        db.session.rollback()
        return _form_page(exc, 400)
    db.session.commit()
    flash(_("Report saved. Opening it again makes it afresh from the data as it is then."),
          "success")
    return redirect(url_for("reports.saved", public_id=saved.public_id))


@bp.get("/saved/<uuid:public_id>")
@login_required
def saved(public_id: Any) -> Any:
    found = service.find_saved(current_user, current_membership(), public_id)
    args = dict(found.params) | {"scope": service.saved_scope(found)}
    report = _generate(args)
    if not isinstance(report, Report):
        return report
    found.generated_at = report.generated_at
    db.session.commit()
    fmt = request.args.get("format")
    if fmt in FORMATS:
        return _file(report, fmt)
    return render_template("reports/view.html", report=report, saved=found)


@bp.post("/saved/<uuid:public_id>/delete")
@login_required
def delete_saved(public_id: Any) -> Any:
    found = service.find_saved(current_user, current_membership(), public_id)
    membership = current_membership()
    org = membership.organisation if membership and found.org_id == membership.org_id else None
    audit.record("report_deleted", org=org, actor=current_user, object_type="report",
                 object_id=found.pid)
    db.session.delete(found)
    db.session.commit()
    flash(_("The saved report was deleted. Its parameters are gone; no data was changed."),
          "success")
    return redirect(url_for("reports.index"))


# A collective's own page, for the people appointed to it.

def _collective_role(public_id: Any) -> Any:
    role = collectives.role_of(current_user, public_id)
    if role is None:
        abort(404, description=_("There is no collective with this address that you may see."))
    return role


def _collective_page(role: Any, error: str | None = None, status: int = 200,
                     error_field: str = "k") -> tuple[str, int]:
    return render_template("reports/collective.html", role=role, error=error,
                           error_field=error_field,
                           members=service.member_orgs(role.collective),
                           invited=collectives.invited_count(role.collective)), status


@bp.get("/collectives/<uuid:public_id>")
@login_required
def collective(public_id: Any) -> tuple[str, int]:
    return _collective_page(_collective_role(public_id))


@bp.post("/collectives/<uuid:public_id>/threshold")
@login_required
def collective_threshold(public_id: Any) -> Any:
    return _collective_setting(
        public_id, "k", collectives.set_threshold,
        denied=_("Only the collective's coordinators set its threshold."),
        saved=lambda c: _("Saved. Reports of the collective now hide counts under %(k)d.",
                          k=c.min_cell))


@bp.post("/collectives/<uuid:public_id>/quorum")
@login_required
def collective_quorum(public_id: Any) -> Any:
    """How many of the collective's coordinators approve a research extract over it."""
    from app.research import service as research  # here: research imports reports

    return _collective_setting(
        public_id, "quorum", research.set_quorum,
        denied=_("Only the collective's coordinators decide this."),
        saved=lambda _c: _("Saved."))


def _collective_setting(public_id: Any, name: str, setter: Callable[[Any, int, Any], None],
                        denied: str, saved: Callable[[Any], str]) -> Any:
    """One number of a collective's, set by its coordinators; refused with the reason."""
    role = _collective_role(public_id)
    if role.role != CollectiveRoleName.COORDINATOR:
        abort(403, description=denied)
    try:
        setter(role.collective, request.form.get(name, type=int) or 0, current_user)
    except BadInput as exc:
        db.session.rollback()
        return _collective_page(role, exc.message, 400, name)
    db.session.commit()
    flash(saved(role.collective), "success")
    return redirect(url_for("reports.collective", public_id=public_id))
