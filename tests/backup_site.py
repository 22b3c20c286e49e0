"""An organisation with sealed incidents and attachments in a database of its own, for the
backup tests (server side and browser)."""

from __future__ import annotations

import io
import json
import os
import secrets
import subprocess
import uuid
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import Flask

from app.backup.manifest import TRANSIENT
from app.crypto import b64u_decode, b64u_encode, open_attachment, open_record, seal_attachment
from app.extensions import db
from app.models import Organisation
from tests.actors import Browser
from tests.incident_data import sealed_incident
from tests.people import make_coordinator


@dataclass
class Site:
    app: Flask
    coord: Browser
    org_id: str
    odk: bytes
    markers: dict[str, str] = field(default_factory=dict)  # incident id -> its marker text
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # attachment -> (rid, data)

    def add_incident(self, marker: str, month: str = "2026-03",
                     file_marker: str | None = None) -> str:
        """An incident sealed as the browser seals it; with `file_marker`, also a sealed text
        file (named in the sealed fields, as the form does) that carries that marker."""
        att_id = str(uuid.uuid4())
        data = f"Receipt {file_marker}\n".encode() + os.urandom(3000)
        fields: dict[str, Any] = {"narrative": f"Raid, cash kept. {marker}",
                                  "place": f"Flat above {marker}"}
        if file_marker:
            fields["attachments"] = [{"id": att_id, "name": "receipt.txt",
                                      "type": "text/plain", "size": len(data)}]
        body = sealed_incident(self.odk, self.org_id, 1, fields, month=month)
        rid = str(body["id"])
        response = self.coord.post_json("/api/v1/incidents", body)
        assert response.status_code == 201, response.get_data(as_text=True)
        self.markers[rid] = marker
        if file_marker:
            env = seal_attachment(self.odk, self.org_id, rid, att_id, 1, data)
            response = self.coord.client.post(
                f"/api/v1/incidents/{rid}/attachments",
                data={"meta": json.dumps({"id": att_id, "kv": 1, "iv": env["iv"]}),
                      "file": (io.BytesIO(b64u_decode(env["ct"])), "blob")},
                headers={"X-CSRFToken": self.coord.csrf}, content_type="multipart/form-data")
            assert response.status_code == 201, response.get_data(as_text=True)
            self.files[att_id] = (rid, data)
        return rid

    def opened(self, rid: str) -> dict[str, Any]:
        """The incident as the coordinator's browser opens it from the API."""
        response = self.coord.client.get(f"/api/v1/incidents/{rid}")
        assert response.status_code == 200, response.status_code
        return open_record(self.odk, self.org_id, rid, (response.json or {})["sealed"])

    def attachment(self, att_id: str) -> bytes:
        rid, _ = self.files[att_id]
        response = self.coord.client.get(f"/api/v1/attachments/{att_id}")
        assert response.status_code == 200, response.status_code
        return open_attachment(self.odk, self.org_id, rid, att_id, {
            "v": 1, "kv": int(response.headers["X-Collateral-KV"]),
            "iv": response.headers["X-Collateral-IV"], "ct": b64u_encode(response.data)})


def make_site(app: Flask, incidents: int = 3) -> Site:
    """Call inside an app context: a coordinator with `incidents` sealed incidents, the first
    two with an attachment each; every sealed field and file carries a random marker."""
    coord = make_coordinator(app.test_cli_runner(), lambda email: Browser(app.test_client(),
                                                                          email))
    org = db.session.scalar(sa.select(Organisation))
    assert org is not None
    site = Site(app, coord, org.pid, coord.org_keys[1])
    for number in range(incidents):
        site.add_incident(f"MARKER{secrets.token_hex(6)}", month=f"2026-0{number + 1}",
                          file_marker=f"FILEMARK{secrets.token_hex(6)}" if number < 2 else None)
    return site


def table_rows() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table the backup keeps, in primary-key order (bytes as they are)."""
    rows = {}
    for table in db.metadata.sorted_tables:
        if table.name not in TRANSIENT:
            query = sa.select(table).order_by(*table.primary_key.columns)
            rows[table.name] = [tuple(row) for row in db.session.execute(query)]
    db.session.rollback()
    return rows


def readable_content(path: Any) -> bytes:
    """The bytes of a backup as stored, plus (for a pg_dump archive, which is compressed) the
    SQL it restores to: what anyone holding the file can read."""
    raw = bytes(path.read_bytes())
    if raw.startswith(b"PGDMP"):
        from app.backup.postgres import find_tool

        pg_restore, _ = find_tool("pg_restore", 0)
        raw += subprocess.run([str(pg_restore), "--file=-", str(path)], check=True,
                              capture_output=True).stdout
    return raw
