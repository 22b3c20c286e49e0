"""Logging incidents: the form, list, view, edit, delete, import, and the JSON API."""

from flask import Blueprint

bp = Blueprint("incidents", __name__, url_prefix="/incidents")
api = Blueprint("api", __name__, url_prefix="/api/v1")

from . import api_routes, routes  # noqa: E402,F401
