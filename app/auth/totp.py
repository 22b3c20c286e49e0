"""Time-based one-time codes (RFC 6238) as a second factor, each code usable once."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import time

import pyotp
import segno
from flask_babel import gettext as _

from app.models import User

ISSUER = "Collateral"
STEP = 30


def enrolment_secret(server_key: str, session_token_hash: str, user_pid: str) -> str:
    """The secret offered while a member enrols, derived from this login session.

    Deriving it (instead of keeping it in the cookie session) leaves nothing to lose when a
    slower response of an earlier page rewrites the cookie, and keeps the unconfirmed secret
    out of the browser. It is the same on every page load of one login, new at the next.
    """
    mac = hmac.new(server_key.encode(), f"totp-enrolment:{session_token_hash}:{user_pid}".encode(),
                   hashlib.sha256).digest()
    return base64.b32encode(mac[:20]).decode()


def qr_svg(secret: str, email: str) -> str:
    """The enrolment QR code as an SVG made on the server: no image service, no script."""
    uri = pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=5, border=2, xmldecl=False,
                                    svgns=True, title=str(_("QR code for your authenticator app")))
    return out.getvalue().decode()


def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step a code belongs to (±1 step of clock drift), or None."""
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    at = time.time() if now is None else now
    current = int(at // STEP)
    for step in (current, current - 1, current + 1):
        if totp.at(step * STEP) == code:
            return step
    return None


def verify_for_user(user: User, code: str, now: float | None = None) -> bool:
    """Accept a code once: a step at or before the last one used is a replay."""
    if not user.totp_secret:
        return False
    step = matching_step(user.totp_secret, code, now)
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    user.totp_last_step = step
    return True
