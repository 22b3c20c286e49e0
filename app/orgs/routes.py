from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.audit_verify import verify_org
from app.auth.access import current_org, json_body, json_endpoint, role_required
from app.extensions import db
from app.models import AuditEvent, Membership, MembershipStatus, Role, User
from app.paging import page_number
from app.payload import BadInput
from app.retention import service as retention

from . import bp, collectives, service
from .forms import ConfirmActionForm, InviteForm, RoleForm, SettingsForm

COORD = Role.COORDINATOR
AUDIT_PAGE = 50


def _member(member_id: uuid.UUID) -> Membership:
    try:
        return service.membership_of(current_org(), member_id)
    except service.NotFound:
        abort(404)


def _members_page(form: InviteForm | None = None,
                  settings_form: SettingsForm | None = None) -> str:
    org = current_org()
    rows = db.session.scalars(
        sa.select(Membership).join(User, Membership.user_id == User.id)
        .where(Membership.org_id == org.id, Membership.status != MembershipStatus.REMOVED)
        .order_by(Membership.status.desc(), User.display_name)).all()
    last_run = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.chain == org.id,
                                    AuditEvent.action == "retention_run")
        .order_by(AuditEvent.seq.desc()).limit(1))
    return render_template(
        "orgs/members.html", org=org, members=rows, form=form or InviteForm(),
        settings=settings_form or SettingsForm(require_2fa=org.require_2fa,
                                               retention_months=org.retention_months,
                                               extract_quorum=org.extract_quorum),
        retention_last_run=last_run)


@bp.get("/members")
@role_required(COORD)
def members() -> str:
    return _members_page()


@bp.post("/invites")
@role_required(COORD)
def invite() -> Any:
    form = InviteForm()
    org = current_org()
    if form.validate_on_submit():
        try:
            token = service.create_invite(org, Role(form.role.data), form.email.data,
                                          current_user)
        except BadInput as exc:
            db.session.rollback()
            form.email.errors.append(exc.message)
        else:
            db.session.commit()
            return render_template("orgs/link_created.html", org=org, email=form.email.data,
                                   link=url_for("auth.register_page", token=token,
                                                _external=True))
    return _members_page(form=form), 400


@bp.post("/settings")
@role_required(COORD)
def settings() -> Any:
    form = SettingsForm()
    if not form.validate_on_submit():
        return _members_page(settings_form=form), 400
    org = current_org()
    quorum = form.extract_quorum.data
    if quorum is not None and quorum != org.extract_quorum:  # empty keeps the number
        from app.research import service as research  # here: research imports orgs

        try:
            research.set_quorum(org, quorum, current_user)
        except BadInput as exc:
            db.session.rollback()
            form.extract_quorum.errors = [exc.message]
            return _members_page(settings_form=form), 400
    service.set_require_2fa(org, current_user, bool(form.require_2fa.data))
    retention.set_months(org, current_user, form.retention_months.data)
    db.session.commit()
    flash(_("Saved."), "ok")
    return redirect(url_for("orgs.members"))


@bp.get("/members/<uuid:member_id>")
@role_required(COORD)
def member(member_id: uuid.UUID) -> str:
    membership = _member(member_id)
    org = current_org()
    user = membership.user
    return render_template(
        "orgs/member.html", org=org, membership=membership, role_form=RoleForm(
            role=membership.role.value), reset_form=ConfirmActionForm(),
        member={"display_name": user.display_name, "email": user.email,
                "role": membership.role.value, "status": membership.status.value},
        page={"member-id": user.pid, "public-key": user.public_key,
              "role": membership.role.value, "status": membership.status.value,
              "org-id": org.pid, "kv-list": ",".join(str(v.kv) for v in
                                                     service.key_versions(org)),
              "confirm-url": url_for("orgs.member_confirm", member_id=user.public_id),
              "remove-url": url_for("orgs.member_remove", member_id=user.public_id),
              "keyholders-url": url_for("orgs.keyholders"),
              "keyring-url": url_for("auth.keyring"),
              "members-url": url_for("orgs.members")})


@bp.post("/members/<uuid:member_id>/confirm")
@role_required(COORD)
@json_endpoint
def member_confirm(member_id: uuid.UUID) -> Any:
    membership = _member(member_id)
    service.confirm(current_org(), current_user, membership, json_body())
    return jsonify(status="ok")


@bp.post("/members/<uuid:member_id>/remove")
@role_required(COORD)
@json_endpoint
def member_remove(member_id: uuid.UUID) -> Any:
    membership = _member(member_id)
    body = json_body()
    demote = body.raw("demote_to", optional=True)
    if demote not in (None, Role.ANALYST.value):
        raise BadInput(_("A member can only be demoted to analyst."), "demote_to")
    if membership.role == Role.ANALYST and demote is None:
        # Analysts never held the key: removing one needs no new key version.
        service.remove_keyless(current_org(), current_user, membership)
        return jsonify(status="ok", kv=current_org().current_kv)
    version = service.rotate(current_org(), current_user, body, remove=membership,
                             demote=demote is not None)
    return jsonify(status="ok", kv=version.kv)


