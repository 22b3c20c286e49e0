"""Research requests: who may ask, who decides, the quorum, generation and delivery.

- A researcher asks the organisation or collective that invited them.
- Deciders: the coordinators of the organisation (organisation scope); for a collective, its
  coordinators and the coordinators of its member organisations.
- Quorum, set by each (`extract_quorum`): an organisation's own (default 1 coordinator); for a
  collective, its quorum of collective coordinators (default 2), or every included
  organisation's own quorum. Any refusal refuses the request.
- When the quorum is reached the extract is made at once and sealed to the researcher; it can
  be downloaded until it expires (default 30 days), then its files are deleted.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import format_decimal, format_percent, ngettext
from flask_babel import gettext as _

from app import audit
from app.crypto import load_public_raw
from app.extensions import db
from app.labels import label_of
from app.models import (
    Collective,
    CollectiveMember,
    CollectiveRole,
    CollectiveRoleName,
    CollectiveStatus,
    Extract,
    ExtractDecision,
    ExtractRequest,
    Membership,
    MembershipStatus,
    Organisation,
    RequestStatus,
    ResearcherAccess,
    Role,
    User,
    utcnow,
)
from app.payload import BadInput
from app.research import anonymise
from app.research.deliver import write_extract

MAX_QUORUM = 10
EXTRACT_DAYS = 30
MONTH = "%Y-%m"
MONTH_FORMAT = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


@dataclass(frozen=True)
class Scope:
    value: str  # "org:<pid>" or "collective:<pid>"
    label: str
    org: Organisation | None = None
    collective: Collective | None = None


def scopes(researcher: User) -> list[Scope]:
    out = []
    for access in db.session.scalars(sa.select(ResearcherAccess).where(
            ResearcherAccess.user_id == researcher.id)):
        if access.org_id is not None:
            org = db.session.get(Organisation, access.org_id)
            if org is not None:
                out.append(Scope(f"org:{org.pid}", org.name, org=org))
        elif access.collective_id is not None:
            coll = db.session.get(Collective, access.collective_id)
            if coll is not None:
                out.append(Scope(f"collective:{coll.pid}", coll.name, collective=coll))
    return out


def is_researcher(user: User) -> bool:
    return bool(scopes(user))


def included_orgs(request: ExtractRequest) -> list[Organisation]:
    if request.org_id is not None:
        org = db.session.get(Organisation, request.org_id)
        return [org] if org else []
    return list(db.session.scalars(sa.select(Organisation).join(
        CollectiveMember, CollectiveMember.org_id == Organisation.id).where(
        CollectiveMember.collective_id == request.collective_id,
        CollectiveMember.status == CollectiveStatus.JOINED).order_by(Organisation.name)))


# Asking.

def create_request(researcher: User, form: Any) -> ExtractRequest:
    """A request from the form's fields; BadInput names the field that is wrong."""
    chosen = next((s for s in scopes(researcher) if s.value == form.get("scope")), None)
    if chosen is None:
        raise BadInput(_("You were not invited to ask this organisation or collective."),
                       "scope")
    start, end = (form.get("from") or "").strip(), (form.get("to") or "").strip()
    for name, value in (("from", start), ("to", end)):
        if not anonymise_month(value):
            raise BadInput(_("Write the month as YYYY-MM, for example 2026-03."), name)
    if end < start:
        raise BadInput(_("The window ends before it starts."), "to")
    fields = [f for f in form.getlist("fields")]
    if not fields:
        raise BadInput(_("Choose at least one field."), "fields")
    unknown = [f for f in fields if f not in anonymise.FIELDS]
    if unknown:
        raise BadInput(_("Only coded fields can be asked for; %(fields)s cannot.",
                         fields=", ".join(sorted(unknown))[:200]), "fields")
    texts = {}
    for name, limit in (("purpose", 4000), ("institution", 200), ("ethics_ref", 200)):
        value = " ".join((form.get(name) or "").split()) if name != "purpose" else \
            (form.get(name) or "").strip()
        if not value:
            raise BadInput(_("This is needed for the organisations to decide."), name)
        if len(value) > limit:
            raise BadInput(ngettext("Keep this under %(num)d character.",
                                    "Keep this under %(num)d characters.", limit), name)
        texts[name] = value
    try:
        retention = date.fromisoformat((form.get("retention_until") or "").strip())
    except ValueError:
        raise BadInput(_("Give the date until which you will keep the data, as YYYY-MM-DD."),
                       "retention_until") from None
    if retention <= date.today():
        raise BadInput(_("The retention date must be in the future."), "retention_until")
    try:
        k = int(form.get("k") or anonymise.DEFAULT_K)
    except ValueError:
        k = 0
    if not anonymise.MIN_K <= k <= 100:
        raise BadInput(_("k is a whole number from %(low)d to 100.", low=anonymise.MIN_K), "k")
    probe = ExtractRequest(org_id=chosen.org.id if chosen.org else None,
                           collective_id=chosen.collective.id if chosen.collective else None)
    ids = tuple(org.id for org in included_orgs(probe))
    available = anonymise.Request(ids, start, end, ("country",), k=anonymise.MIN_K)
    if not anonymise.count_rows(db.session, available):
        raise BadInput(_("No incidents in this window allow research use; choose another "
                         "window."), "from")
    request = ExtractRequest(
        researcher_id=researcher.id, org_id=chosen.org.id if chosen.org else None,
        collective_id=chosen.collective.id if chosen.collective else None,
        month_from=start, month_to=end, fields=sorted(set(fields)), k=k,
        hxl=form.get("hxl") in ("1", "on", "y"), retention_until=retention, **texts)
    db.session.add(request)
    db.session.flush()
    targets: list[Organisation | None] = [*included_orgs(request)] or [None]
    for org in targets:
        audit.record("extract_requested", org=org, actor=researcher,
                     object_type="extract_request", object_id=request.pid)
    return request


