"""Passphrase → master key → auth key and KEK (CRYPTO.md, Keys)."""

from __future__ import annotations

import hashlib
import hmac
import unicodedata

from argon2.low_level import Type, hash_secret_raw
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import CryptoError

KEY_LEN = 32
SALT_LEN = 16
# The floor below which parameters are refused outright; production uses 65536/3/1.
MIN_MEMORY_KIB = 1024


def derive_master_key(passphrase: str, salt: bytes, m: int, t: int, p: int) -> bytes:
    if len(salt) != SALT_LEN:
        raise CryptoError("salt must be 16 bytes")
    if m < MIN_MEMORY_KIB or t < 1 or p < 1:
        raise CryptoError("Argon2 parameters are too weak")
    secret = unicodedata.normalize("NFKC", passphrase).encode("utf-8")
    return hash_secret_raw(secret, salt, time_cost=t, memory_cost=m, parallelism=p,
                           hash_len=KEY_LEN, type=Type.ID, version=19)


def _hkdf(master_key: bytes, info: bytes) -> bytes:
    if len(master_key) != KEY_LEN:
        raise CryptoError("master key must be 32 bytes")
    return HKDF(algorithm=hashes.SHA256(), length=KEY_LEN, salt=None, info=info).derive(master_key)


def derive_auth_key(master_key: bytes) -> bytes:
    return _hkdf(master_key, b"collateral/v1/auth")


def derive_kek(master_key: bytes) -> bytes:
    return _hkdf(master_key, b"collateral/v1/kek")


def prelogin_fake_salt(server_secret: bytes, email: str) -> bytes:
    """A stable salt for an unknown e-mail, so prelogin does not reveal which accounts exist."""
    message = b"prelogin:" + email.strip().lower().encode("utf-8")
    return hmac.new(server_secret, message, hashlib.sha256).digest()[:SALT_LEN]
