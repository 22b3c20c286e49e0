"""The sealing library's contract beyond the vectors: bad input, round trips, streaming."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
import uuid
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from app.crypto import (
    CryptoError,
    b64u_decode,
    b64u_encode,
    canonical_json,
    check_envelope,
    derive_master_key,
    open_attachment,
    open_export,
    open_record,
    public_raw,
    recovery_code,
    recovery_scalar,
    seal_attachment,
    seal_export,
    seal_record,
    unwrap_org_key,
    wrap_org_key,
)
from app.crypto.padding import pad, unpad

ORG, REC = str(uuid.uuid4()), str(uuid.uuid4())
KEY = os.urandom(32)


def test_canonical_json_refuses_floats_and_odd_types() -> None:
    with pytest.raises(CryptoError):
        canonical_json({"amount": 1.5})
    with pytest.raises(CryptoError):
        canonical_json({"when": object()})
    with pytest.raises(CryptoError):
        canonical_json({1: "int key"})


@pytest.mark.parametrize("text", ["a=", "a+b", "a/b", "a b", "abcde", "é"])
def test_b64u_is_strict(text: str) -> None:
    with pytest.raises(CryptoError):
        b64u_decode(text)


@given(st.binary(max_size=600))
def test_b64u_round_trip(data: bytes) -> None:
    assert b64u_decode(b64u_encode(data)) == data


@given(st.binary(max_size=3000), st.sampled_from([256, 4096]))
def test_padding_round_trip_hides_length(data: bytes, block: int) -> None:
    padded = pad(data, block)
    assert len(padded) % block == 0 and len(padded) >= len(data) + 4
    assert unpad(padded, block) == data


def test_unpad_rejects_lies() -> None:
    good = pad(b"hello", 256)
    with pytest.raises(CryptoError):
        unpad(b"\xff\xff\xff\xff" + good[4:], 256)  # length that does not fit
    with pytest.raises(CryptoError):
        unpad(good[:-1] + b"\x01", 256)  # non-zero padding
    with pytest.raises(CryptoError):
        unpad(good[:100], 256)  # not a whole block


fields_strategy = st.recursive(
    st.none() | st.booleans() | st.integers(-2**53, 2**53) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=20)


@settings(max_examples=60)
@given(st.dictionaries(st.text(max_size=12), fields_strategy, max_size=6), st.integers(1, 50))
def test_record_round_trip(fields: dict[str, object], kv: int) -> None:
    envelope = seal_record(KEY, ORG, REC, kv, fields)
    assert envelope["kv"] == kv
    assert open_record(KEY, ORG, REC, envelope) == fields
    with pytest.raises(CryptoError):
        open_record(os.urandom(32), ORG, REC, envelope)


def test_attachment_round_trip_and_context() -> None:
    att = str(uuid.uuid4())
    data = os.urandom(10_000)
    envelope = seal_attachment(KEY, ORG, REC, att, 3, data)
    assert open_attachment(KEY, ORG, REC, att, envelope) == data
    with pytest.raises(CryptoError):
        open_attachment(KEY, ORG, REC, str(uuid.uuid4()), envelope)


@pytest.mark.parametrize("envelope", [
    None, [], {"v": 1, "kv": 1, "iv": "A" * 16},
    {"v": True, "kv": 1, "iv": "A" * 16, "ct": "A" * 40},
    {"v": 1, "kv": 0, "iv": "A" * 16, "ct": "A" * 40},
    {"v": 1, "kv": "1", "iv": "A" * 16, "ct": "A" * 40},
    {"v": 1, "kv": 1, "iv": "A" * 16, "ct": "AAAA"},
    {"v": 1, "kv": 1, "iv": "A" * 16, "ct": 5},
])
def test_check_envelope_rejects_bad_shapes(envelope: object) -> None:
    with pytest.raises(CryptoError):
        check_envelope(envelope, with_kv=True)


def test_check_envelope_limits_size() -> None:
    envelope = seal_record(KEY, ORG, REC, 1, {"narrative": "x" * 5000})
    check_envelope(envelope, with_kv=True, max_ct_bytes=8192)
    with pytest.raises(CryptoError, match="too large"):
        check_envelope(envelope, with_kv=True, max_ct_bytes=1024)


def test_kdf_refuses_weak_parameters_and_short_salt() -> None:
    with pytest.raises(CryptoError):
        derive_master_key("pass", b"short", 65536, 3, 1)
    with pytest.raises(CryptoError):
        derive_master_key("pass", os.urandom(16), 8, 1, 1)


def test_kdf_normalises_unicode() -> None:
    salt = os.urandom(16)
    composed = derive_master_key("caf\u00e9", salt, 1024, 1, 1)
    assert derive_master_key("cafe\u0301", salt, 1024, 1, 1) == composed


def test_org_key_wrap_binds_context() -> None:
    member = ec.generate_private_key(ec.SECP256R1())
    user = str(uuid.uuid4())
    wrapped = wrap_org_key(KEY, member.public_key(), ORG, 2, user)
    assert unwrap_org_key(wrapped, member, ORG, 2, user) == KEY
    for args in [(ORG, 1, user), (str(uuid.uuid4()), 2, user), (ORG, 2, str(uuid.uuid4()))]:
        with pytest.raises(CryptoError):
            unwrap_org_key(wrapped, member, *args)
    with pytest.raises(CryptoError):
        wrap_org_key(KEY, member.public_key(), ORG, 1, user, purpose="org-key-recovery")
    assert len(b64u_decode(wrapped)) == 65 + 48
    assert len(public_raw(member.public_key())) == 65


def test_recovery_code_tolerates_formatting_not_typos() -> None:
    scalar = os.urandom(32)
    code = recovery_code(scalar)
    assert len(code.replace("-", "")) == 56 and code.count("-") == 13
    assert recovery_scalar(" " + code.lower().replace("-", "  ") + "\n") == scalar
    for bad in (code[:-1], code + "A", code.replace(code[5], "1" if code[5] != "1" else "8", 1)):
        with pytest.raises(CryptoError):
            recovery_scalar(bad)


def _pieces(total: int, size: int) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        n = min(size, total - sent)
        yield bytes([sent % 251]) * n
        sent += n


@pytest.mark.parametrize("length", [0, 1, 65535, 65536, 65537, 200_000])
def test_export_round_trip_at_chunk_edges(length: int) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    export, user = str(uuid.uuid4()), str(uuid.uuid4())
    data = os.urandom(length)
    blob = b"".join(seal_export([data[:1000], data[1000:]], key.public_key(), export, user))
    assert open_export(blob, key, user) == data
    with pytest.raises(CryptoError):
        open_export(blob, key, str(uuid.uuid4()))
    with pytest.raises(CryptoError):
        open_export(blob[:-1], key, user)


def test_export_streams_in_constant_memory() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    total = 64 * 1024 * 1024  # 64 MiB through the sealer, never held whole
    digest = hashlib.sha256()
    tracemalloc.start()
    for piece in seal_export(_pieces(total, 100_000), key.public_key(), "e", "u"):
        digest.update(piece)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 2 * 1024 * 1024, f"peak {peak} bytes"
