"""A person's browser, played in Python with app.crypto: what static/js does on the key pages
(register, log in, confirm members, rotate keys, recover, seal an incident), driven through a
Flask test client so every request passes the same routes, checks and audit as a real one.

`flask demo load` builds its demo instance with it; the tests use it (tests/actors.py) to play
people. It never sends a passphrase: only what the browser sends (CRYPTO.md)."""

from __future__ import annotations

import html
import os
import re
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.crypto import (
    b64u_decode,
    b64u_encode,
    canonical_json,
    derive_auth_key,
    derive_kek,
    derive_master_key,
    private_key_from_scalar,
    public_raw,
    recovery_code,
    seal_record,
    unwrap_member_key,
    unwrap_org_key,
    wrap_member_key,
    wrap_org_key,
)

DATA_ATTR = re.compile(r'data-([a-z0-9-]+)="([^"]*)"')
CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')


class BrowserError(RuntimeError):
    """The app answered something a browser's script could not go on from."""


def page_data(body: str) -> dict[str, str]:
    """The page's #page-data attributes: what the page script reads."""
    match = re.search(r'<div id="page-data"[^>]*>', body)
    if not match:
        raise BrowserError("page has no #page-data")
    return {k: html.unescape(v) for k, v in DATA_ATTR.findall(match.group(0))}


def csrf_of(body: str) -> str:
    match = CSRF_META.search(body)
    if not match:
        raise BrowserError("page has no CSRF token")
    return match.group(1)