def anonymise_month(value: str) -> bool:
    # ASCII digits only: str.isdigit() and int() also take other scripts' digits.
    return MONTH_FORMAT.fullmatch(value) is not None and int(value[:4]) >= 1990


# Deciding.

def decider_orgs(user: User, request: ExtractRequest) -> tuple[list[Organisation], bool]:
    """(organisations for which `user` is a coordinator among those included, whether the
    user is a coordinator of the request's collective)."""
    included = {org.id: org for org in included_orgs(request)}
    mine = [included[m.org_id] for m in db.session.scalars(sa.select(Membership).where(
        Membership.user_id == user.id, Membership.role == Role.COORDINATOR,
        Membership.status == MembershipStatus.CONFIRMED)) if m.org_id in included]
    collective = request.collective_id is not None and db.session.scalar(
        sa.select(CollectiveRole.id).where(
            CollectiveRole.user_id == user.id,
            CollectiveRole.collective_id == request.collective_id,
            CollectiveRole.role == CollectiveRoleName.COORDINATOR)) is not None
    return mine, collective


def may_decide(user: User, request: ExtractRequest) -> bool:
    orgs, collective = decider_orgs(user, request)
    return bool(orgs) or collective


def to_review(user: User) -> list[ExtractRequest]:
    pending = db.session.scalars(sa.select(ExtractRequest).where(
        ExtractRequest.status == RequestStatus.PENDING).order_by(ExtractRequest.created_at))
    return [r for r in pending if may_decide(user, r)]


def decide(user: User, request: ExtractRequest, approve: bool, reason: str) -> None:
    if request.status != RequestStatus.PENDING:
        raise BadInput(_("This request has already been decided."))
    orgs, collective = decider_orgs(user, request)
    if not orgs and not collective:
        raise BadInput(_("You have no say on this request."))
    reason = reason.strip()[:2000]
    if not approve and not reason:
        raise BadInput(_("Say why you refuse: the researcher will read it."), "reason")
    if any(d.user_id == user.id for d in request.decisions):
        raise BadInput(_("You have already decided on this request."))
    request.decisions.append(ExtractDecision(
        # A collective coordinator decides for the collective; otherwise for their organisation.
        user_id=user.id, org_id=orgs[0].id if orgs and not collective else None,
        approve=approve, reason=reason, created_at=utcnow()))
    targets: list[Organisation | None] = [*orgs] or [None]
    for org in targets:
        audit.record("extract_approved" if approve else "extract_refused", org=org, actor=user,
                     object_type="extract_request", object_id=request.pid)
    if not approve:
        request.status, request.decided_at = RequestStatus.REFUSED, utcnow()
        request.status_reason = reason
    elif quorum_reached(request):
        request.decided_at = utcnow()
        generate(request)


