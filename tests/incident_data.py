"""Coded incidents for tests, and sealing them as a browser would."""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

from app.crypto import b64u_decode, seal_attachment, seal_record

CODED: dict[str, Any] = {
    "kinds": ["raid", "confiscation"], "four_p": ["protection"], "actors": ["police"],
    "groups": ["documented_migrant"], "instrument": "rescue_operation", "country": "PT",
    "region": None, "month": "2026-03", "work_setting": "indoor_private",
    "people_affected": 2, "amount_confiscated": "1850.00", "currency": "EUR",
    "days_detained": None, "source": "firsthand", "consent": "aggregate", "case_study": True,
    "status": "complete"}


def sealed_incident(org_key: bytes, org_id: str, kv: int, fields: dict[str, Any] | None = None,
                    record_id: str | None = None, **coded: Any) -> dict[str, Any]:
    record_id = record_id or str(uuid.uuid4())
    fields = fields or {"narrative": "Raid at the flat; cash kept 'as evidence'.",
                        "exact_date": "2026-03-14"}
    return {"id": record_id, "coded": {**CODED, **coded},
            "sealed": seal_record(org_key, org_id, record_id, kv, fields)}


def sealed_file(org_key: bytes, org_id: str, record_id: str, kv: int,
                size: int = 5000) -> tuple[dict[str, Any], bytes, bytes]:
    """(meta, ciphertext, plaintext) of an attachment sealed in 'the browser'."""
    att_id = str(uuid.uuid4())
    data = os.urandom(size)
    env = seal_attachment(org_key, org_id, record_id, att_id, kv, data)
    return {"id": att_id, "kv": kv, "iv": env["iv"]}, b64u_decode(env["ct"]), data


def form_fields(incident: dict[str, Any], version: int = 0) -> dict[str, Any]:
    """The incident as the multipart form incident-form.js posts."""
    data: dict[str, Any] = {}
    for key, value in incident["coded"].items():
        if isinstance(value, list):
            data[key] = value
        elif isinstance(value, bool):
            if value:
                data[key] = "y"
        elif value is not None:
            data[key] = str(value)
    data.update(sealed=json.dumps(incident["sealed"]), record_id=incident["id"],
                version=str(version), attachments_meta="[]", remove_attachments="[]")
    return data

