"""AES-256-GCM envelopes: member private keys, incident sealed tiers, attachments."""

from __future__ import annotations

import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .encoding import b64u_decode, b64u_encode, canonical_json
from .errors import CryptoError
from .padding import ATTACHMENT_BLOCK, RECORD_BLOCK, pad, unpad

IV_LEN = 12
TAG_LEN = 16
VERSION = 1


def check_envelope(envelope: Any, *, with_kv: bool, max_ct_bytes: int | None = None) -> None:
    """Refuse anything that is not exactly a v1 envelope: used on open, and on store."""
    if not isinstance(envelope, dict):
        raise CryptoError("envelope must be a JSON object")
    expected = {"v", "iv", "ct", "kv"} if with_kv else {"v", "iv", "ct"}
    if set(envelope) != expected:
        raise CryptoError(f"envelope must have exactly the keys {sorted(expected)}")
    if envelope["v"] != VERSION or isinstance(envelope["v"], bool):
        raise CryptoError("unknown envelope version")
    if with_kv:
        kv = envelope["kv"]
        if not isinstance(kv, int) or isinstance(kv, bool) or kv < 1:
            raise CryptoError("key version must be a positive integer")
    if not isinstance(envelope["iv"], str) or len(b64u_decode(envelope["iv"])) != IV_LEN:
        raise CryptoError("IV must be 12 bytes")
    if not isinstance(envelope["ct"], str):
        raise CryptoError("ciphertext must be base64url text")
    if max_ct_bytes is not None and len(envelope["ct"]) * 3 // 4 > max_ct_bytes + TAG_LEN:
        raise CryptoError("ciphertext is too large")
    if len(b64u_decode(envelope["ct"])) < TAG_LEN:
        raise CryptoError("ciphertext is too short")


def _key(key: bytes) -> AESGCM:
    if len(key) != 32:
        raise CryptoError("key must be 32 bytes")
    return AESGCM(key)


def _seal(key: bytes, plaintext: bytes, aad: bytes, iv: bytes | None) -> tuple[str, str]:
    iv = os.urandom(IV_LEN) if iv is None else iv
    if len(iv) != IV_LEN:
        raise CryptoError("IV must be 12 bytes")
    return b64u_encode(iv), b64u_encode(_key(key).encrypt(iv, plaintext, aad))


def _open(key: bytes, envelope: dict[str, Any], aad: bytes) -> bytes:
    try:
        return _key(key).decrypt(b64u_decode(envelope["iv"]), b64u_decode(envelope["ct"]), aad)
    except InvalidTag as exc:
        raise CryptoError("cannot open: wrong key, wrong context or tampered data") from exc


# Member private key, sealed under the KEK.

def _member_aad(user_id: str) -> bytes:
    return canonical_json({"purpose": "member-key", "user": user_id, "v": VERSION})


def wrap_member_key(kek: bytes, user_id: str, private_key: ec.EllipticCurvePrivateKey,
                    iv: bytes | None = None) -> dict[str, Any]:
    der = private_key.private_bytes(serialization.Encoding.DER,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    iv_text, ct = _seal(kek, der, _member_aad(user_id), iv)
    return {"v": VERSION, "iv": iv_text, "ct": ct}


def unwrap_member_key(kek: bytes, user_id: str,
                      envelope: dict[str, Any]) -> ec.EllipticCurvePrivateKey:
    check_envelope(envelope, with_kv=False)
    der = _open(kek, envelope, _member_aad(user_id))
    try:
        key = serialization.load_der_private_key(der, password=None)
    except ValueError as exc:
        raise CryptoError("member key is not a PKCS#8 private key") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise CryptoError("member key is not a P-256 key")
    return key


# Incident sealed tier and attachments, sealed under an organisation data key.

def _record_aad(org_id: str, record_id: str, kv: int) -> bytes:
    return canonical_json({"kv": kv, "org": org_id, "purpose": "incident",
                           "record": record_id, "v": VERSION})


def _attachment_aad(org_id: str, record_id: str, attachment_id: str, kv: int) -> bytes:
    return canonical_json({"attachment": attachment_id, "kv": kv, "org": org_id,
                           "purpose": "attachment", "record": record_id, "v": VERSION})


def seal_record(org_key: bytes, org_id: str, record_id: str, kv: int, fields: dict[str, Any],
                iv: bytes | None = None) -> dict[str, Any]:
    if not isinstance(fields, dict):
        raise CryptoError("sealed fields must be a JSON object")
    plaintext = pad(canonical_json(fields), RECORD_BLOCK)
    iv_text, ct = _seal(org_key, plaintext, _record_aad(org_id, record_id, kv), iv)
    return {"v": VERSION, "kv": kv, "iv": iv_text, "ct": ct}


def open_record(org_key: bytes, org_id: str, record_id: str,
                envelope: dict[str, Any]) -> dict[str, Any]:
    check_envelope(envelope, with_kv=True)
    padded = _open(org_key, envelope, _record_aad(org_id, record_id, envelope["kv"]))
    try:
        fields = json.loads(unpad(padded, RECORD_BLOCK).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CryptoError("sealed tier is not JSON") from exc
    if not isinstance(fields, dict):
        raise CryptoError("sealed tier is not a JSON object")
    return fields


def seal_attachment(org_key: bytes, org_id: str, record_id: str, attachment_id: str, kv: int,
                    data: bytes, iv: bytes | None = None) -> dict[str, Any]:
    plaintext = pad(data, ATTACHMENT_BLOCK)
    aad = _attachment_aad(org_id, record_id, attachment_id, kv)
    iv_text, ct = _seal(org_key, plaintext, aad, iv)
    return {"v": VERSION, "kv": kv, "iv": iv_text, "ct": ct}


def open_attachment(org_key: bytes, org_id: str, record_id: str, attachment_id: str,
                    envelope: dict[str, Any]) -> bytes:
    check_envelope(envelope, with_kv=True)
    aad = _attachment_aad(org_id, record_id, attachment_id, envelope["kv"])
    return unpad(_open(org_key, envelope, aad), ATTACHMENT_BLOCK)