def quorum_reached(request: ExtractRequest) -> bool:
    approvals = [d for d in request.decisions if d.approve]
    by_org: dict[int, set[int | None]] = {}
    for d in approvals:
        if d.org_id is not None:
            by_org.setdefault(d.org_id, set()).add(d.user_id)
    orgs = included_orgs(request)
    every_org = bool(orgs) and all(len(by_org.get(org.id, ())) >= org.extract_quorum
                                   for org in orgs)
    if request.collective_id is None:
        return every_org
    collective = db.session.get(Collective, request.collective_id)
    by_collective = {d.user_id for d in approvals if d.org_id is None}
    return every_org or (collective is not None
                         and len(by_collective) >= collective.extract_quorum)


def set_quorum(target: Organisation | Collective, n: int, actor: User | None) -> None:
    if not 1 <= n <= MAX_QUORUM:
        raise BadInput(_("The quorum is a whole number from 1 to %(n)d.", n=MAX_QUORUM),
                       "quorum")
    target.extract_quorum = n
    audit.record("extract_quorum", org=target if isinstance(target, Organisation) else None,
                 actor=actor, object_type=type(target).__name__.lower(),
                 object_id=target.pid, quorum=n)


# Generating and delivering.

def extracts_dir() -> Path:
    configured = current_app.config.get("EXTRACTS_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "extracts"


def _cannot_reason(exc: anonymise.CannotAnonymise) -> str:
    """Why an approved request could not be made, in the language of whoever approved it
    (the reason is stored as text, so the researcher reads it in that language)."""
    d = exc.details
    if not d.get("rows"):
        return str(_("No incidents in this scope and window allow research use."))
    level = d["level"]
    return str(_(
        "Even at the coarsest level (%(place)s, %(period)s, %(numbers)s) %(dropped)s of "
        "%(rows)s rows would have to be dropped to reach k = %(k)s, more than %(limit)s. Ask "
        "for fewer fields, a wider window or a smaller k.",
        place=label_of("generalisation", level["place"]),
        period=label_of("generalisation", level["period"]),
        numbers=label_of("generalisation", level["numbers"]),
        dropped=format_decimal(d["dropped"]), rows=format_decimal(d["rows"]),
        k=format_decimal(d["k"]), limit=format_percent(d["limit"])))


def generate(request: ExtractRequest) -> Extract | None:
    """Make the extract now (the request is approved). A request that cannot reach k is
    marked FAILED with the reason, which the researcher sees."""
    researcher = db.session.get(User, request.researcher_id)
    assert researcher is not None
    ids = tuple(org.id for org in included_orgs(request))
    wanted = anonymise.Request(ids, request.month_from, request.month_to,
                               tuple(request.fields), k=request.k)
    try:
        chosen = anonymise.plan(db.session, wanted)
    except anonymise.CannotAnonymise as exc:
        request.status, request.status_reason = RequestStatus.FAILED, _cannot_reason(exc)
        return None
    extract = Extract(request_id=request.id,
                      expires_at=utcnow() + timedelta(days=current_app.config.get(
                          "EXTRACT_DAYS", EXTRACT_DAYS)),
                      rows=0, rows_suppressed=chosen.suppressed, achieved_k=0,
                      generalisation=chosen.level.describe(), data_bytes=0, dictionary_bytes=0)
    db.session.add(extract)
    db.session.flush()
    directory = extracts_dir() / extract.pid
    directory.mkdir(parents=True, exist_ok=True)
    terms = {"purpose": request.purpose, "institution": request.institution,
             "ethics_approval": request.ethics_ref,
             "retention_until": request.retention_until.isoformat(),
             "download_until": extract.expires_at.date().isoformat(),
             "conditions": "Use only for the stated purpose; do not try to re-identify anyone; "
                           "delete by the retention date."}
    try:
        written = write_extract(db.session, wanted, chosen,
                                load_public_raw_key(researcher), researcher.pid, extract.pid,
                                directory, terms, hxl=request.hxl)
    except Exception:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    extract.rows, extract.achieved_k = written.rows, written.achieved_k
    extract.data_bytes, extract.dictionary_bytes = written.csv_bytes, written.dictionary_bytes
    request.status = RequestStatus.READY
    for org in included_orgs(request):
        audit.record("extract_generated", org=org, object_type="extract",
                     object_id=extract.pid, rows=written.rows, k=written.achieved_k)
    return extract


def load_public_raw_key(user: User) -> Any:
    from app.crypto import b64u_decode
    return load_public_raw(b64u_decode(user.public_key))


def extract_of(request: ExtractRequest) -> Extract | None:
    return db.session.scalar(sa.select(Extract).where(Extract.request_id == request.id))


def file_for(researcher: User, extract: Extract, part: str) -> Path:
    request = db.session.get(ExtractRequest, extract.request_id)
    if request is None or request.researcher_id != researcher.id:
        raise LookupError("not this researcher's extract")
    if extract.deleted_at is not None or extract.expires_at <= utcnow():
        raise TimeoutError("expired")
    path = extracts_dir() / extract.pid / f"{part}.sealed"
    if not path.is_file():
        raise TimeoutError("gone")
    for org in included_orgs(request):
        audit.record("extract_downloaded", org=org, actor=researcher, object_type="extract",
                     object_id=extract.pid, part=part)
    return path


def purge(now: Any = None) -> int:
    """Delete the files of every expired extract (idempotent); returns how many."""
    now = now or utcnow()
    done = 0
    for extract in db.session.scalars(sa.select(Extract).where(
            Extract.deleted_at.is_(None), Extract.expires_at <= now)):
        shutil.rmtree(extracts_dir() / extract.pid, ignore_errors=True)
        extract.deleted_at = now
        request = db.session.get(ExtractRequest, extract.request_id)
        if request is not None:
            request.status = RequestStatus.EXPIRED
        audit.record("extract_deleted", object_type="extract", object_id=extract.pid)
        done += 1
    return done


# Inviting researchers.

def invite_researcher(email: str, actor: User | None, *, org: Organisation | None = None,
                      collective: Collective | None = None) -> str | None:
    """A single-use registration link for a researcher (its token), or None when the person
    already has a researcher account and is simply given access to this scope too."""
    import secrets

    from app.auth.service import find_user
    from app.models import Invite, InvitePurpose
    from app.orgs.service import token_hash
    from app.payload import Payload

    assert (org is None) != (collective is None)
    email = Payload({"email": email}).email()
    existing = find_user(email)
    if existing is not None:
        if not is_researcher(existing):
            raise BadInput(_("Someone with this e-mail address already has an account here; "
                             "a member account cannot also be a researcher's."), "email")
        db.session.add(ResearcherAccess(user_id=existing.id, org_id=org.id if org else None,
                                        collective_id=collective.id if collective else None,
                                        created_at=utcnow()))
        audit.record("researcher_access_granted", org=org, actor=actor, object_type="user",
                     object_id=existing.pid)
        return None
    token = secrets.token_urlsafe(32)
    invite = Invite(token_hash=token_hash(token), org_id=org.id if org else None,
                    collective_id=collective.id if collective else None,
                    purpose=InvitePurpose.RESEARCHER, role=None, email=email,
                    created_by_id=actor.id if actor else None,
                    expires_at=utcnow() + timedelta(hours=current_app.config["INVITE_HOURS"]))
    db.session.add(invite)
    db.session.flush()
    audit.record("invite_created", org=org, actor=actor, object_type="invite",
                 object_id=invite.pid, purpose="researcher")
    return token
