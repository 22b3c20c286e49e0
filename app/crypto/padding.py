"""Length-hiding padding: 4-byte big-endian length, data, zeros to the next block."""

from __future__ import annotations

from .errors import CryptoError

RECORD_BLOCK = 256
ATTACHMENT_BLOCK = 4096


def pad(data: bytes, block: int) -> bytes:
    body = len(data).to_bytes(4, "big") + data
    return body + bytes(-len(body) % block)


def unpad(padded: bytes, block: int) -> bytes:
    if len(padded) < 4 or len(padded) % block:
        raise CryptoError("bad padding")
    length = int.from_bytes(padded[:4], "big")
    if length > len(padded) - 4:
        raise CryptoError("bad padding")
    if any(padded[4 + length:]):
        raise CryptoError("bad padding")
    return padded[4:4 + length]
