"""The Python side of the sealing protocol (shared/design/CRYPTO.md). No Flask imports here."""

from .encoding import b64u_decode, b64u_encode, canonical_json
from .envelopes import (
    check_envelope,
    open_attachment,
    open_record,
    seal_attachment,
    seal_record,
    unwrap_member_key,
    wrap_member_key,
)
from .errors import CryptoError
from .exports import open_export, seal_export
from .kdf import derive_auth_key, derive_kek, derive_master_key, prelogin_fake_salt
from .keys import (
    fingerprint,
    load_private_pkcs8,
    load_public_raw,
    private_key_from_scalar,
    private_scalar,
    public_raw,
    recovery_code,
    recovery_scalar,
    unwrap_org_key,
    verify_recovery_proof,
    wrap_org_key,
)

__all__ = [
    "CryptoError",
    "b64u_decode",
    "b64u_encode",
    "canonical_json",
    "check_envelope",
    "derive_auth_key",
    "derive_kek",
    "derive_master_key",
    "fingerprint",
    "load_private_pkcs8",
    "load_public_raw",
    "open_attachment",
    "open_export",
    "open_record",
    "prelogin_fake_salt",
    "private_key_from_scalar",
    "private_scalar",
    "public_raw",
    "recovery_code",
    "recovery_scalar",
    "seal_attachment",
    "seal_export",
    "seal_record",
    "unwrap_member_key",
    "unwrap_org_key",
    "verify_recovery_proof",
    "wrap_member_key",
    "wrap_org_key",
]
