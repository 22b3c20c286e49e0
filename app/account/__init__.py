"""A member's own account: fingerprint, second factor, passphrase change."""

from flask import Blueprint

bp = Blueprint("account", __name__, url_prefix="/account")

from . import routes  # noqa: E402,F401
