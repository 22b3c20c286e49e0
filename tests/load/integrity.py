"""After a fault: is every acknowledged incident there, intact, and is nothing half-written?

Checked twice, independently: through the API as the organisation's coordinator sees it
(envelope byte-identical, opens with the organisation key to what was sealed), and in the
database itself (the envelope column, the code rows, the attachment bytes, the audit row
written in the same transaction)."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from typing import Any

import sqlalchemy as sa

from app.crypto import CryptoError, b64u_encode, canonical_json, open_attachment, open_record
from app.models import MULTI_FIELDS, Attachment, AuditEvent, Incident, IncidentCode
from tests.load.http import http_browser, http_of
from tests.load.workload import Account, Ack

INC, CODE, ATT, AUDIT = (Incident.__table__, IncidentCode.__table__, Attachment.__table__,
                         AuditEvent.__table__)


def _uuid(value: Any) -> str:
    return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))


def _parsed(value: Any) -> dict[str, Any]:
    parsed = json.loads(value) if isinstance(value, str | bytes) else value
    assert isinstance(parsed, dict)
    return parsed


def _envelope(value: Any) -> bytes:
    return canonical_json(_parsed(value))


def check_database(url: str, acks: list[Ack]) -> list[str]:
    problems: list[str] = []
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        incidents = {_uuid(r.public_id): r for r in conn.execute(sa.select(
            INC.c.id, INC.c.public_id, INC.c.sealed, INC.c.sealed_iv, INC.c.kv, INC.c.kinds_set,
            INC.c.four_p_set, INC.c.actors_set, INC.c.groups_set))}
        by_row = {r.id: pid for pid, r in incidents.items()}
        codes: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        for r in conn.execute(sa.select(CODE.c.incident_id, CODE.c.field, CODE.c.code)):
            if r.incident_id not in by_row:
                problems.append(f"a code row of a missing incident ({r.incident_id})")
                continue
            codes[by_row[r.incident_id]][r.field].add(r.code)
        attachments = {_uuid(r.public_id): r for r in conn.execute(sa.select(
            ATT.c.public_id, ATT.c.incident_id, ATT.c.iv, ATT.c.kv, ATT.c.size,
            sa.func.length(ATT.c.ciphertext).label("stored")))}
        created = {str(r.object_id) for r in conn.execute(sa.select(AUDIT.c.object_id).where(
            AUDIT.c.action == "incident_created"))}

        # Nothing half-written, acknowledged or not.
        for pid, row in incidents.items():
            mine = codes.get(pid, {})
            if not mine.get("kinds") or not mine.get("four_p"):
                problems.append(f"incident {pid} without its kinds or 4P codes")
            for name in MULTI_FIELDS:
                want = " " + "".join(f"{c} " for c in sorted(mine.get(name, ())))
                if getattr(row, f"{name}_set") != want:
                    problems.append(f"incident {pid}: {name}_set out of step with its codes")
            if pid not in created:
                problems.append(f"incident {pid} without its audit event")
            if row.sealed_iv != _parsed(row.sealed)["iv"]:
                problems.append(f"incident {pid}: sealed_iv is not the envelope's IV")
        for pid, att in attachments.items():
            if att.incident_id not in by_row:
                problems.append(f"attachment {pid} of a missing incident")
            if not att.stored or att.stored != att.size:
                problems.append(f"attachment {pid}: {att.stored} bytes stored, size {att.size}")

        # Every acknowledged incident, exactly as sent.
        wanted_bytes = {a.attachment["id"]: a.attachment["ciphertext"]
                        for a in acks if a.attachment}
        stored_bytes: dict[str, bytes] = {}
        ids = [uuid.UUID(i) for i in wanted_bytes]
        for start in range(0, len(ids), 500):
            for r in conn.execute(sa.select(ATT.c.public_id, ATT.c.ciphertext).where(
                    ATT.c.public_id.in_(ids[start:start + 500]))):
                stored_bytes[_uuid(r.public_id)] = bytes(r.ciphertext)
    engine.dispose()
    for ack in acks:
        stored = incidents.get(ack.id)
        if stored is None:
            problems.append(f"acknowledged incident {ack.id} ({ack.via}) is missing")
            continue
        if _envelope(stored.sealed) != canonical_json(ack.envelope):
            problems.append(f"acknowledged incident {ack.id}: stored envelope differs")
        for name in MULTI_FIELDS:
            if codes[ack.id].get(name, set()) != set(ack.coded[name]):
                problems.append(f"acknowledged incident {ack.id}: {name} codes differ")
        if ack.attachment:
            att_id = ack.attachment["id"]
            if att_id not in attachments:
                problems.append(f"acknowledged attachment {att_id} is missing")
            elif stored_bytes.get(att_id) != ack.attachment["ciphertext"]:
                problems.append(f"acknowledged attachment {att_id}: stored bytes differ")
    return problems


def check_api(base_url: str, accounts: list[Account], acks: list[Ack]) -> list[str]:
    """As each organisation's founding coordinator: every acknowledged incident is listed
    with its envelope as sent, opens to what was sealed, and its attachment downloads as
    sent and opens."""
    problems: list[str] = []
    by_org: dict[str, list[Ack]] = defaultdict(list)
    for ack in acks:
        by_org[ack.org_id].append(ack)
    for org_id, org_acks in by_org.items():
        account = next(a for a in accounts if a.org_id == org_id and a.role == "coordinator")
        who = http_browser(base_url, account.email, account.passphrase)
        answer = who.login()
        if answer.status_code != 200:
            return [f"the coordinator of {org_id} cannot log in: {answer.status_code}"]
        listed: dict[str, dict[str, Any]] = {}
        page = 1
        while page <= 1000:
            got = who.client.get(f"/api/v1/incidents?per_page=500&page={page}").json or {}
            listed.update({str(i["id"]): i for i in got.get("items", [])})
            if page * 500 >= int(got.get("total", 0)):
                break
            page += 1
        for ack in org_acks:
            item = listed.get(ack.id)
            if item is None:
                problems.append(f"acknowledged incident {ack.id} is not in the list")
                continue
            if canonical_json(item["sealed"]) != canonical_json(ack.envelope):
                problems.append(f"acknowledged incident {ack.id}: the API's envelope differs")
                continue
            key = who.org_keys[ack.kv]
            try:
                if open_record(key, org_id, ack.id, item["sealed"]) != ack.fields:
                    problems.append(f"acknowledged incident {ack.id} opens to something else")
            except CryptoError:
                problems.append(f"acknowledged incident {ack.id} does not open")
            if ack.attachment:
                att = ack.attachment
                got_file = who.client.get(f"/api/v1/attachments/{att['id']}")
                if got_file.status_code != 200 or got_file.get_data() != att["ciphertext"]:
                    problems.append(f"attachment {att['id']}: download differs")
                    continue
                try:
                    open_attachment(key, org_id, ack.id, att["id"], {
                        "v": 1, "kv": att["kv"], "iv": att["iv"],
                        "ct": b64u_encode(att["ciphertext"])})
                except CryptoError:
                    problems.append(f"attachment {att['id']} does not open")
        http_of(who).close()
    return problems
