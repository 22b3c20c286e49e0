"""Entry point for gunicorn: `gunicorn wsgi:app`."""

from dotenv import load_dotenv

load_dotenv()

from app import create_app  # noqa: E402 - .env must be read before the config is built

app = create_app()