@dataclass
class Browser:
    """One person's browser: a test client plus the keys their page scripts would hold."""

    client: FlaskClient
    email: str
    passphrase: str
    user_id: str = ""
    private_key: ec.EllipticCurvePrivateKey | None = None
    org_keys: dict[int, bytes] = field(default_factory=dict)
    recovery: str | None = None
    csrf: str = ""
    sent: list[bytes] = field(default_factory=list)  # every request body, for leak checks
    # Master keys already derived, by (passphrase, salt, m, t, p): Argon2id at production
    # parameters is the slow step, and registering then logging in derives the same key.
    _masters: dict[tuple[str, str, int, int, int], bytes] = field(default_factory=dict,
                                                                   repr=False)

    def get(self, url: str, **kw: Any) -> TestResponse:
        response = self.client.get(url, **kw)
        if "text/html" in response.content_type:
            found = CSRF_META.search(response.get_data(True))
            if found:
                self.csrf = found.group(1)
        return response

    def post_json(self, url: str, body: Any, method: str = "POST") -> TestResponse:
        if not self.csrf:
            self.get("/")
        response = self.client.open(url, method=method, json=body,
                                    headers={"X-CSRFToken": self.csrf})
        self.sent.append(canonical_json(body) if isinstance(body, dict) else b"")
        return response

    def post_form(self, url: str, data: dict[str, Any]) -> TestResponse:
        if not self.csrf:
            self.get("/")
        response = self.client.post(url, data={**data, "csrf_token": self.csrf})
        self.sent.append(repr(sorted(data.items())).encode())
        return response

    # Registration and login.

    def _keys_from(self, data: dict[str, str], salt: str) -> tuple[bytes, bytes]:
        params = (self.passphrase, salt, int(data["kdf-m"]), int(data["kdf-t"]),
                  int(data["kdf-p"]))
        master = self._masters.get(params)
        if master is None:
            master = derive_master_key(self.passphrase, b64u_decode(salt), *params[2:])
            self._masters[params] = master
        return derive_auth_key(master), derive_kek(master)

    def registration_body(self, link: str, name: str = "Member") -> tuple[str, dict[str, Any]]:
        data = page_data(self.get(link).get_data(as_text=True))
        self.user_id = data["user-id"]
        auth, kek = self._keys_from(data, data["salt"])
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        body: dict[str, Any] = {
            "email": self.email, "display_name": name, "salt": data["salt"],
            "kdf": {"m": int(data["kdf-m"]), "t": int(data["kdf-t"]), "p": int(data["kdf-p"])},
            "auth_key": b64u_encode(auth),
            "public_key": b64u_encode(public_raw(self.private_key.public_key())),
            "wrapped_private_key": wrap_member_key(kek, self.user_id, self.private_key),
            "org_keys": None}
        if data["creates-org-keys"] == "1":
            odk, scalar = os.urandom(32), os.urandom(32)
            recovery_key = private_key_from_scalar(scalar)
            org = data["org-id"]
            body["org_keys"] = {
                "kv": 1,
                "wrapped": wrap_org_key(odk, self.private_key.public_key(), org, 1,
                                        self.user_id),
                "recovery_public_key": b64u_encode(public_raw(recovery_key.public_key())),
                "recovery_wrap": wrap_org_key(odk, recovery_key.public_key(), org, 1,
                                              "recovery", "org-key-recovery")}
            self.org_keys = {1: odk}
            self.recovery = recovery_code(scalar)
        return data["post-url"], body

    def register(self, link: str, name: str = "Member") -> TestResponse:
        url, body = self.registration_body(link, name)
        return self.post_json(url, body)

    def login(self, totp_code: str | None = None) -> TestResponse:
        pre = self.post_json("/auth/prelogin", {"email": self.email})
        if pre.status_code != 200:
            raise BrowserError(pre.get_data(as_text=True))
        params = pre.json or {}
        kdf = params["kdf"]
        auth, kek = self._keys_from({"kdf-m": kdf["m"], "kdf-t": kdf["t"], "kdf-p": kdf["p"]},
                                    params["salt"])
        response = self.post_json("/auth/login", {"email": self.email,
                                                  "auth_key": b64u_encode(auth)})
        if response.status_code == 200 and (response.json or {}).get("status") == "totp":
            if totp_code is None:
                raise BrowserError("this account needs a second factor")
            response = self.post_json("/auth/totp", {"code": totp_code})
        if response.status_code == 200:
            self.get("/")
            self.unlock(kek)
        return response

    def unlock(self, kek: bytes) -> None:
        """What login.js does: unwrap the member key, check its public key, open org keys."""
        ring = self.client.get("/auth/keyring").json or {}
        user = ring["user"]
        self.user_id = user["id"]
        self.private_key = unwrap_member_key(kek, user["id"], user["wrapped_private_key"])
        if b64u_encode(public_raw(self.private_key.public_key())) != user["public_key"]:
            raise BrowserError("the server returned a public key that is not this member's")
        self.org_keys = {}
        org = ring.get("org")
        if org:
            for wrap in org["wraps"]:
                self.org_keys[wrap["kv"]] = unwrap_org_key(
                    wrap["wrapped"], self.private_key, org["id"], wrap["kv"], user["id"])

    # A coordinator's actions.

    def confirm(self, member_id: str) -> TestResponse:
        data = page_data(self.get(f"/org/members/{member_id}").get_data(as_text=True))
        member_key = ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP256R1(), b64u_decode(data["public-key"]))
        wraps = [] if data["role"] == "analyst" else [
            {"kv": kv, "wrapped": wrap_org_key(self.org_keys[kv], member_key, data["org-id"], kv,
                                               member_id)}
            for kv in map(int, data["kv-list"].split(","))]
        return self.post_json(data["confirm-url"], {"wraps": wraps})

    def rotation_body(self, org_id: str, exclude: str | None = None) -> dict[str, Any]:
        url = "/org/keyholders" + (f"?exclude={exclude}" if exclude else "")
        info = self.client.get(url).json or {}
        kv = info["current_kv"] + 1
        odk = os.urandom(32)
        self._pending = (kv, odk)
        recovery_key = ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP256R1(), b64u_decode(info["recovery_public_key"]))
        wraps = [{"user": h["id"], "wrapped": wrap_org_key(
            odk, ec.EllipticCurvePublicKey.from_encoded_point(
                ec.SECP256R1(), b64u_decode(h["public_key"])), org_id, kv, h["id"])}
            for h in info["holders"]]
        return {"kv": kv, "wraps": wraps, "recovery_wrap": wrap_org_key(
            odk, recovery_key, org_id, kv, "recovery", "org-key-recovery")}

    def remove(self, member_id: str, org_id: str, demote: bool = False) -> TestResponse:
        body = self.rotation_body(org_id, exclude=member_id)
        if demote:
            body["demote_to"] = "analyst"
        response = self.post_json(f"/org/members/{member_id}/remove", body)
        if response.status_code == 200:
            kv, odk = self._pending
            self.org_keys[kv] = odk
        return response

    def recover(self, link: str, code_scalar: bytes, name: str = "Recovered",
                sign_with: bytes | None = None) -> TestResponse:
        """recover.js: open the recovery wraps with the code, re-wrap to self, prove the code.
        `sign_with` plays a client that has the wraps but not the code."""
        url, body = self.registration_body(link, name)
        data = page_data(self.get(link).get_data(as_text=True))
        recovery_key = private_key_from_scalar(code_scalar)
        message = canonical_json({"nonce": data["nonce"], "org": data["org-id"],
                                  "purpose": "recovery-proof", "v": 1})
        signer = private_key_from_scalar(sign_with) if sign_with else recovery_key
        r, s = decode_dss_signature(signer.sign(message, ec.ECDSA(hashes.SHA256())))
        if self.private_key is None:  # pragma: no cover - registration_body made it
            raise BrowserError("no member key")
        wraps = []
        for pair in data["recovery-wraps"].split(","):
            kv_text, wrapped = pair.split(":", 1)
            odk = unwrap_org_key(wrapped, recovery_key, data["org-id"], int(kv_text),
                                 "recovery", "org-key-recovery")
            wraps.append({"kv": int(kv_text), "wrapped": wrap_org_key(
                odk, self.private_key.public_key(), data["org-id"], int(kv_text),
                self.user_id)})
        body["recovery"] = {"proof": b64u_encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")),
                            "wraps": wraps}
        return self.post_json(url, body)

    # An outreach worker's or coordinator's incident, sealed as incident-form.js seals it.

    def seal_incident(self, org_id: str, record_id: str, fields: dict[str, Any],
                      kv: int | None = None) -> dict[str, Any]:
        """The sealed tier: the sealed-field object under the newest org key this browser
        holds (or `kv`), with the record's AAD (CRYPTO.md, Sealed records)."""
        if not self.org_keys:
            raise BrowserError("this browser holds no organisation key")
        kv = kv or max(self.org_keys)
        return seal_record(self.org_keys[kv], org_id, record_id, kv, fields)
