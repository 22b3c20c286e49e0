"""Run a vectors file through the Python side; shared by the vector tests."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from app.crypto import (
    CryptoError,
    b64u_decode,
    b64u_encode,
    canonical_json,
    derive_auth_key,
    derive_kek,
    derive_master_key,
    fingerprint,
    load_private_pkcs8,
    open_attachment,
    open_export,
    open_record,
    prelogin_fake_salt,
    private_key_from_scalar,
    public_raw,
    recovery_code,
    recovery_scalar,
    seal_attachment,
    seal_record,
    unwrap_member_key,
    unwrap_org_key,
    wrap_member_key,
)

ROOT = Path(__file__).resolve().parent.parent


def vectors_path() -> Path:
    """COLLATERAL_VECTORS if set, else the shared file beside the project."""
    env = os.environ.get("COLLATERAL_VECTORS")
    return Path(env) if env else ROOT.parent / "shared" / "vectors" / "crypto-v1.json"


def _pkcs8(private_key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization
    return bytes(private_key.private_bytes(serialization.Encoding.DER,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))


def positive_checks(v: dict[str, Any]) -> list[tuple[str, Callable[[], None]]]:
    """(name, check) pairs, one per positive vector; a check raises AssertionError on mismatch."""
    checks: list[tuple[str, Callable[[], None]]] = []
    add = checks.append
    b = b64u_decode

    for i, c in enumerate(v["canonical_json"]):
        def canon(c: dict[str, Any] = c) -> None:
            assert canonical_json(c["input"]) == c["expected_utf8"].encode()
        add((f"canonical_json[{i}]", canon))

    for i, c in enumerate(v["kdf"]):
        def kdf(c: dict[str, Any] = c) -> None:
            p = c["params"]
            assert (p["alg"], p["v"]) == ("argon2id", 19)
            master = derive_master_key(c["passphrase"], b(c["salt"]), p["m"], p["t"], p["p"])
            assert master == b(c["master_key"])
            assert derive_auth_key(master) == b(c["auth_key"])
            assert derive_kek(master) == b(c["kek"])
        add((f"kdf[{i}]", kdf))

    for i, c in enumerate(v["member_key"]):
        def member(c: dict[str, Any] = c) -> None:
            key = unwrap_member_key(b(c["kek"]), c["user"], c["envelope"])
            assert _pkcs8(key) == b(c["private_pkcs8"])
            assert public_raw(key.public_key()) == b(c["public_raw"])
            assert fingerprint(b(c["public_raw"])) == c["fingerprint"]
            again = wrap_member_key(b(c["kek"]), c["user"], key, iv=b(c["envelope"]["iv"]))
            assert again == c["envelope"]
        add((f"member_key[{i}]", member))

    for i, c in enumerate(v["fingerprint"]):
        def fp(c: dict[str, Any] = c) -> None:
            assert fingerprint(b(c["public_raw"])) == c["fingerprint"]
        add((f"fingerprint[{i}]", fp))

    for i, c in enumerate(v["org_key_unwrap"]):
        def unwrap(c: dict[str, Any] = c) -> None:
            info = {"kv": c["kv"], "org": c["org"], "purpose": c["purpose"],
                    "recipient": c["recipient"], "v": 1}
            assert canonical_json(info) == c["info_utf8"].encode()
            key = load_private_pkcs8(b(c["recipient_private_pkcs8"]))
            got = unwrap_org_key(c["wrapped"], key, c["org"], c["kv"], c["recipient"],
                                 c["purpose"])
            assert got == b(c["org_key"])
        add((f"org_key_unwrap[{i}]", unwrap))

    for i, c in enumerate(v["record"]):
        def record(c: dict[str, Any] = c) -> None:
            aad = {"kv": c["kv"], "org": c["org"], "purpose": "incident",
                   "record": c["record"], "v": 1}
            assert canonical_json(aad) == c["aad_utf8"].encode()
            env = seal_record(b(c["org_key"]), c["org"], c["record"], c["kv"], c["fields"],
                              iv=b(c["envelope"]["iv"]))
            assert env == c["envelope"]
            assert len(b(env["ct"])) - 16 == c["padded_plaintext_len"]
            assert open_record(b(c["org_key"]), c["org"], c["record"], c["envelope"]) \
                == c["fields"]
        add((f"record[{i}]", record))

    for i, c in enumerate(v["attachment"]):
        def attachment(c: dict[str, Any] = c) -> None:
            key, data = b(c["org_key"]), b(c["data"])
            env = seal_attachment(key, c["org"], c["record"], c["attachment"], c["kv"], data,
                                  iv=b(c["envelope"]["iv"]))
            assert env == c["envelope"]
            assert open_attachment(key, c["org"], c["record"], c["attachment"],
                                   c["envelope"]) == data
        add((f"attachment[{i}]", attachment))

    for i, c in enumerate(v["recovery_code"]):
        def recovery(c: dict[str, Any] = c) -> None:
            scalar = b(c["scalar"])
            assert recovery_code(scalar) == c["code"]
            assert recovery_scalar(c["code"]) == scalar
            assert recovery_scalar(c["code"].lower().replace("-", " ")) == scalar
            key = private_key_from_scalar(scalar)
            assert public_raw(key.public_key()) == b(c["public_raw"])
        add((f"recovery_code[{i}]", recovery))

    for i, c in enumerate(v["export"]):
        def export(c: dict[str, Any] = c) -> None:
            key = load_private_pkcs8(b(c["recipient_private_pkcs8"]))
            plain = open_export(b(c["blob"]), key, c["recipient"])
            assert len(plain) == c["plaintext_len"]
            assert hashlib.sha256(plain).hexdigest() == c["plaintext_sha256_hex"]
        add((f"export[{i}]", export))

    for i, c in enumerate(v["prelogin_fake_salt"]):
        def salt(c: dict[str, Any] = c) -> None:
            assert b64u_encode(prelogin_fake_salt(b(c["server_secret"]), c["email"])) \
                == c["salt"]
        add((f"prelogin_fake_salt[{i}]", salt))
    return checks


def must_fail_checks(v: dict[str, Any]) -> list[tuple[str, Callable[[], object]]]:
    """(name, attempt) pairs; each attempt must raise CryptoError."""
    b = b64u_decode

    def record(c: dict[str, Any]) -> object:
        return open_record(b(c["org_key"]), c["org"], c["record"], c["envelope"])

    def org_key(c: dict[str, Any]) -> object:
        return unwrap_org_key(c["wrapped"], load_private_pkcs8(b(c["recipient_private_pkcs8"])),
                              c["org"], c["kv"], c["recipient"], c["purpose"])

    def member_key(c: dict[str, Any]) -> object:
        return unwrap_member_key(b(c["kek"]), c["user"], c["envelope"])

    def export(c: dict[str, Any]) -> object:
        return open_export(b(c["blob"]), load_private_pkcs8(b(c["recipient_private_pkcs8"])),
                           c["recipient"])

    def recovery(c: dict[str, Any]) -> object:
        return recovery_scalar(c["code"])

    openers: dict[str, Callable[[dict[str, Any]], object]] = {
        "record": record, "org_key_unwrap": org_key, "member_key": member_key,
        "export": export, "recovery_code": recovery}
    unknown = set(v["must_fail"]) - set(openers)
    assert not unknown, f"must_fail sections with no Python check: {unknown}"
    return [(f"{section}: {c['why']}", partial(openers[section], c))
            for section, cases in v["must_fail"].items() for c in cases]


__all__ = ["CryptoError", "must_fail_checks", "positive_checks", "vectors_path"]
