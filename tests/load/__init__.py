"""Load and fault tests against gunicorn with the production config (`make test-load`)."""
