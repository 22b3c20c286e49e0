"""Screenshots of the main pages, at a phone's width (360x740) and a laptop's (1280x800),
into docs/screenshots/NAME-WIDTH.png.

The app runs on 127.0.0.1 (a free port) over a temporary SQLite database loaded with the demo
(`flask demo load`, fixed seed), and Debian's Chromium opens it through Playwright: people log
in on the real login page (Argon2id in the page), and sealed details are opened in the page,
as a member would see them. Nothing is fetched from another host.

Run:  .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--full-page]
          [--only report,help]
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from flask import Flask  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from playwright.sync_api import Page, Route, sync_playwright  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from app import create_app  # noqa: E402
from app.demo import cast  # noqa: E402
from app.demo.build import Summary, load  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Collective, Incident, Organisation  # noqa: E402
from app.reports.params import last_four_quarters  # noqa: E402
from config import Config  # noqa: E402

CHROMIUM = os.environ.get("COLLATERAL_CHROMIUM", "/usr/bin/chromium")
SIZES = ((360, 740), (1280, 800))
SEED = 20240601
WAIT = 60_000  # ms: logging in runs Argon2id (64 MiB) in the page


def build(tmp: Path) -> tuple[Flask, Summary]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    app = create_app(Config, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp / 'demo.db'}",
                     SECRET_KEY=secrets.token_urlsafe(32), DEMO=True,
                     SESSION_COOKIE_SECURE=False, EXTRACTS_DIR=str(tmp / "extracts"),
                     QUICK_EXIT_URL="https://weather.example/")
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        summary = load(app, seed=SEED)
    return app, summary


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def targets(app: Flask) -> dict[str, str]:
    """Addresses that depend on the data: a full incident, the collective's report."""
    with app.app_context():
        org = db.session.scalar(sa.select(Organisation).order_by(Organisation.id))
        assert org is not None
        incident = db.session.scalar(
            sa.select(Incident).where(Incident.org_id == org.id, Incident.status == "complete",
                                      Incident.kinds_set.contains(" raid "),
                                      Incident.amount_confiscated.is_not(None),
                                      Incident.days_detained.is_not(None))
            .order_by(Incident.month.desc()).limit(1))
        collective = db.session.scalar(sa.select(Collective))
        assert incident and collective
        window = last_four_quarters(date.today())
        span = f"from={window.start}&to={window.end}"
        return {"incident": f"/incidents/{incident.pid}",
                "report": f"/reports/view?scope=org&{span}",
                "collective": f"/reports/view?scope={collective.pid}&{span}"}


def ready(page: Page) -> None:
    """Scripts done (pages with a script mark the body), fonts loaded, no animation left."""
    page.wait_for_load_state("networkidle")
    if page.locator("script[src*='/static/js/']").count() > 1:
        page.wait_for_function(
            "() => ['ready', 'refused'].includes(document.body.dataset.pageState)"
            " || !document.getElementById('page-loading')"
            " || document.getElementById('page-loading').hidden", timeout=WAIT)
    page.evaluate("document.fonts.ready")
    time.sleep(0.2)


def login(page: Page, base: str, email: str, passphrase: str) -> None:
    page.goto(base + "/login")
    ready(page)
    page.fill("#email", email)
    page.fill("#passphrase", passphrase)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url, timeout=WAIT)


def shoot(page: Page, out: Path, name: str, full: bool,
          prepare: Callable[[Page], None] | None = None) -> None:
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.reload()
        ready(page)
        if prepare:
            prepare(page)
        path = out / f"{name}-{width}.png"
        page.screenshot(path=str(path), full_page=full, animations="disabled", caret="hide")
        print(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def show_sealed(page: Page) -> None:
    """The incident page once the browser has opened the sealed details, scrolled to them."""
    page.wait_for_selector("#sealed-view:not([hidden])", timeout=WAIT)
    page.evaluate("document.getElementById('sealed-title').scrollIntoView({block: 'start'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--full-page", action="store_true",
                        help="the whole page, not just what fits the window")
    parser.add_argument("--only", default="", help="comma-separated names to render")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    only = {n for n in args.only.split(",") if n}

    with tempfile.TemporaryDirectory(prefix="collateral-screens-") as tmp:
        print("Loading the demo…")
        app, summary = build(Path(tmp))
        secret = {a.person.email: a.passphrase for a in summary.accounts}
        where = targets(app)
        with serve(app) as base, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--font-render-hinting=none"])

            def person(email: str | None) -> Page:
                context = browser.new_context(locale="en-GB", color_scheme="light",
                                              timezone_id="UTC")

                def local_only(route: Route) -> None:
                    parts = urlsplit(route.request.url)
                    if parts.scheme in ("data", "blob", "about") or \
                            parts.hostname == "127.0.0.1":
                        route.continue_()
                    else:
                        route.abort()

                context.route("**/*", local_only)
                page = context.new_page()
                page.set_default_timeout(WAIT)
                if email:
                    login(page, base, email, secret[email])
                return page

            def want(name: str) -> bool:
                return not only or name in only

            full = args.full_page
            visitor = person(None)
            for name, path in (("home", "/"), ("login", "/login"), ("help", "/help")):
                if want(name):
                    visitor.goto(base + path)
                    shoot(visitor, args.out, name, full)

            coordinator = person(cast.ORGS[0].coordinator.email)
            pages = (("home-member", "/", None),
                     ("incidents", "/incidents", None),
                     ("incident-form", "/incidents/new", None),
                     ("incident", where["incident"], show_sealed),
                     ("report", where["report"], None),
                     ("members", "/org/members", None))
            for name, path, prepare in pages:
                if want(name):
                    coordinator.goto(base + path)
                    shoot(coordinator, args.out, name, full, prepare)

            if want("research"):
                researcher = person(cast.RESEARCHER.email)
                researcher.goto(base + "/research")
                shoot(researcher, args.out, "research", full)
            if want("collective-report"):
                analyst = person(cast.COLLECTIVE_ANALYST)
                analyst.goto(base + where["collective"])
                shoot(analyst, args.out, "collective-report", full)
            browser.close()


if __name__ == "__main__":
    main()