@bp.post("/members/<uuid:member_id>/role")
@role_required(COORD)
def member_role(member_id: uuid.UUID) -> Any:
    membership = _member(member_id)
    form = RoleForm()
    if form.validate_on_submit():
        role = Role(form.role.data)
        try:
            if membership.role == Role.ANALYST and role != Role.ANALYST:
                service.promote_analyst(current_org(), current_user, membership, role)
            else:
                service.change_role(current_org(), current_user, membership, role)
        except BadInput as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(_("Role changed."), "ok")
    return redirect(url_for("orgs.member", member_id=member_id))


@bp.post("/members/<uuid:member_id>/reset")
@role_required(COORD)
def member_reset(member_id: uuid.UUID) -> Any:
    membership = _member(member_id)
    form = ConfirmActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        token = service.reset(current_org(), current_user, membership)
    except BadInput as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("orgs.member", member_id=member_id))
    db.session.commit()
    return render_template("orgs/link_created.html", org=current_org(),
                           email=membership.user.email, reset=True,
                           link=url_for("auth.register_page", token=token, _external=True))


@bp.get("/keyholders")
@role_required(COORD)
def keyholders() -> Any:
    org = current_org()
    exclude = None
    if request.args.get("exclude"):
        try:
            exclude = service.membership_of(org, uuid.UUID(request.args["exclude"])).user
        except (ValueError, service.NotFound):
            abort(404)
    versions = service.key_versions(org)
    return jsonify(current_kv=org.current_kv,
                   recovery_public_key=versions[-1].recovery_public_key if versions else None,
                   holders=[{"id": u.pid, "public_key": u.public_key}
                            for u in service.key_holders(org, exclude=exclude)])


@bp.get("/keys")
@role_required(COORD)
def keys() -> str:
    org = current_org()
    return render_template("orgs/keys.html", org=org, versions=service.key_versions(org),
                           page={"org-id": org.pid, "rotate-url": url_for("orgs.keys_rotate"),
                                 "keyholders-url": url_for("orgs.keyholders"),
                                 "keyring-url": url_for("auth.keyring"),
                                 "done-url": url_for("orgs.keys")})


@bp.post("/keys/rotate")
@role_required(COORD)
@json_endpoint
def keys_rotate() -> Any:
    version = service.rotate(current_org(), current_user, json_body())
    return jsonify(status="ok", kv=version.kv)


@bp.get("/audit")
@role_required(COORD)
def audit_log() -> str:
    org = current_org()
    page = page_number()
    events = db.session.execute(
        sa.select(AuditEvent, User.display_name, User.email)
        .outerjoin(User, AuditEvent.actor_id == User.id)
        .where(AuditEvent.chain == org.id)
        .order_by(AuditEvent.seq.desc())
        .limit(AUDIT_PAGE + 1).offset((page - 1) * AUDIT_PAGE)).all()
    return render_template("orgs/audit.html", org=org, events=events[:AUDIT_PAGE], page=page,
                           has_more=len(events) > AUDIT_PAGE, chain=verify_org(org))


# Collectives, from the organisation's side: accept or decline, naming consent, leave.

def _collective_membership(public_id: uuid.UUID) -> Any:
    found = collectives.membership(current_org(), public_id)
    if found is None:
        abort(404, description=_("Your organisation has no invitation to or place in this "
                                 "collective."))
    return found


@bp.get("/collectives")
@role_required(COORD)
def collectives_page() -> str:
    return render_template("orgs/collectives.html",
                           memberships=collectives.memberships(current_org()))


@bp.post("/collectives/<uuid:public_id>/<any(accept, naming, leave):action>")
@role_required(COORD)
def collective_action(public_id: uuid.UUID, action: str) -> Any:
    found = _collective_membership(public_id)
    named = request.form.get("may_be_named") == "1"
    try:
        if action == "accept":
            collectives.accept(found, current_user, named)
            message = _("Your organisation joined %(name)s. Its reports now count your "
                        "incidents that allow aggregate use.", name=found.collective.name)
        elif action == "naming":
            collectives.set_naming(found, current_user, named)
            message = (_("Collective reports may now name your organisation.") if named else
                       _("Collective reports will no longer name your organisation."))
        else:
            collectives.leave(found, current_user)
            message = _("Your organisation is no longer part of %(name)s; its reports no "
                        "longer count your incidents.", name=found.collective.name)
    except BadInput as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("orgs.collectives_page"))
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("orgs.collectives_page"))
