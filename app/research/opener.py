"""Opening a sealed extract without a browser: the researcher's key file (their private key,
still sealed under their passphrase-derived KEK — CRYPTO.md) and their passphrase give the
private key; with it the sealed file opens. Used by `flask extract open`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.crypto import (
    CryptoError,
    b64u_decode,
    derive_kek,
    derive_master_key,
    open_export,
    unwrap_member_key,
)


def open_with_keyfile(sealed: bytes, keyfile: dict[str, Any], passphrase: str) -> bytes:
    try:
        kdf, user = keyfile["kdf"], keyfile["user"]
        master = derive_master_key(passphrase, b64u_decode(keyfile["salt"]), int(kdf["m"]),
                                   int(kdf["t"]), int(kdf["p"]))
        envelope = keyfile["wrapped_private_key"]
    except (KeyError, TypeError, ValueError) as exc:
        raise CryptoError("this is not a Collateral key file") from exc
    try:
        key = unwrap_member_key(derive_kek(master), user, envelope)
    except CryptoError as exc:
        raise CryptoError("the passphrase does not open this key file") from exc
    return open_export(sealed, key, user)


def read_keyfile(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CryptoError(f"cannot read the key file {path}") from exc
    if not isinstance(data, dict):
        raise CryptoError("this is not a Collateral key file")
    return data
