"""Generate a fresh vectors file with the schema of shared/vectors/crypto-v1.json.

Keys, IDs, IVs and data are random, made with the Python side; the browser then has to
agree with it. With `seed` the non-HPKE parts are reproducible (HPKE ephemerals never are).
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
import uuid
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.crypto import (
    b64u_decode,
    b64u_encode,
    canonical_json,
    derive_auth_key,
    derive_kek,
    derive_master_key,
    fingerprint,
    prelogin_fake_salt,
    private_key_from_scalar,
    private_scalar,
    public_raw,
    recovery_code,
    seal_attachment,
    seal_export,
    seal_record,
    wrap_member_key,
    wrap_org_key,
)

TEST_M, TEST_T, TEST_P = 1024, 1, 1
TEST_PARAMS = {"alg": "argon2id", "v": 19, "m": TEST_M, "t": TEST_T, "p": TEST_P}


def _pkcs8(key: ec.EllipticCurvePrivateKey) -> str:
    return b64u_encode(key.private_bytes(serialization.Encoding.DER,
                                         serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()))


def _flip(text: str, at: int = 3) -> str:
    """Flip one bit of the decoded bytes behind a base64url string."""
    raw = bytearray(b64u_decode(text))
    raw[at] ^= 1
    return b64u_encode(bytes(raw))


def generate_vectors(path: Path, *, seed: int | None = None) -> dict[str, Any]:
    rng = random.Random(seed)

    def rb(n: int) -> bytes:
        return rng.randbytes(n)

    def rid() -> str:
        return str(uuid.UUID(bytes=rb(16), version=4))

    def rkey() -> ec.EllipticCurvePrivateKey:
        while True:
            try:
                return private_key_from_scalar(rb(32))
            except ValueError:  # pragma: no cover - astronomically rare
                continue

    org, user, other_user, record, attachment, export = (rid() for _ in range(6))
    org_key = rb(32)
    member = rkey()
    member_pub = public_raw(member.public_key())

    kdf = []
    for passphrase in ("ｆｕｌｌwidth ﬁ — ünïcode " + rb(4).hex(), "plain words " + rb(4).hex()):
        salt = rb(16)
        master = derive_master_key(passphrase, salt, TEST_M, TEST_T, TEST_P)
        kdf.append({"passphrase": passphrase, "salt": b64u_encode(salt),
                    "params": dict(TEST_PARAMS), "master_key": b64u_encode(master),
                    "auth_key": b64u_encode(derive_auth_key(master)),
                    "kek": b64u_encode(derive_kek(master))})
    kek = rb(32)
    member_env = wrap_member_key(kek, user, member, iv=rb(12))

    def wrap_vector(purpose: str, recipient: str) -> dict[str, Any]:
        info = {"kv": 1, "org": org, "purpose": purpose, "recipient": recipient, "v": 1}
        return {"recipient_private_pkcs8": _pkcs8(member), "org": org, "kv": 1,
                "recipient": recipient, "purpose": purpose,
                "info_utf8": canonical_json(info).decode(),
                "wrapped": wrap_org_key(org_key, member.public_key(), org, 1, recipient, purpose),
                "org_key": b64u_encode(org_key)}

    member_wrap = wrap_vector("org-key", user)
    recovery_wrap = wrap_vector("org-key-recovery", "recovery")

    def record_vector(fields: dict[str, Any], kv: int) -> dict[str, Any]:
        aad = {"kv": kv, "org": org, "purpose": "incident", "record": record, "v": 1}
        padded = 4 + len(canonical_json(fields))
        return {"org_key": b64u_encode(org_key), "org": org, "record": record, "kv": kv,
                "fields": fields, "aad_utf8": canonical_json(aad).decode(),
                "padded_plaintext_len": padded + (-padded % 256),
                "envelope": seal_record(org_key, org, record, kv, fields, iv=rb(12))}

    records = [
        record_vector({"narrative": "Raid — ünïcode ✓ " + rb(8).hex(), "exact_date": "2026-05-01",
                       "people": [{"alias": "A.", "role": "worker"}], "note": None}, 1),
        record_vector({"narrative": "x" * 252}, 2),  # exactly fills one block with the length
    ]
    data = rb(5000)
    scalar = private_scalar(rkey())

    def export_vector(size: int) -> dict[str, Any]:
        plain = rb(size)
        pieces = [plain[i:i + 10000] for i in range(0, len(plain), 10000)] or [b""]
        blob = b"".join(seal_export(pieces, member.public_key(), export, user))
        return {"recipient_private_pkcs8": _pkcs8(member), "recipient": user, "export": export,
                "blob": b64u_encode(blob), "plaintext_len": size,
                "plaintext_sha256_hex": hashlib.sha256(plain).hexdigest()}

    exports = [export_vector(100000), export_vector(65536), export_vector(0)]
    server_secret = rb(32)
    base = records[0]

    def bad_record(why: str, **changes: Any) -> dict[str, Any]:
        vector = {"why": why, "org_key": base["org_key"], "org": org, "record": record,
                  "envelope": copy.deepcopy(base["envelope"])}
        envelope_changes = changes.pop("envelope", {})
        vector.update(changes)
        vector["envelope"].update(envelope_changes)
        return vector

    vectors: dict[str, Any] = {
        "version": 1,
        "spec": "shared/design/CRYPTO.md",
        "notes": ["Generated by tests/vectorgen.py with random keys."],
        "canonical_json": [
            {"input": {"v": 1, "purpose": "incident", "org": org, "kv": 3, "record": record},
             "expected_utf8": canonical_json({"v": 1, "purpose": "incident", "org": org,
                                              "kv": 3, "record": record}).decode()},
            {"input": {"ß": "ünï", "a": [True, None, {"z": 1, "b": "✓"}]},
             "expected_utf8": '{"a":[true,null,{"b":"✓","z":1}],"ß":"ünï"}'},
        ],
        "kdf": kdf,
        "member_key": [{"kek": b64u_encode(kek), "user": user, "private_pkcs8": _pkcs8(member),
                        "public_raw": b64u_encode(member_pub),
                        "fingerprint": fingerprint(member_pub), "envelope": member_env}],
        "fingerprint": [{"public_raw": b64u_encode(member_pub),
                         "fingerprint": fingerprint(member_pub)}],
        "org_key_unwrap": [member_wrap, recovery_wrap],
        "record": records,
        "attachment": [{"org_key": b64u_encode(org_key), "org": org, "record": record,
                        "attachment": attachment, "kv": 1, "data": b64u_encode(data),
                        "envelope": seal_attachment(org_key, org, record, attachment, 1, data,
                                                    iv=rb(12))}],
        "recovery_code": [{"scalar": b64u_encode(scalar), "code": recovery_code(scalar),
                           "public_raw": b64u_encode(
                               public_raw(private_key_from_scalar(scalar).public_key()))}],
        "export": exports,
        "prelogin_fake_salt": [
            {"server_secret": b64u_encode(server_secret), "email": email,
             "salt": b64u_encode(prelogin_fake_salt(server_secret, email))}
            for email in ("someone@example.net", "  SomeOne@Example.NET\t")
        ],
        "must_fail": {
            "record": [
                bad_record("ciphertext bit flipped",
                           envelope={"ct": _flip(base["envelope"]["ct"])}),
                bad_record("envelope moved to another record", record=other_user),
                bad_record("envelope moved to another organisation", org=other_user),
                bad_record("key version rewritten", envelope={"kv": 2}),
                bad_record("unknown envelope version", envelope={"v": 2}),
                bad_record("iv not 96 bits", envelope={"iv": b64u_encode(rb(16))}),
                _bad_padding(org_key, org, record, rb(12)),
            ],
            "org_key_unwrap": [
                {**member_wrap, "why": "wrapped for another member", "recipient": other_user},
                {**member_wrap, "why": "key version rewritten", "kv": 2},
                {**recovery_wrap, "why": "recovery wrap used as member wrap",
                 "purpose": "org-key", "recipient": user},
            ],
            "member_key": [{"why": "envelope moved to another user", "kek": b64u_encode(kek),
                            "user": other_user, "envelope": member_env}],
            "export": [
                {"why": "last chunk dropped", "recipient_private_pkcs8": exports[0][
                    "recipient_private_pkcs8"], "recipient": user,
                 "blob": _drop_last_chunk(exports[0]["blob"])},
                {"why": "chunk bit flipped", "recipient_private_pkcs8": exports[0][
                    "recipient_private_pkcs8"], "recipient": user,
                 "blob": _flip(exports[0]["blob"], at=-100)},
            ],
            "recovery_code": [{"why": "one character mistyped",
                               "code": _mistype(recovery_code(scalar))}],
        },
    }
    path.write_text(json.dumps(vectors, ensure_ascii=False, indent=1), encoding="utf-8")
    return vectors


def _bad_padding(org_key: bytes, org: str, record: str, iv: bytes) -> dict[str, Any]:
    """A correctly authenticated envelope whose padding has a non-zero byte."""
    body = canonical_json({"narrative": "pad"})
    padded = bytearray(len(body).to_bytes(4, "big") + body)
    padded += bytes(-len(padded) % 256)
    padded[-1] = 1
    aad = canonical_json({"kv": 1, "org": org, "purpose": "incident", "record": record, "v": 1})
    ct = AESGCM(org_key).encrypt(iv, bytes(padded), aad)
    return {"why": "non-zero padding byte", "org_key": b64u_encode(org_key), "org": org,
            "record": record, "envelope": {"v": 1, "kv": 1, "iv": b64u_encode(iv),
                                           "ct": b64u_encode(ct)}}


def _drop_last_chunk(blob_text: str) -> str:
    blob = b64u_decode(blob_text)
    header_end = blob.index(b"\n", len(b"COLLATERAL-EXPORT-1\n")) + 1
    body = blob[header_end:]
    full = 65536 + 16
    cut = (len(body) - 1) // full * full  # start of the final (short) chunk
    return b64u_encode(blob[:header_end + cut])


def _mistype(code: str) -> str:
    i = 0 if code[0] != "A" else 1
    return code[:i] + ("A" if code[i] != "A" else "B") + code[i + 1:]
