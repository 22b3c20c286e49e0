"""Research pages: a researcher's requests and extracts; coordinators' review and invites.
Thin: every rule is in service.py."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.auth.access import current_membership, login_required
from app.extensions import db
from app.models import (
    Collective,
    CollectiveRole,
    CollectiveRoleName,
    ExtractRequest,
    MembershipStatus,
    Role,
)
from app.payload import BadInput

from . import anonymise, bp, service


@bp.app_context_processor
def _nav() -> dict[str, Any]:
    def can_research() -> bool:
        if not current_user.is_authenticated:
            return False
        coordinating = _coordinating()
        return service.is_researcher(current_user) or coordinating["org"] is not None \
            or bool(coordinating["collectives"])
    return {"can_research": can_research}


def _coordinating() -> dict[str, Any]:
    """What the current person may invite researchers to."""
    membership = current_membership()
    org = (membership.organisation if membership is not None and membership.role ==
           Role.COORDINATOR and membership.status == MembershipStatus.CONFIRMED else None)
    collectives = list(db.session.scalars(sa.select(Collective).join(
        CollectiveRole, CollectiveRole.collective_id == Collective.id).where(
        CollectiveRole.user_id == current_user.id,
        CollectiveRole.role == CollectiveRoleName.COORDINATOR)))
    return {"org": org, "collectives": collectives}


def _page(error: BadInput | None = None, status: int = 200, link: str | None = None) -> Any:
    scopes = service.scopes(current_user)
    coordinating = _coordinating()
    if not scopes and coordinating["org"] is None and not coordinating["collectives"]:
        abort(403, description=_("Research extracts are for invited researchers and for the "
                                 "coordinators who decide on their requests."))
    mine = list(db.session.scalars(sa.select(ExtractRequest).where(
        ExtractRequest.researcher_id == current_user.id)
        .order_by(ExtractRequest.created_at.desc())))
    return render_template("research/index.html", scopes=scopes, mine=mine, error=error,
                           form=request.form, fields=anonymise.FIELDS, link=link,
                           review=service.to_review(current_user), **coordinating), status


@bp.get("")
@login_required
def index() -> Any:
    return _page()


@bp.post("/requests")
@login_required
def create() -> Any:
    try:
        made = service.create_request(current_user, request.form)
    except BadInput as exc:
        db.session.rollback()
        return _page(exc, 400)
    db.session.commit()
    flash(_("Your request was sent. You will see each decision and its reason here."),
          "success")
    return redirect(url_for("research.detail", public_id=made.public_id))


def _visible(public_id: Any) -> ExtractRequest:
    found = db.session.scalar(sa.select(ExtractRequest).where(
        ExtractRequest.public_id == public_id))
    if found is None or (found.researcher_id != current_user.id
                         and not service.may_decide(current_user, found)):
        abort(404, description=_("There is no request with this address that you may see."))
    return found


@bp.get("/requests/<uuid:public_id>")
@login_required
def detail(public_id: Any) -> str:
    found = _visible(public_id)
    extract = service.extract_of(found)
    return render_template(
        "research/detail.html", req=found, extract=extract,
        orgs=service.included_orgs(found), is_researcher=found.researcher_id == current_user.id,
        can_decide=found.status.value == "pending" and service.may_decide(current_user, found)
        and all(d.user_id != current_user.id for d in found.decisions),
        page={"user-id": current_user.pid,
              "data-url": url_for("research.download", public_id=extract.public_id,
                                  part="data") if extract else "",
              "dictionary-url": url_for("research.download", public_id=extract.public_id,
                                        part="dictionary") if extract else ""})


@bp.post("/requests/<uuid:public_id>/decide")
@login_required
def decide(public_id: Any) -> Any:
    found = _visible(public_id)
    try:
        service.decide(current_user, found, request.form.get("decision") == "approve",
                       request.form.get("reason", ""))
    except BadInput as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("research.detail", public_id=public_id))
    db.session.commit()
    flash(_("Your decision is recorded; the researcher sees it with your reason."), "success")
    return redirect(url_for("research.detail", public_id=public_id))


@bp.get("/extracts/<uuid:public_id>/<any(data, dictionary):part>")
@login_required
def download(public_id: Any, part: str) -> Any:
    from app.models import Extract

    extract = db.session.scalar(sa.select(Extract).where(Extract.public_id == public_id))
    if extract is None:
        abort(404)
    try:
        path = service.file_for(current_user, extract, part)
    except LookupError:
        abort(404, description=_("There is no extract with this address that you may see."))
    except TimeoutError:
        abort(410, description=_("This extract has expired and its files were deleted."))
    db.session.commit()  # the download is audited before a byte leaves
    return send_file(path, mimetype="application/octet-stream", as_attachment=True,
                     download_name=f"{part}-{extract.pid}.sealed", max_age=0)


@bp.get("/keyfile")
@login_required
def keyfile() -> Any:
    """The researcher's key, still locked by their passphrase (ciphertext only), for opening
    extracts offline with scripts/open_extract.py."""
    if not service.is_researcher(current_user):
        abort(403)
    user = current_user
    response = jsonify(user=user.pid, salt=user.kdf_salt, kdf={
        "m": user.kdf_memory_kib, "t": user.kdf_time_cost, "p": user.kdf_parallelism},
        wrapped_private_key=user.wrapped_private_key)
    response.headers["Content-Disposition"] = 'attachment; filename="collateral-key.json"'
    return response


@bp.post("/invite")
@login_required
def invite() -> Any:
    coordinating = _coordinating()
    target = request.form.get("scope", "")
    org = coordinating["org"] if target == "org" else None
    collective = next((c for c in coordinating["collectives"] if c.pid == target), None)
    if org is None and collective is None:
        abort(403, description=_("You may invite researchers only for your own organisation "
                                 "or a collective you coordinate."))
    try:
        token = service.invite_researcher(request.form.get("email", ""), current_user, org=org,
                                          collective=collective)
    except BadInput as exc:
        db.session.rollback()
        return _page(exc, 400)
    db.session.commit()
    if token is None:
        flash(_("This researcher already has an account; they may now ask you too."), "success")
        return redirect(url_for("research.index"))
    link = url_for("auth.register_page", token=token, _external=True)
    return _page(link=link)
