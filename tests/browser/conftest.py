"""Playwright fixtures: Debian's Chromium, headless, allowed to talk to 127.0.0.1 only.

The `live_server` fixture (the running app's base URL) comes from tests/conftest.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Route, sync_playwright

CHROMIUM = os.environ.get("COLLATERAL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Schemes that never leave the page (hash-wasm compiles its WebAssembly from memory).
LOCAL_SCHEMES = {"data", "blob", "about"}


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        # Fail, not skip: a green run must mean the browser side was tested (make chromium).
        pytest.fail(f"no Chromium at {CHROMIUM}: run `make chromium` or set COLLATERAL_CHROMIUM")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page that fails the test on a console error, an uncaught exception or any
    request to a host other than 127.0.0.1 (such requests are also blocked)."""
    context = browser.new_context()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"console error: {message.text} ({message.location.get('url')})")

    def local(url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in LOCAL_SCHEMES or parts.hostname == "127.0.0.1"

    def on_request(request: Request) -> None:
        if not local(request.url):
            problems.append(f"request to another host: {request.url}")

    def on_route(route: Route) -> None:
        if local(route.request.url):
            route.continue_()
        else:
            route.abort()  # reported by on_request

    context.on("request", on_request)
    context.route("**/*", on_route)
    new_page = context.new_page()
    new_page.on("console", on_console)
    new_page.on("pageerror", lambda error: problems.append(f"uncaught exception: {error}"))
    yield new_page
    context.close()
    if problems:
        pytest.fail("the page misbehaved:\n" + "\n".join(problems), pytrace=False)
