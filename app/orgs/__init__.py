"""Members, invites, fingerprint confirmation, key rotation, the audit log, collectives."""

from flask import Blueprint

bp = Blueprint("orgs", __name__, url_prefix="/org")

from . import routes  # noqa: E402,F401
