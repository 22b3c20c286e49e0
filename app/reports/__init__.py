"""Advocacy reports: the engine (SQL), disclosure control, and the pages and downloads."""

from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/reports")

from . import routes  # noqa: E402,F401
