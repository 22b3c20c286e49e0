"""Byte encodings shared by every construction: base64url without padding, canonical JSON."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from .errors import CryptoError

_B64U = re.compile(r"^[A-Za-z0-9_-]*$")


def b64u_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: str) -> bytes:
    """Strict decode: only the url-safe alphabet, no padding, no impossible lengths."""
    if not isinstance(text, str) or not _B64U.match(text) or len(text) % 4 == 1:
        raise CryptoError("not base64url without padding")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:  # pragma: no cover - regex already filters
        raise CryptoError("not base64url without padding") from exc


def _check(obj: Any) -> None:
    # Floats would serialise differently in Python and JavaScript, so they are refused.
    if isinstance(obj, float):
        raise CryptoError("floating-point numbers are not allowed in sealed JSON")
    if isinstance(obj, dict):
        for key, value in obj.items():
            if not isinstance(key, str):
                raise CryptoError("JSON object keys must be strings")
            _check(value)
    elif isinstance(obj, list):
        for value in obj:
            _check(value)
    elif not (obj is None or isinstance(obj, str | int | bool)):
        raise CryptoError(f"type {type(obj).__name__} is not allowed in sealed JSON")


def canonical_json(obj: Any) -> bytes:
    """Keys sorted, no whitespace, UTF-8 with non-ASCII kept: the bytes every AAD is made of."""
    _check(obj)
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
