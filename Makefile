# Two commands on a fresh machine: `make run` and `make test`. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi.py
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?=

.PHONY: run test test-load lint bandit typecheck pytest vendor chromium system-packages migrate translations clean demo screenshots

# Debian packages the app itself needs: Pango and HarfBuzz for WeasyPrint (report PDFs), and
# fonts for every script the interface supports (Latin, Cyrillic: DejaVu; Thai: TLWG).
# poppler-utils (pdftoppm, pdftotext) is for the tests that read the PDFs back.
SYSTEM_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
	fonts-thai-tlwg poppler-utils

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps re-install when pyproject.toml changes.
$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.dev: pyproject.toml $(VENV)/.runtime
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

system-packages:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages: $$missing"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

migrate: $(VENV)/.runtime
	$(BIN)/flask db upgrade

# The .mo files the app reads, compiled from the committed .po files (the .mo files are not
# committed: see docs/translating.md). Untranslated strings show in English.
translations: $(VENV)/.runtime
	$(BIN)/flask translate compile

# The development server on the embedded SQLite database, reachable only from this machine.
# Plain http on 127.0.0.1 is a secure context for the browser, so session cookies are not
# marked Secure here; behind HTTPS in production they are (see docs/operating.md).
run: migrate system-packages translations
	SESSION_COOKIE_SECURE=0 $(BIN)/flask run --host $(HOST) --port $(PORT)

# A demo instance in the (empty) development database: invented organisations, people and
# incidents; prints the passphrases once. Refuses a database in use (docs/demo.md).
demo: migrate
	COLLATERAL_DEMO=1 $(BIN)/flask demo load

# docs/screenshots/*.png from a temporary demo instance, in Debian's Chromium.
screenshots: $(VENV)/.dev chromium system-packages
	$(BIN)/flask translate compile
	$(BIN)/python scripts/screenshots.py

# Debian's Chromium for the browser tests, installed only when missing (never `playwright install`).
chromium:
	@command -v chromium >/dev/null || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

# Security lint of the app: any medium or high finding fails, unless the line says why it is
# safe with `# nosec BXXX - reason`.
bandit: $(VENV)/.dev
	$(BIN)/bandit --quiet --recursive app --severity-level medium

lint: $(VENV)/.dev bandit
	$(BIN)/ruff check .

typecheck: $(VENV)/.dev
	$(BIN)/mypy

pytest: $(VENV)/.dev chromium system-packages translations
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test: lint typecheck pytest

# Load and fault tests against gunicorn with the production config (tests/load, about ten
# minutes): 50 people at once on SQLite and PostgreSQL, workers and master killed, a private
# PostgreSQL cluster stopped and started under load. PostgreSQL: the server in DATABASE_URL,
# else 127.0.0.1:5432; the private cluster needs the server binaries (/usr/lib/postgresql).
# The full figures come from bench/load.py (see bench/RESULTS.md).
test-load: $(VENV)/.dev system-packages
	$(BIN)/python -m pytest -m load tests/load -v $(PYTEST_ARGS)

# Re-vendor the browser libraries from the npm registry (pinned; see static/vendor/MANIFEST).
vendor:
	bash scripts/vendor.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
