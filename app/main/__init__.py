"""Pages that belong to no feature: home and first run, the browser check, health, quick exit."""

from flask import Blueprint

bp = Blueprint("main", __name__)

from . import routes  # noqa: E402,F401 - registers the views on bp
