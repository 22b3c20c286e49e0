"""Public keys, fingerprints, HPKE wraps of org data keys, recovery codes."""

from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .encoding import b64u_decode, b64u_encode, canonical_json
from .errors import CryptoError

# DHKEM(P-256, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM, RFC 9180 base mode.
SUITE = hpke.Suite(hpke.KEM.P256, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
ENC_LEN = 65
PUBLIC_RAW_LEN = 65
ORG_KEY_PURPOSES = ("org-key", "org-key-recovery")


def public_raw(public_key: ec.EllipticCurvePublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.X962,
                                   serialization.PublicFormat.UncompressedPoint)


def load_public_raw(raw: bytes) -> ec.EllipticCurvePublicKey:
    if len(raw) != PUBLIC_RAW_LEN or raw[0] != 4:
        raise CryptoError("public key must be a 65-byte uncompressed P-256 point")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError as exc:
        raise CryptoError("public key is not a point on P-256") from exc


def fingerprint(public_raw: bytes) -> str:
    digest = hashlib.sha256(b"collateral/v1/fingerprint" + public_raw).digest()
    groups = (int.from_bytes(digest[5 * i:5 * i + 5], "big") % 100000 for i in range(6))
    return " ".join(f"{g:05d}" for g in groups)


def _wrap_info(org_id: str, kv: int, recipient: str, purpose: str) -> bytes:
    if purpose not in ORG_KEY_PURPOSES:
        raise CryptoError("unknown wrap purpose")
    if (purpose == "org-key-recovery") != (recipient == "recovery"):
        raise CryptoError("recovery wraps are addressed to 'recovery' and only to it")
    return canonical_json({"kv": kv, "org": org_id, "purpose": purpose,
                           "recipient": recipient, "v": 1})


def wrap_org_key(org_key: bytes, recipient_public_key: ec.EllipticCurvePublicKey, org_id: str,
                 kv: int, recipient: str, purpose: str = "org-key") -> str:
    if len(org_key) != 32:
        raise CryptoError("org key must be 32 bytes")
    info = _wrap_info(org_id, kv, recipient, purpose)
    return b64u_encode(SUITE.encrypt(org_key, recipient_public_key, info=info))


def unwrap_org_key(wrapped: str, private_key: ec.EllipticCurvePrivateKey, org_id: str, kv: int,
                   recipient: str, purpose: str = "org-key") -> bytes:
    info = _wrap_info(org_id, kv, recipient, purpose)
    blob = b64u_decode(wrapped)
    if len(blob) != ENC_LEN + 32 + 16:
        raise CryptoError("wrapped key has the wrong length")
    try:
        return SUITE.decrypt(blob, private_key, info=info)
    except (InvalidTag, ValueError) as exc:
        raise CryptoError("cannot unwrap: not addressed to this key and context") from exc


def hpke_seal(plaintext: bytes, public_key: ec.EllipticCurvePublicKey, info: bytes) -> bytes:
    return SUITE.encrypt(plaintext, public_key, info=info)


def hpke_open(blob: bytes, private_key: ec.EllipticCurvePrivateKey, info: bytes) -> bytes:
    try:
        return SUITE.decrypt(blob, private_key, info=info)
    except (InvalidTag, ValueError) as exc:
        raise CryptoError("cannot unwrap: not addressed to this key and context") from exc


# Recovery code: the org recovery private scalar, with a 3-byte checksum, in base32 groups.

def _checksum(scalar: bytes) -> bytes:
    return hashlib.sha256(b"collateral/v1/recovery" + scalar).digest()[:3]


def recovery_code(scalar: bytes) -> str:
    if len(scalar) != 32:
        raise CryptoError("recovery scalar must be 32 bytes")
    text = base64.b32encode(scalar + _checksum(scalar)).decode("ascii")
    return "-".join(text[i:i + 4] for i in range(0, len(text), 4))


def recovery_scalar(code: str) -> bytes:
    text = "".join(code.split()).replace("-", "").upper()
    if len(text) != 56:
        raise CryptoError("a recovery code has 56 letters and digits")
    try:
        raw = base64.b32decode(text)
    except (binascii.Error, ValueError) as exc:
        raise CryptoError("a recovery code uses only A–Z and 2–7") from exc
    scalar, check = raw[:32], raw[32:]
    if _checksum(scalar) != check:
        raise CryptoError("the recovery code is mistyped: its checksum does not match")
    return scalar


def private_key_from_scalar(scalar: bytes) -> ec.EllipticCurvePrivateKey:
    try:
        return ec.derive_private_key(int.from_bytes(scalar, "big"), ec.SECP256R1())
    except ValueError as exc:
        raise CryptoError("scalar is not a valid P-256 private key") from exc


def private_scalar(private_key: ec.EllipticCurvePrivateKey) -> bytes:
    return private_key.private_numbers().private_value.to_bytes(32, "big")


def load_private_pkcs8(der: bytes) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_der_private_key(der, password=None)
    except ValueError as exc:
        raise CryptoError("not a PKCS#8 private key") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CryptoError("not an EC private key")
    return key



def verify_recovery_proof(recovery_public_raw: bytes, org_id: str, nonce: str,
                          signature: bytes) -> None:
    """Check that whoever recovers an organisation holds its recovery code.

    The browser signs canonical {"nonce","org","purpose":"recovery-proof","v":1} with ECDSA
    P-256/SHA-256 using the recovery scalar; the signature is r ‖ s (IEEE P1363, 64 bytes).
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    if len(signature) != 64:
        raise CryptoError("the recovery proof has the wrong length")
    message = canonical_json({"nonce": nonce, "org": org_id, "purpose": "recovery-proof",
                              "v": 1})
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"),
                               int.from_bytes(signature[32:], "big"))
    try:
        load_public_raw(recovery_public_raw).verify(der, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise CryptoError("the recovery code does not match this organisation") from exc
