"""Research extracts: anonymisation, requests and sealed delivery (issue 7)."""

from flask import Blueprint

bp = Blueprint("research", __name__, url_prefix="/research")

from . import routes  # noqa: E402,F401
