"""Reports for a person: which scopes they may report on, and a report for one of them.

- An organisation's coordinators and analysts report on their own organisation: exact
  counts of every complete incident, unless they mark the report for publication.
- A collective's analysts and coordinators report on the organisations that joined it,
  always with disclosure control at the collective's threshold k.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import abort
from flask_babel import gettext as _
from sqlalchemy.orm import contains_eager
from werkzeug.datastructures import MultiDict

from app import audit
from app.extensions import db
from app.models import (
    Collective,
    CollectiveMember,
    CollectiveRole,
    CollectiveStatus,
    Incident,
    Membership,
    MembershipStatus,
    Organisation,
    OrgTerm,
    Role,
    SavedReport,
    User,
)
from app.payload import BadInput
from app.reports import params as report_params
from app.reports.build import Report, build
from app.reports.engine import Scope
from app.reports.params import ReportParams
from app.vocab import load

REPORTING_ROLES = (Role.COORDINATOR, Role.ANALYST)
PUBLICATION_K = 5  # an organisation's published report uses the default threshold
MAX_CASE_STUDIES = 20
MAX_PUBLISHED_SCAN = 5000  # the most recently published case studies a report looks through


@dataclass(frozen=True)
class ReportScope:
    value: str  # "org" or a collective's public id
    label: str
    org: Organisation | None = None
    collective: Collective | None = None


def _reporting_membership(membership: Membership | None) -> Membership | None:
    if membership is None or membership.status != MembershipStatus.CONFIRMED:
        return None
    return membership if membership.role in REPORTING_ROLES else None


def scopes(user: User, membership: Membership | None) -> list[ReportScope]:
    out = []
    mine = _reporting_membership(membership)
    if mine is not None:
        out.append(ReportScope("org", mine.organisation.name, org=mine.organisation))
    for role in db.session.scalars(sa.select(CollectiveRole).where(
            CollectiveRole.user_id == user.id).join(Collective).order_by(Collective.name)):
        out.append(ReportScope(role.collective.pid, _("%(name)s (collective)",
                                                       name=role.collective.name),
                               collective=role.collective))
    return out


def find_scope(user: User, membership: Membership | None, value: str) -> ReportScope:
    """The scope asked for, if this person may report on it; otherwise 404, so a collective's
    existence is not confirmed to outsiders."""
    for scope in scopes(user, membership):
        if scope.value == value:
            return scope
    abort(404, description=_("There is no report scope %(scope)s that you may see.",
                             scope=value[:40]))


def member_orgs(collective: Collective) -> list[CollectiveMember]:
    return list(db.session.scalars(sa.select(CollectiveMember).where(
        CollectiveMember.collective_id == collective.id,
        CollectiveMember.status == CollectiveStatus.JOINED).join(Organisation)
        .options(contains_eager(CollectiveMember.organisation)).order_by(Organisation.name)))


def _org_ids(scope: ReportScope) -> tuple[int, ...]:
    if scope.org is not None:
        return (scope.org.id,)
    assert scope.collective is not None
    return tuple(m.org_id for m in member_orgs(scope.collective))


def extra_codes(scope: ReportScope) -> dict[str, set[str]]:
    """The organisations' own actors and instruments, valid as filters in this scope."""
    ids = _org_ids(scope)
    rows = db.session.execute(sa.select(OrgTerm.list_name, OrgTerm.code).where(
        OrgTerm.org_id.in_(ids) if ids else sa.false()))
    out: dict[str, set[str]] = {"actors": set(), "instrument": set()}
    for list_name, code in rows:
        out["instrument" if list_name == "instruments" else list_name].add(code)
    return out


def term_labels(scope: ReportScope) -> dict[tuple[str, str], str]:
    ids = _org_ids(scope)
    rows = db.session.execute(sa.select(OrgTerm.list_name, OrgTerm.code, OrgTerm.label).where(
        OrgTerm.org_id.in_(ids) if ids else sa.false()))
    return {(list_name, code): label for list_name, code, label in rows}


