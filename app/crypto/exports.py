"""Sealed exports (server → researcher): an HPKE-wrapped file key and AES-GCM chunks, streamed."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .encoding import b64u_decode, b64u_encode, canonical_json
from .errors import CryptoError
from .keys import hpke_open, hpke_seal

MAGIC = b"COLLATERAL-EXPORT-1\n"
CHUNK = 65536
TAG_LEN = 16
MAX_HEADER = 4096


def _wrap_info(export_id: str, recipient: str) -> bytes:
    return canonical_json({"export": export_id, "purpose": "export", "recipient": recipient,
                           "v": 1})


def _nonce(i: int) -> bytes:
    return bytes(4) + i.to_bytes(8, "big")


def _chunk_aad(export_id: str, i: int, last: bool) -> bytes:
    return canonical_json({"export": export_id, "i": i, "last": last, "purpose": "export-chunk",
                           "v": 1})


def _rechunk(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Re-cut arbitrary input pieces into exact 64 KiB blocks; the final block may be short."""
    buffer = bytearray()
    for piece in chunks:
        buffer += piece
        while len(buffer) >= CHUNK:
            yield bytes(buffer[:CHUNK])
            del buffer[:CHUNK]
    yield bytes(buffer)


def seal_export(plaintext_chunks: Iterable[bytes], recipient_public_key: ec.EllipticCurvePublicKey,
                export_id: str, recipient: str) -> Iterator[bytes]:
    """Yield the sealed file piece by piece; memory stays at about one chunk."""
    file_key = os.urandom(32)
    wrapped = hpke_seal(file_key, recipient_public_key, _wrap_info(export_id, recipient))
    header = canonical_json({"chunk": CHUNK, "export": export_id, "recipient": recipient, "v": 1,
                             "wrapped_key": b64u_encode(wrapped)})
    yield MAGIC + header + b"\n"
    aead = AESGCM(file_key)
    # Look one block ahead so the final block is known to be last when it is sealed. A
    # plaintext that is a multiple of the chunk size (or empty) ends with an empty last chunk.
    blocks = _rechunk(plaintext_chunks)
    i, current = 0, next(blocks)
    for upcoming in blocks:
        yield aead.encrypt(_nonce(i), current, _chunk_aad(export_id, i, False))
        i, current = i + 1, upcoming
    yield aead.encrypt(_nonce(i), current, _chunk_aad(export_id, i, True))


def open_export(data: bytes, private_key: ec.EllipticCurvePrivateKey, recipient: str) -> bytes:
    if not data.startswith(MAGIC):
        raise CryptoError("not a Collateral export file")
    end = data.find(b"\n", len(MAGIC), len(MAGIC) + MAX_HEADER)
    if end < 0:
        raise CryptoError("export header is missing or too long")
    try:
        header = json.loads(data[len(MAGIC):end].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CryptoError("export header is not JSON") from exc
    if (not isinstance(header, dict)
            or set(header) != {"chunk", "export", "recipient", "v", "wrapped_key"}
            or header["v"] != 1 or header["chunk"] != CHUNK
            or not isinstance(header["export"], str) or not isinstance(header["wrapped_key"], str)):
        raise CryptoError("unknown export header")
    if header["recipient"] != recipient:
        raise CryptoError("this export is sealed to someone else")
    export_id = header["export"]
    file_key = hpke_open(b64u_decode(header["wrapped_key"]), private_key,
                         _wrap_info(export_id, recipient))
    aead = AESGCM(file_key)
    body = memoryview(data)[end + 1:]
    sealed_chunk = CHUNK + TAG_LEN
    if len(body) < TAG_LEN:
        raise CryptoError("export is truncated")
    out = bytearray()
    offset, i = 0, 0
    while offset < len(body):
        piece = bytes(body[offset:offset + sealed_chunk])
        offset += len(piece)
        last = offset >= len(body)
        try:
            out += aead.decrypt(_nonce(i), piece, _chunk_aad(export_id, i, last))
        except InvalidTag as exc:
            raise CryptoError("export is damaged, truncated or reordered") from exc
        i += 1
    return bytes(out)
