"""Configuration from the environment. `.env` is read by the `flask` CLI and by wsgi.py.

No secret lives in this file: SECRET_KEY comes from the environment or is generated into
instance/ on first run (see app/__init__.py).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import ClassVar

ROOT = Path(__file__).resolve().parent
INSTANCE = ROOT / "instance"


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def database_url(url: str | None) -> str:
    """DATABASE_URL, or the SQLite file under instance/ when it is not set."""
    url = (url or "").strip()
    if not url:
        return f"sqlite:///{INSTANCE / 'collateral.db'}"
    # Accept the plain scheme most hosts hand out; we always use psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class Config:
    SECRET_KEY: str | None = os.environ.get("SECRET_KEY") or None
    SQLALCHEMY_DATABASE_URI = database_url(os.environ.get("DATABASE_URL"))
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict[str, object]] = {"pool_pre_ping": True}

    # Passphrase KDF run in the browser (CRYPTO.md). Stored per member; may only be raised.
    KDF_MEMORY_KIB = _int("KDF_MEMORY_KIB", 65536)
    KDF_TIME_COST = _int("KDF_TIME_COST", 3)
    KDF_PARALLELISM = _int("KDF_PARALLELISM", 1)
    # Server-side Argon2id hash of the auth key the browser sends at login.
    AUTH_HASH_MEMORY_KIB = _int("AUTH_HASH_MEMORY_KIB", 65536)
    AUTH_HASH_TIME_COST = _int("AUTH_HASH_TIME_COST", 3)
    AUTH_HASH_PARALLELISM = _int("AUTH_HASH_PARALLELISM", 1)

    # Sessions: an absolute lifetime and an idle timeout after which the keys are locked.
    PERMANENT_SESSION_LIFETIME = timedelta(hours=_int("SESSION_LIFETIME_HOURS", 12))
    SESSION_IDLE_MINUTES = _int("SESSION_IDLE_MINUTES", 30)
    SESSION_COOKIE_NAME = "collateral_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Strict"
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "1") != "0"

    INVITE_HOURS = _int("INVITE_HOURS", 72)
    # Sealed research extracts: where they are kept (default instance/extracts) and how long.
    EXTRACTS_DIR = os.environ.get("EXTRACTS_DIR") or None
    EXTRACT_DAYS = _int("EXTRACT_DAYS", 30)
    # How many reverse proxies stand in front (their X-Forwarded-For/-Proto are trusted).
    PROXY_COUNT = _int("PROXY_COUNT", 0)
    # The address people open the app at, for links printed by `flask org ...` commands.
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000")
    # One request (an incident with its new attachments) and one attachment, in MiB.
    MAX_CONTENT_LENGTH = _int("MAX_CONTENT_MIB", 64) * 1024 * 1024
    MAX_ATTACHMENT_BYTES = _int("MAX_ATTACHMENT_MIB", 20) * 1024 * 1024
    # The neutral page the quick-exit control leaves for.
    QUICK_EXIT_URL = os.environ.get("QUICK_EXIT_URL", "https://www.bbc.com/weather")
    # Marks a demo instance: only then does `flask demo load` run (and only on an empty
    # database). A production instance never sets COLLATERAL_DEMO.
    DEMO = os.environ.get("COLLATERAL_DEMO", "").strip().lower() in ("1", "true", "yes")

    # Folder of the PostgreSQL client programs for `flask backup` (default: the newest found).
    PG_BIN_DIR = os.environ.get("PG_BIN_DIR") or None

    # Application log: stderr always; also this file when set. Never request bodies.
    LOG_FILE = os.environ.get("LOG_FILE") or None
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    # E-mail and IP addresses, ids and tokens scrubbed from every log line, no request lines.
    # 0 turns this off: only for debugging on a machine without real data.
    LOG_PRIVACY = os.environ.get("LOG_PRIVACY", "1") != "0"

    LANGUAGES = ("en", "es", "fr", "pt", "ru", "th")
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_TRANSLATION_DIRECTORIES = str(ROOT / "translations")
    WTF_CSRF_TIME_LIMIT: int | None = None  # tied to the session instead


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = secrets.token_urlsafe(32)
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    KDF_MEMORY_KIB = 1024
    KDF_TIME_COST = 1
    AUTH_HASH_MEMORY_KIB = 1024
    AUTH_HASH_TIME_COST = 1
    SESSION_COOKIE_SECURE = False
    QUICK_EXIT_URL = "https://weather.example/"
    # Sealed research extracts of a test run go to a temporary folder, not instance/.
    EXTRACTS_DIR = tempfile.mkdtemp(prefix="collateral-test-extracts-")
