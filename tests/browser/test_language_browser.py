"""The language picker on a 360 px phone, with JavaScript off: it fits, it is labelled, and
choosing a language reloads the same page in it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Route

pytestmark = pytest.mark.browser


def test_language_picker_on_a_small_phone_without_javascript(browser: Browser,
                                                             live_server: str) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740},
                                  java_script_enabled=False, locale="fr-FR")

    def local_only(route: Route) -> None:
        if route.request.url.startswith(live_server):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", local_only)
    page = context.new_page()
    page.goto(f"{live_server}/login")
    # The browser's language (fr-FR sends Accept-Language: fr-FR) is the default.
    assert page.get_attribute("html", "lang") == "fr"
    select = page.locator("#language-select")
    button = page.locator("#language-form button[type=submit]")
    # Labelled for screen readers (on a phone the label is not drawn: the options name
    # themselves, each in its own language).
    assert select.evaluate("el => el.labels.length === 1 && el.labels[0].textContent.trim()")
    for control in (select, button):
        box = control.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360, box
        assert box["height"] >= 40, box  # a thumb can hit it
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    names = select.locator("option").all_inner_texts()
    assert names == ["English", "Español", "Français", "Português", "Русский", "ไทย"]

    select.select_option("ru")
    with page.expect_navigation():
        button.click()
    assert page.url == f"{live_server}/login"
    assert page.get_attribute("html", "lang") == "ru"
    assert page.locator("#language-select").input_value() == "ru"
    context.close()
