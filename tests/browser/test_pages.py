"""Pages as a visitor's browser sees them: they load cleanly, and quick exit really leaves."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask, Response, request, request_finished
from playwright.sync_api import Browser, Page, Route

pytestmark = pytest.mark.browser

NEUTRAL = "<!doctype html><title>Weather</title><p>Sunny</p>"


@pytest.mark.parametrize("path", ["/", "/selftest"])
def test_page_loads_cleanly(page: Page, live_server: str, path: str) -> None:
    """No console error, no uncaught exception, no request to another host (the fixture checks)."""
    response = page.goto(live_server + path)
    assert response is not None and response.status == 200
    assert page.locator("#quick-exit").is_visible()
    page.wait_for_load_state("networkidle")


def test_error_page_loads_cleanly(browser: Browser, live_server: str) -> None:
    """The 404 page: the only console message allowed is Chromium's note of the 404 itself."""
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    response = page.goto(live_server + "/no/such/page")
    page.wait_for_load_state("networkidle")
    assert response is not None and response.status == 404
    assert "There is nothing at this address" in page.inner_text("main")
    assert page.locator("#quick-exit").is_visible()
    assert [e for e in errors if "status of 404" not in e] == []
    context.close()


@pytest.fixture
def exit_page(browser: Browser, live_app: Flask) -> Iterator[tuple[Page, list[int]]]:
    """A page whose neutral exit site is stubbed; records the server's answers to the beacon."""
    context = browser.new_context()
    exit_url = live_app.config["QUICK_EXIT_URL"]
    beacons: list[int] = []

    def route(route: Route) -> None:
        if route.request.url.startswith(exit_url):
            route.fulfill(status=200, content_type="text/html", body=NEUTRAL)
        elif route.request.url.startswith("http://127.0.0.1:"):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", route)
    page = context.new_page()

    # Beacons are not reported to the page, so count what the server answered to them.
    def answered(sender: Flask, response: Response, **extra: object) -> None:
        if request.path == "/quick-exit":
            beacons.append(response.status_code)

    request_finished.connect(answered, live_app)
    yield page, beacons
    request_finished.disconnect(answered, live_app)
    context.close()


def _store_key_material(page: Page) -> None:
    """Put something in the IndexedDB database where sealed-key copies will live."""
    page.evaluate("""() => new Promise((resolve, reject) => {
        const open = indexedDB.open("collateral", 1);
        open.onupgradeneeded = () => open.result.createObjectStore("keys");
        open.onsuccess = () => {
            const tx = open.result.transaction("keys", "readwrite");
            tx.objectStore("keys").put("wrapped-key", "member");
            tx.oncomplete = () => { open.result.close(); resolve(); };
        };
        open.onerror = () => reject(open.error);
    })""")


def _assert_left_and_wiped(page: Page, live_app: Flask, live_server: str,
                           beacons: list[int]) -> None:
    page.wait_for_url(live_app.config["QUICK_EXIT_URL"] + "**", timeout=5_000)
    assert "Sunny" in page.content()
    for _ in range(20):  # the beacon may land just after the navigation
        if beacons:
            break
        page.wait_for_timeout(100)
    assert beacons == [204], beacons
    page.goto(live_server + "/")
    names = page.evaluate("async () => (await indexedDB.databases()).map(d => d.name)")
    assert "collateral" not in names


def test_quick_exit_button_leaves_and_wipes(exit_page: tuple[Page, list[int]], live_app: Flask,
                                            live_server: str) -> None:
    page, beacons = exit_page
    page.goto(live_server + "/")
    _store_key_material(page)
    page.click("#quick-exit")
    _assert_left_and_wiped(page, live_app, live_server, beacons)


def test_escape_three_times_leaves(exit_page: tuple[Page, list[int]], live_app: Flask,
                                   live_server: str) -> None:
    page, beacons = exit_page
    page.goto(live_server + "/selftest")
    _store_key_material(page)
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    page.wait_for_timeout(200)
    assert page.url.startswith(live_server), "two presses must not leave"
    page.keyboard.press("Escape")
    _assert_left_and_wiped(page, live_app, live_server, beacons)
