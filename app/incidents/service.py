"""Incident rules: who may do what, sealed envelopes checked before storing, optimistic
locking, attachments, import, published case studies. The caller commits once."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict

from app import audit
from app.crypto import CryptoError, b64u_decode, check_envelope
from app.extensions import db
from app.models import (
    MULTI_FIELDS,
    Attachment,
    Incident,
    IncidentCode,
    Membership,
    Organisation,
    Role,
    User,
    utcnow,
)
from app.payload import BadInput, loads
from app.vocab import load

from .forms import IncidentForm

MAX_SEALED_BYTES = 64 * 1024  # the padded sealed tier of one incident
MAX_IMPORT_ROWS = 5000
BLOCK, TAG = 4096, 16  # attachments are padded to 4 KiB blocks (the length prefix included)
ATTACHMENT_OVERHEAD = 4 + BLOCK - 1 + TAG  # the most a file can grow by sealing


class Conflict(Exception):
    """A save over a newer save (or a second save of the same new record)."""

    def __init__(self, message: str, current_version: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.current_version = current_version


class FormInvalid(Exception):
    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("invalid")
        self.errors = errors


@dataclass(frozen=True)
class NewAttachment:
    id: uuid.UUID
    kv: int
    iv: str
    ciphertext: bytes


# Permissions.

def can_read_sealed(membership: Membership) -> bool:
    return membership.role in (Role.OUTREACH, Role.COORDINATOR)


def can_edit(membership: Membership, incident: Incident) -> bool:
    if membership.role == Role.COORDINATOR:
        return True
    return membership.role == Role.OUTREACH and incident.created_by_id == membership.user_id


def require_edit(membership: Membership, incident: Incident) -> None:
    if not can_edit(membership, incident):
        raise PermissionError


def destroyed_message(incident: Incident) -> str:
    when = incident.sealed_destroyed_at
    return str(_("The sealed details and attachments of this incident were destroyed on %(date)s "
             "by your organisation's retention rule. It can no longer be edited; its coded "
             "answers still count in reports.", date=when.strftime("%Y-%m-%d") if when else ""))


def require_sealed_tier(incident: Incident) -> None:
    """An incident whose sealed tier the retention rule destroyed is closed to edits."""
    if incident.sealed_destroyed_at is not None:
        raise Conflict(destroyed_message(incident))


# Reading.

def get(org: Organisation, public_id: uuid.UUID) -> Incident | None:
    return db.session.scalar(sa.select(Incident).where(
        Incident.org_id == org.id, Incident.public_id == public_id))


def get_attachment(org: Organisation, public_id: uuid.UUID) -> Attachment | None:
    return db.session.scalar(sa.select(Attachment).join(Incident).where(
        Incident.org_id == org.id, Attachment.public_id == public_id))


@dataclass(frozen=True)
class Filters:
    kind: str | None = None
    four_p: str | None = None
    actor: str | None = None
    country: str | None = None
    month_from: str | None = None
    month_to: str | None = None
    status: str | None = None


def query(org: Organisation, filters: Filters) -> sa.Select[tuple[Incident]]:
    q = sa.select(Incident).where(Incident.org_id == org.id)
    for field, code in (("kinds", filters.kind), ("four_p", filters.four_p),
                        ("actors", filters.actor)):
        if code:
            q = q.where(Incident.id.in_(sa.select(IncidentCode.incident_id).where(
                IncidentCode.field == field, IncidentCode.code == code)))
    if filters.country:
        q = q.where(Incident.country == filters.country)
    if filters.month_from:
        q = q.where(Incident.month >= filters.month_from)
    if filters.month_to:
        q = q.where(Incident.month <= filters.month_to)
    if filters.status:
        q = q.where(Incident.status == filters.status)
    return q.order_by(Incident.month.desc(), Incident.id.desc())


def page(org: Organisation, filters: Filters, number: int, size: int) -> tuple[
        list[Incident], int]:
    q = query(org, filters)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(q.subquery())) or 0
    # Codes and attachment ids in two more queries for the whole page, not two per incident.
    q = q.options(selectinload(Incident.codes), selectinload(Incident.attachments))
    items = list(db.session.scalars(q.limit(size).offset((number - 1) * size)))
    return items, total


def sealed_feed(org: Organisation, filters: Filters, number: int, size: int) -> tuple[
        list[dict[str, Any]], int]:
    """What the in-browser search needs, as plain rows: id, a few coded fields for the result
    line, and the envelope. Column queries, no ORM objects: 10,000 rows stay fast."""
    # Incidents whose sealed tier was destroyed have nothing to search.
    base = query(org, filters).where(Incident.sealed_destroyed_at.is_(None)).subquery()
    total = db.session.scalar(sa.select(sa.func.count()).select_from(base)) or 0
    rows = db.session.execute(
        sa.select(base.c.id, base.c.public_id, base.c.month, base.c.country, base.c.region,
                  base.c.sealed).limit(size).offset((number - 1) * size)).all()
    kinds: dict[int, list[str]] = {}
    if rows:
        for incident_id, code in db.session.execute(
                sa.select(IncidentCode.incident_id, IncidentCode.code).where(
                    IncidentCode.incident_id.in_([r.id for r in rows]),
                    IncidentCode.field == "kinds")):
            kinds.setdefault(incident_id, []).append(code)
    items = [{"id": str(r.public_id), "month": r.month, "country": r.country,
              "region": r.region, "kinds": kinds.get(r.id, []),
              "sealed": r.sealed if isinstance(r.sealed, dict) else json.loads(r.sealed)}
             for r in rows]
    return items, total


# Checking what the browser sent.

def validate_coded(org: Organisation, data: MultiDict[str, Any]) -> dict[str, Any]:
    form = IncidentForm(formdata=data, org=org, meta={"csrf": False})
    if not form.validate():
        errors = {k: [str(m) for m in v] for k, v in form.errors.items()
                  if k not in ("sealed", "record_id", "version", "attachments_meta",
                               "remove_attachments")}
        if errors:
            raise FormInvalid(errors)
    return form.coded()


def check_sealed(org: Organisation, envelope: Any, record_id: uuid.UUID | None = None,
                 *, editing: bool = False) -> dict[str, Any]:
    if envelope in (None, ""):
        # What a browser without JavaScript sends: the sealed fields never left it.
        raise BadInput(_("Nothing was saved: the sealed part is missing. Collateral seals "
                         "what you write in your browser, which needs JavaScript turned on."),
                       "sealed")
    if isinstance(envelope, str):
        try:
            envelope = loads(envelope)
        except json.JSONDecodeError as exc:
            raise BadInput(_("The sealed part is missing or damaged. Nothing was saved; "
                             "reload the page and try again."), "sealed") from exc
    try:
        check_envelope(envelope, with_kv=True, max_ct_bytes=MAX_SEALED_BYTES)
    except CryptoError as exc:
        if "too large" in str(exc):
            raise BadInput(_("The sealed text is too long (at most about 60,000 characters)."),
                           "sealed") from exc
        raise BadInput(_("The sealed part is missing or damaged: %(why)s. Nothing was saved.",
                         why=str(exc)), "sealed") from exc
    holder = db.session.scalar(sa.select(Incident.public_id).where(
        Incident.sealed_iv == envelope["iv"]))
    if holder is not None:
        # Only a copy of a stored envelope repeats its IV.
        if holder == record_id and not editing:
            raise Conflict(_("This incident was already saved (was the button pressed twice?)."))
        if holder != record_id:
            raise BadInput(_("This sealed part belongs to another incident. Nothing was saved."),
                           "sealed")
    if envelope["kv"] != org.current_kv:
        raise BadInput(_("The organisation's key has changed since this page was opened. "
                         "Reload the page; your text is kept as a draft."), "sealed")
    return dict(envelope)


def read_attachments(org: Organisation, meta_text: str | None,
                     files: dict[str, bytes]) -> list[NewAttachment]:
    try:
        meta = loads(meta_text or "[]")
    except json.JSONDecodeError as exc:
        raise BadInput(_("The attachment list is damaged."), "attachments") from exc
    if not isinstance(meta, list) or len(meta) > 50:
        raise BadInput(_("At most 50 attachments at once."), "attachments")
    limit = current_app.config["MAX_ATTACHMENT_BYTES"] + ATTACHMENT_OVERHEAD
    out = []
    for item in meta:
        try:
            att_id = uuid.UUID(str(item["id"]))
            kv, iv = item["kv"], item["iv"]
            valid = (isinstance(kv, int) and kv == org.current_kv and isinstance(iv, str)
                     and len(b64u_decode(iv)) == 12)
        except (KeyError, TypeError, ValueError, CryptoError):
            valid = False
        if not valid or db.session.scalar(sa.select(Attachment.id).where(Attachment.iv == iv)):
            raise BadInput(_("An attachment was not sealed properly. Nothing was saved."),
                           "attachments")
        data = files.get(f"attachment-{att_id}")
        if data is None:
            raise BadInput(_("An attachment did not arrive. Nothing was saved; try again."),
                           "attachments")
        if len(data) > limit:
            raise BadInput(_("An attachment is larger than %(mib)d MiB.",
                             mib=current_app.config["MAX_ATTACHMENT_BYTES"] // 2**20),
                           "attachments")
        if len(data) < BLOCK + TAG or (len(data) - TAG) % BLOCK:
            raise BadInput(_("An attachment was not sealed properly. Nothing was saved."),
                           "attachments")
        out.append(NewAttachment(att_id, kv, iv, data))
    return out


# Changing.

def _set_coded(incident: Incident, coded: dict[str, Any]) -> None:
    for name in ("instrument", "country", "region", "month", "work_setting",
                 "people_affected", "amount_confiscated", "currency", "days_detained",
                 "source", "consent", "case_study", "status"):
        setattr(incident, name, coded[name])
    wanted = {(f, c) for f in MULTI_FIELDS for c in coded[f]}
    incident.codes = [c for c in incident.codes if (c.field, c.code) in wanted]
    have = {(c.field, c.code) for c in incident.codes}
    for field, code in sorted(wanted - have):
        incident.codes.append(IncidentCode(field=field, code=code))
    if incident.published_case_study and not consent_allows_case_study(incident):
        incident.published_case_study = None  # consent withdrawn: the excerpt goes too
        incident.published_at = None


def add_attachments(incident: Incident, attachments: list[NewAttachment]) -> None:
    if attachments:
        require_sealed_tier(incident)
    for att in attachments:
        if db.session.scalar(sa.select(Attachment.id).where(Attachment.public_id == att.id)):
            raise Conflict(_("This attachment was already saved."))
        incident.attachments.append(Attachment(public_id=att.id, kv=att.kv, iv=att.iv,
                                               ciphertext=att.ciphertext,
                                               size=len(att.ciphertext)))


def create(org: Organisation, actor: User, record_id: uuid.UUID, coded: dict[str, Any],
           sealed: dict[str, Any], attachments: list[NewAttachment]) -> Incident:
    if db.session.scalar(sa.select(Incident.id).where(Incident.public_id == record_id)):
        raise Conflict(_("This incident was already saved (was the button pressed twice?)."))
    incident = Incident(public_id=record_id, org_id=org.id, created_by_id=actor.id,
                        updated_by_id=actor.id, vocab_version=load().version, sealed=sealed,
                        kv=sealed["kv"], sealed_iv=sealed["iv"])
    _set_coded(incident, coded)
    add_attachments(incident, attachments)
    db.session.add(incident)
    db.session.flush()
    audit.record("incident_created", org=org, actor=actor, object_type="incident",
                 object_id=incident.pid, attachments=len(attachments))
    return incident


def update(org: Organisation, actor: User, incident: Incident, version: int,
           coded: dict[str, Any], sealed: dict[str, Any], attachments: list[NewAttachment],
           remove: list[str]) -> Incident:
    require_sealed_tier(incident)
    if version != incident.version:
        raise Conflict(_("Someone saved this incident after you opened it. Your text is kept "
                         "here: copy what you need, reload, and apply your changes again."),
                       incident.version)
    # One UPDATE of the row, so one version step: no flush half-way through the changes.
    with db.session.no_autoflush:
        _set_coded(incident, coded)
        incident.sealed = sealed
        incident.kv = sealed["kv"]
        incident.sealed_iv = sealed["iv"]
        removed = [a for a in incident.attachments if str(a.public_id) in set(remove)]
        for att in removed:
            incident.attachments.remove(att)
        add_attachments(incident, attachments)
        incident.updated_at = utcnow()
        incident.updated_by_id = actor.id
    db.session.flush()  # bumps the version; a concurrent save makes this raise StaleDataError
    audit.record("incident_updated", org=org, actor=actor, object_type="incident",
                 object_id=incident.pid, version=incident.version,
                 attachments_added=len(attachments), attachments_removed=len(removed))
    return incident


def delete(org: Organisation, actor: User, incident: Incident) -> None:
    audit.record("incident_deleted", org=org, actor=actor, object_type="incident",
                 object_id=incident.pid, attachments=len(incident.attachments))
    db.session.delete(incident)


def delete_attachment(org: Organisation, actor: User, attachment: Attachment) -> None:
    audit.record("attachment_deleted", org=org, actor=actor, object_type="attachment",
                 object_id=attachment.pid)
    db.session.delete(attachment)


# Published case studies: the one free text that leaves the sealed tier, on purpose.

def consent_allows_case_study(incident: Incident) -> bool:
    vocab = load()
    return incident.case_study and vocab.consent_rank(incident.consent) >= vocab.consent_rank(
        "aggregate")


def publish(org: Organisation, actor: User, incident: Incident, text: str) -> None:
    if not consent_allows_case_study(incident):
        raise BadInput(_("The person's consent does not allow a published case study."),
                       "text")
    text = text.strip()
    if not text or len(text) > 20_000:
        raise BadInput(_("A case study needs between 1 and 20,000 characters."), "text")
    incident.published_case_study = text
    incident.published_at = utcnow()
    incident.published_by_id = actor.id
    audit.record("case_study_published", org=org, actor=actor, object_type="incident",
                 object_id=incident.pid)


def unpublish(org: Organisation, actor: User, incident: Incident) -> None:
    incident.published_case_study = None
    incident.published_at = None
    audit.record("case_study_unpublished", org=org, actor=actor, object_type="incident",
                 object_id=incident.pid)


def coded_dict(incident: Incident) -> dict[str, Any]:
    return {
        "kinds": incident.values("kinds"), "four_p": incident.values("four_p"),
        "actors": incident.values("actors"), "groups": incident.values("groups"),
        "instrument": incident.instrument, "country": incident.country,
        "region": incident.region, "month": incident.month,
        "work_setting": incident.work_setting, "people_affected": incident.people_affected,
        "amount_confiscated": (str(incident.amount_confiscated)
                               if incident.amount_confiscated is not None else None),
        "currency": incident.currency, "days_detained": incident.days_detained,
        "source": incident.source, "consent": incident.consent,
        "case_study": incident.case_study, "status": incident.status,
    }


def as_formdata(coded: Any) -> MultiDict[str, Any]:
    """A JSON coded object as the form data IncidentForm reads (lists become repeats)."""
    if not isinstance(coded, dict):
        raise BadInput(_("The coded fields must be a JSON object."), "coded")
    data: MultiDict[str, Any] = MultiDict()
    for key, value in coded.items():
        if isinstance(value, list):
            for item in value:
                data.add(key, str(item))
        elif isinstance(value, bool):
            if value:
                data.add(key, "y")
        elif value is not None:
            data.add(key, str(value))
    return data
