"""Collateral: the application factory."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, g
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from config import ROOT, Config

from . import cli, errors, i18n, inputs, labels, limits, logprivacy, payload, security
from .extensions import csrf, db, login_manager, migrate


def create_app(config_class: type[Config] = Config, **overrides: Any) -> Flask:
    app = Flask(__name__, instance_path=str(ROOT / "instance"),
                template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    app.json = payload.JSONProvider(app)
    app.config.from_object(config_class)
    app.config.update(overrides)
    # instance/ holds the SQLite database and the secret key: the app's user only.
    Path(app.instance_path).mkdir(mode=0o700, parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path) / "secret_key")

    _logging(app)
    if app.config["PROXY_COUNT"]:
        # The client's address (login throttling) and scheme come from the proxy's headers.
        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    limits.init_app(app)
    inputs.init_app(app)
    login_manager.init_app(app)
    i18n.init_app(app)
    labels.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    cli.init_app(app)

    from .account import bp as account_bp
    from .auth import bp as auth_bp
    from .incidents import api as api_bp
    from .incidents import bp as incidents_bp
    from .main import bp as main_bp
    from .orgs import bp as orgs_bp
    from .reports import bp as reports_bp
    from .research import bp as research_bp

    for blueprint in (main_bp, auth_bp, account_bp, orgs_bp, incidents_bp, api_bp,
                      reports_bp, research_bp):
        app.register_blueprint(blueprint)
    from .auth.access import current_membership

    app.jinja_env.globals["current_membership"] = current_membership

    @app.teardown_request
    def _forget_request_state(_exc: BaseException | None) -> None:
        # Flask-Login (the user) and Flask-WTF (the CSRF token) cache on g, which lives as
        # long as the app context. When one context serves several requests (tests, the CLI)
        # nothing of one request may carry over to the next.
        for key in list(g):
            g.pop(key)

    with app.app_context():
        _tune_sqlite(db.engine)
    return app


def _logging(app: Flask) -> None:
    """Log to stderr, and to LOG_FILE when set. What is logged: error types and places;
    never bodies, never exception messages (see app/errors.py); no request lines; and no
    e-mail or IP address, id or token anywhere (app/logprivacy.py, unless LOG_PRIVACY=0)."""
    app.logger.setLevel(app.config["LOG_LEVEL"])
    target = app.config.get("LOG_FILE")
    if target and not any(getattr(h, "baseFilename", None) == str(Path(target).resolve())
                          for h in logging.getLogger("app").handlers):
        handler = logging.FileHandler(target, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        for name in ("app", "werkzeug", "gunicorn.error", "gunicorn.access"):
            logging.getLogger(name).addHandler(handler)
        logging.getLogger("app").setLevel(app.config["LOG_LEVEL"])
    logprivacy.install(app.config["LOG_PRIVACY"])


def _instance_secret(path: Path) -> str:
    """Generate the secret key on first run, readable by the app's user only."""
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _tune_sqlite(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL lets readers go on while one writer writes; busy_timeout waits instead of failing
        # with "database is locked"; foreign keys are off in SQLite unless asked for.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Deleted rows and destroyed sealed tiers are overwritten, not left in free pages.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()


from . import models  # noqa: E402,F401 - models must be imported for metadata and migrations

