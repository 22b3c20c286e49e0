"""Login, registration from an invite, recovery, sessions."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import access, routes  # noqa: E402,F401 - registers loaders and views