def parse(user: User, membership: Membership | None,
          args: MultiDict[str, str] | dict[str, str]) -> tuple[ReportParams, ReportScope]:
    scope = find_scope(user, membership, (args.get("scope") or "org").strip())
    parsed = report_params.parse(args, extra_codes=extra_codes(scope),
                                 today=datetime.now(UTC).date())
    return parsed, scope


def _orders() -> dict[str, tuple[str, ...] | None]:
    vocab = load()
    return {"four_p": vocab.codes("four_p"), "kinds": vocab.codes("kinds"),
            "actors": vocab.codes("actors"), "instrument": vocab.codes("instruments"),
            "country": None, "work_setting": vocab.codes("work_settings"),
            "groups": vocab.codes("groups")}


def generate(params: ReportParams, scope: ReportScope, actor: User) -> Report:
    ids = _org_ids(scope)
    named: list[str] = []
    if scope.collective is not None:
        k: int | None = scope.collective.min_cell
        named = [m.organisation.name for m in member_orgs(scope.collective) if m.may_be_named]
    else:
        k = PUBLICATION_K if params.publish else None
    report = build(db.session, params, ids, k, _orders(), datetime.now(UTC), load().version,
                   named)
    if not report.too_small:
        report.case_studies = case_studies(params, ids, k is not None)
    report.term_labels = term_labels(scope)
    report.scope_label = scope.label
    if params.leaves_org:
        audit.record("report_generated", org=scope.org, actor=actor,
                     object_type="collective" if scope.collective else "organisation",
                     object_id=scope.collective.pid if scope.collective else
                     scope.org.pid if scope.org else None, published=params.publish)
        db.session.commit()
    return report


def case_studies(params: ReportParams, org_ids: tuple[int, ...],
                 protected: bool) -> list[dict[str, Any]]:
    """Published, de-identified case studies of incidents in the scope and window."""
    scope = Scope(org_ids, params.window.start, params.window.end,
                  "aggregate" if protected else None, params.filters)
    # Few incidents are published: find those first by their own index, then apply the
    # scope to them (one query with both lets a planner walk the whole window instead).
    published = list(db.session.scalars(sa.select(Incident.id).where(
        Incident.published_at.is_not(None)).order_by(Incident.published_at.desc())
        .limit(MAX_PUBLISHED_SCAN)))
    if not published:
        return []
    rows = db.session.execute(sa.select(Incident.month, Incident.country,
                                        Incident.published_case_study).where(
        Incident.id.in_(published), *scope.conditions(),
        Incident.published_case_study.is_not(None))
        .order_by(Incident.month.desc(), Incident.id).limit(MAX_CASE_STUDIES))
    return [{"month": month, "country": country, "text": text} for month, country, text in rows]


# Saved reports: their parameters, never their figures.

def save(scope: ReportScope, params: ReportParams, title: str, actor: User) -> SavedReport:
    title = " ".join(title.split())[:200]
    if not title:
        raise BadInput(_("Give the report a title so you can find it again."), "title")
    saved = SavedReport(org_id=scope.org.id if scope.org else None,
                        collective_id=scope.collective.id if scope.collective else None,
                        created_by_id=actor.id, title=title, params=params.to_args())
    db.session.add(saved)
    db.session.flush()
    audit.record("report_saved", org=scope.org, actor=actor, object_type="report",
                 object_id=saved.pid)
    return saved


def saved_reports(user: User, membership: Membership | None) -> list[SavedReport]:
    conditions = []
    for scope in scopes(user, membership):
        if scope.org is not None:
            conditions.append(SavedReport.org_id == scope.org.id)
        elif scope.collective is not None:
            conditions.append(SavedReport.collective_id == scope.collective.id)
    if not conditions:
        return []
    return list(db.session.scalars(sa.select(SavedReport).where(sa.or_(*conditions))
                                   .order_by(SavedReport.created_at.desc())))


def find_saved(user: User, membership: Membership | None, public_id: Any) -> SavedReport:
    for saved in saved_reports(user, membership):
        if saved.public_id == public_id:
            return saved
    abort(404, description=_("There is no saved report with this address that you may see."))


def saved_scope(saved: SavedReport) -> str:
    if saved.collective_id is None:
        return "org"
    collective = db.session.get(Collective, saved.collective_id)
    return collective.pid if collective else ""
