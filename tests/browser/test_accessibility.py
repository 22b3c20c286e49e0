"""Accessibility and phones, in Chromium, on every kind of page (issue 9, items 2 and 3).

For each page type of tests/browser/page_types.py, in English and in Russian (chosen through
Accept-Language, as a person's browser would): `html[lang]` says the language; axe-core (the
test-only copy in tests/browser/vendor, injected by Playwright, never served) finds no
violation of the WCAG 2.0/2.1/2.2 A and AA rules nor of its best practices; and at 360×740 px
the page does not scroll sideways. The site holds long content on purpose: a long organisation
name, a long unbreakable string in sealed and coded fields, wide report tables.

One live server and one logged-in browser context per person serve the whole module.
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyotp
import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    ViewportSize,
    expect,
)
from werkzeug.datastructures import MultiDict

from app.extensions import db
from app.models import Collective, CollectiveMember, CollectiveStatus, OrgTerm, User, utcnow
from app.research import service as research
from tests.actors import Browser as PyBrowser
from tests.browser.page_types import (
    ANONYMOUS,
    COORDINATOR,
    EMPTY,
    NOT_PAGES,
    PAGE_TYPES,
    RESEARCHER,
    PageType,
)
from tests.conftest import LiveServer, fresh_database, make_app, migrate_to_head
from tests.incident_data import sealed_incident
from tests.people import create_org, invite, joined, link_path, make_coordinator, org_of
from tests.report_data import add_incidents

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
LANGUAGES = ("en", "ru")
PHONE: ViewportSize = {"width": 360, "height": 740}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
WAIT = 30_000
LOCAL_SCHEMES = {"data", "blob", "about"}

# Long content: nothing may push a 360 px page sideways.
ORG_NAME = ("Collectif de santé communautaire des travailleuses et travailleurs du sexe "
            "de la région métropolitaine")
UNBROKEN = "Rua-" + "Z" * 90 + "-12"
COLLECTIVE_NAME = "Réseau international des organisations de travailleuses du sexe " + "X" * 40
COORD_EMAIL = "coordinator.with.a.rather.long.address@example.org"
RESEARCHER_EMAIL = "rae.researcher@example.org"
SECOND_STEP_EMAIL = "second.step@example.org"


@dataclass
class Site:
    """The live app with its people and objects, and a browser context for each person."""

    app: Flask
    url: str
    empty_url: str
    objects: dict[str, str]
    contexts: dict[str, BrowserContext] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    passphrases: dict[str, str] = field(default_factory=dict)

    def base(self, who: str) -> str:
        return self.empty_url if who == EMPTY else self.url


def _local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in LOCAL_SCHEMES or parts.hostname == "127.0.0.1"


def _context(browser: Browser, site: Site) -> BrowserContext:
    """A context that reports console errors and uncaught exceptions and blocks other hosts."""
    context = browser.new_context(viewport=DESKTOP)
    context.route("**/*", lambda route: route.continue_() if _local(route.request.url)
                  else route.abort())

    def on_page(page: Page) -> None:
        def on_console(message: ConsoleMessage) -> None:
            # Chromium logs every 4xx answer; the pages that should answer so are checked
            # by status instead.
            if message.type == "error" and "the server responded with a status of 4" \
                    not in message.text:
                site.problems.append(f"console error: {message.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: site.problems.append(f"uncaught exception: {error}"))

    context.on("page", on_page)
    return context


def _login(context: BrowserContext, base: str, email: str, passphrase: str) -> None:
    page = context.new_page()
    page.goto(base + "/login")
    expect(page.locator("body")).to_have_attribute("data-page-state", "ready", timeout=WAIT)
    page.fill("#email", email)
    page.fill("#passphrase", passphrase)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(lambda u: "/login" not in u, timeout=WAIT)
    page.close()


def _build(app: Flask) -> tuple[dict[str, str], dict[str, Any]]:
    """The organisation (long name), members, incidents, a collective, a saved report, a
    researcher with a request; the ids the page types need."""
    runner = app.test_cli_runner()

    def cli(*args: str) -> str:
        result = runner.invoke(args=list(args))
        assert result.exit_code == 0, result.output
        return str(result.output)

    def new_browser(email: str) -> PyBrowser:
        return PyBrowser(app.test_client(), email)

    with app.app_context():
        coord = make_coordinator(runner, new_browser, ORG_NAME, COORD_EMAIL)
        org = org_of(ORG_NAME)
        org_id = org.pid
        # A member waiting to be confirmed, with a long unbroken display name.
        pending = new_browser("pending.member@example.org")
        assert pending.register(invite(coord, pending.email, "outreach"),
                                "Name" + "W" * 60).status_code == 201
        member = db.session.scalar(sa.select(User).where(User.email == pending.email))
        assert member is not None
        # Someone whose login has a second step.
        second = joined(coord, new_browser, SECOND_STEP_EMAIL, "analyst")
        user = db.session.scalar(sa.select(User).where(User.email == second.email))
        assert user is not None
        user.totp_secret = pyotp.random_base32()
        # The organisation's own term with a long unbroken name.
        db.session.add(OrgTerm(org_id=org.id, list_name="instruments", code="org_long",
                               label="Operação" + "Q" * 100, description=UNBROKEN))
        db.session.commit()
        # A sealed incident with long text and a long unbroken string.
        body = sealed_incident(coord.org_keys[1], org_id, 1, {
            "narrative": "Two officers came at night. " + UNBROKEN + " They took the phones.",
            "place": UNBROKEN, "exact_date": "2026-03-14",
            "people": [{"alias": "Mimi", "role": "affected person", "contact": UNBROKEN}]},
            instrument="org_long")
        response = coord.post_json("/api/v1/incidents", body)
        assert response.status_code == 201, response.get_data(as_text=True)
        incident = str(body["id"])
        # Incidents for the charts, in this organisation and in a second one.
        rng = random.Random(9)
        add_incidents(org, 120, rng)
        make_coordinator(runner, new_browser, "Night Owls", "owls@example.org")
        add_incidents(org_of("Night Owls"), 120, rng)
        # A collective both joined; the coordinator coordinates it. Another only invites.
        cli("collective", "create", COLLECTIVE_NAME)
        for name in (ORG_NAME, "Night Owls"):
            cli("collective", "invite", COLLECTIVE_NAME, name)
        for row in db.session.scalars(sa.select(CollectiveMember)):
            row.status, row.joined_at = CollectiveStatus.JOINED, utcnow()
        db.session.commit()
        cli("collective", "appoint", COLLECTIVE_NAME, COORD_EMAIL, "--role", "coordinator")
        cli("collective", "create", "Second network")
        cli("collective", "invite", "Second network", ORG_NAME)
        collective = db.session.scalar(sa.select(Collective).where(
            Collective.name == COLLECTIVE_NAME))
        assert collective is not None
        # A saved report.
        saved = coord.post_form("/reports/save", {"from": "2025-01", "to": "2025-12",
                                                  "title": "Year 2025 " + UNBROKEN})
        assert saved.status_code == 302, saved.get_data(as_text=True)
        saved_id = saved.headers["Location"].rstrip("/").rsplit("/", 1)[1]
        # A researcher invited by the organisation, with a request waiting for decisions.
        coord_user = db.session.scalar(sa.select(User).where(User.email == COORD_EMAIL))
        assert coord_user is not None
        with app.test_request_context():
            token = research.invite_researcher(RESEARCHER_EMAIL, coord_user, org=org)
            db.session.commit()
        assert token is not None
        researcher = new_browser(RESEARCHER_EMAIL)
        assert researcher.register(f"/register/{token}", "Rae").status_code == 201
        researcher_user = db.session.scalar(sa.select(User).where(
            User.email == RESEARCHER_EMAIL))
        assert researcher_user is not None
        form = MultiDict({"scope": f"org:{org_id}", "from": "2025-01", "to": "2025-12",
                          "purpose": "Effects of raids on earnings. " + UNBROKEN,
                          "institution": "University of Somewhere", "ethics_ref": "ERC-17",
                          "k": "5",
                          "retention_until": (date.today() + timedelta(days=365)).isoformat()})
        form.setlist("fields", ["kinds", "country", "month"])
        with app.test_request_context():
            request = research.create_request(researcher_user, form)
            db.session.commit()
            request_id = request.pid
        # Links: one to register, one used already, one to recover the organisation.
        register_token = create_org(runner, "Lantern Project", "lantern@example.org")
        used = create_org(runner, "Harbour", "harbour@example.org")
        assert new_browser("harbour@example.org").register(used, "H").status_code == 201
        recover = cli("org", "recover", "Night Owls", "--email", "owls.recovery@example.org")
        objects = {
            "incident": incident, "member": member.pid, "collective": collective.pid,
            "saved": saved_id, "request": request_id,
            "register_token": register_token.rsplit("/", 1)[1],
            "used_token": used.rsplit("/", 1)[1],
            "recover_token": link_path(recover).rsplit("/", 1)[1],
        }
        people = {"coord": coord, "researcher": researcher, "second": second}
    return objects, people


@pytest.fixture(scope="module")
def site(browser: Browser) -> Iterator[Site]:
    with fresh_database("a11y") as url, fresh_database("a11yempty") as empty_url:
        migrate_to_head(url)
        migrate_to_head(empty_url)
        app, empty_app = make_app(url), make_app(empty_url)
        with LiveServer(app) as server, LiveServer(empty_app) as empty_server:
            objects, people = _build(app)
            s = Site(app, server.url, empty_server.url, objects)
            s.passphrases = {COORD_EMAIL: people["coord"].passphrase,
                             RESEARCHER_EMAIL: people["researcher"].passphrase,
                             SECOND_STEP_EMAIL: people["second"].passphrase}
            for who in (ANONYMOUS, EMPTY):
                s.contexts[who] = _context(browser, s)
            s.contexts[COORDINATOR] = _context(browser, s)
            _login(s.contexts[COORDINATOR], s.url, COORD_EMAIL, s.passphrases[COORD_EMAIL])
            s.contexts[RESEARCHER] = _context(browser, s)
            _login(s.contexts[RESEARCHER], s.url, RESEARCHER_EMAIL,
                   s.passphrases[RESEARCHER_EMAIL])
            assert s.problems == [], s.problems
            yield s
            for context in s.contexts.values():
                context.close()
        for each in (app, empty_app):
            with each.app_context():
                db.engine.dispose()


# What a person does on a page before it is checked ---------------------------------------------

def _submit(page: Page, form: str) -> None:
    with page.expect_navigation():
        page.click(f"{form} button[type=submit]")


def login_refused(page: Page, site: Site) -> None:
    page.fill("#email", COORD_EMAIL)
    page.fill("#passphrase", "not the passphrase at all")
    page.click("#login-form button[type=submit]")
    expect(page.locator("#page-alert")).not_to_be_empty(timeout=WAIT)


def login_second_step(page: Page, site: Site) -> None:
    page.fill("#email", SECOND_STEP_EMAIL)
    page.fill("#passphrase", site.passphrases[SECOND_STEP_EMAIL])
    page.click("#login-form button[type=submit]")
    expect(page.locator("#totp-form")).to_be_visible(timeout=WAIT)
    page.fill("#totp-code", "000000")
    page.click("#totp-form button[type=submit]")
    expect(page.locator("#page-alert")).not_to_be_empty(timeout=WAIT)


def register_mismatch(page: Page, site: Site) -> None:
    page.fill("#display-name", "Lu")
    page.fill("#passphrase", "marble violin harbour tundra")
    page.fill("#passphrase-again", "marble violin harbour")
    page.click("#register-form button[type=submit]")
    expect(page.locator("#page-alert")).not_to_be_empty(timeout=WAIT)


def incident_mistakes(page: Page, site: Site) -> None:
    page.fill("input[name='month']", "2026-02")
    page.fill("#sealed-exact-date", "2026-03-14")
    page.click("#incident-submit")
    expect(page.locator("#page-alert")).not_to_be_empty(timeout=WAIT)


def term_mistake(page: Page, site: Site) -> None:
    page.fill("#label", "   ")
    _submit(page, "form[action$='/incidents/terms']")


def invite_mistake(page: Page, site: Site) -> None:
    page.fill("form[action$='/org/invites'] input[name=email]", "not an address")
    _submit(page, "form[action$='/org/invites']")


def invite_made(page: Page, site: Site) -> None:
    page.fill("form[action$='/org/invites'] input[name=email]",
              f"new.{uuid.uuid4().hex[:8]}@example.org")
    _submit(page, "form[action$='/org/invites']")


def two_factor_mistake(page: Page, site: Site) -> None:
    page.fill("input[name=code]", "000000")
    _submit(page, "form[action$='/account/2fa']")


def research_mistake(page: Page, site: Site) -> None:
    page.fill("#from", "2025-06")
    page.fill("#to", "2025-01")
    _submit(page, "form[action$='/research/requests']")


ACTIONS: dict[str, Callable[[Page, Site], None]] = {
    fn.__name__: fn for fn in (login_refused, login_second_step, register_mismatch,
                               incident_mistakes, term_mistake, invite_mistake, invite_made,
                               two_factor_mistake, research_mistake)}


# The checks --------------------------------------------------------------------------------------

_axe_source: str | None = None


def axe_violations(page: Page) -> list[str]:
    """axe-core's violations on the page as it is now, one line per rule and element."""
    global _axe_source
    if _axe_source is None:
        _axe_source = AXE.read_text(encoding="utf-8")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source)  # evaluated by the DevTools protocol: the page's CSP allows
        # no script that the app does not serve, and this one is never served
    found = page.evaluate("""async (tags) => {
        const result = await axe.run(document, {
            runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
        const plain = (text) => (text || "").replace(/\\s+/g, " ");
        return result.violations.flatMap((v) => v.nodes.map((n) =>
            `${v.id} (${v.impact}): ${n.target.join(" ")} — ${plain(n.failureSummary)}`));
    }""", AXE_TAGS)
    return [str(line) for line in found]


def sideways_scroll(page: Page) -> str | None:
    """None when the page fits its width; else how wide it is and the widest elements."""
    found = page.evaluate("""() => {
        const width = window.innerWidth;
        const whole = document.documentElement.scrollWidth;
        if (whole <= width) return null;
        const wide = [...document.querySelectorAll("body *")]
            .filter((el) => el.getBoundingClientRect().right > width + 1
                || (el.scrollWidth > el.clientWidth + 1
                    && getComputedStyle(el).overflowX === "visible"))
            .filter((el) => !el.parentElement?.closest(".table-scroll, .chart-scroll"))
            .slice(0, 8)
            .map((el) => {
                const classes = typeof el.className === "string" && el.className
                    ? "." + el.className.trim().split(/\\s+/).join(".") : "";
                const right = Math.round(el.getBoundingClientRect().right);
                return `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}${classes}` +
                    ` (right edge ${right})`;
            });
        return `the page is ${whole} px wide in a ${width} px window: ${wide.join(", ")}`;
    }""")
    return None if found is None else str(found)


def _english(site: Site, who: str) -> BrowserContext:
    """A person's context asking for English pages (the page-type runs leave it in the
    second language), for the checks that read the English wording."""
    context = site.contexts[who]
    context.set_extra_http_headers({"Accept-Language": "en"})
    return context


def _open(site: Site, spec: PageType, lang: str, viewport: ViewportSize) -> Page:
    context = site.contexts[spec.who]
    context.set_extra_http_headers({"Accept-Language": f"{lang},en;q=0.5"})
    page = context.new_page()
    page.set_viewport_size(viewport)
    path = spec.path.format(**site.objects)
    response = page.goto(site.base(spec.who) + path)
    assert response is not None and response.status == spec.status, \
        f"{spec.name}: {path} answered {response and response.status}"
    if spec.endpoint is not None:
        with site.app.test_request_context():
            adapter = site.app.url_map.bind("127.0.0.1")
            endpoint, _ = adapter.match(urlsplit(path).path)
        assert endpoint == spec.endpoint, f"{spec.name}: {path} is {endpoint}"
    if spec.ready:
        page.wait_for_selector(spec.ready, state="attached", timeout=WAIT)
    if spec.action:
        if spec.final_status is not None:
            with page.expect_response(lambda r: r.request.method == "POST"
                                      and r.request.resource_type == "document") as answer:
                ACTIONS[spec.action](page, site)
            assert answer.value.status == spec.final_status, \
                f"{spec.name}: the form answered {answer.value.status}"
        else:
            ACTIONS[spec.action](page, site)
    page.wait_for_load_state("load")
    return page


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("spec", PAGE_TYPES, ids=[p.name for p in PAGE_TYPES])
def test_page_is_accessible_and_fits_a_phone(site: Site, spec: PageType, lang: str) -> None:
    """axe at 360 px in both languages, and at 1280 px in the first (the layout does not change
    with the language, and the run stays short); no sideways scrolling at 360 px."""
    site.problems.clear()
    desktop = lang == LANGUAGES[0]
    page = _open(site, spec, lang, DESKTOP if desktop else PHONE)
    try:
        assert page.evaluate("() => document.documentElement.lang") == lang
        violations = axe_violations(page) if desktop else []
        page.set_viewport_size(PHONE)
        wide = sideways_scroll(page)
        phone_violations = [v for v in axe_violations(page) if v not in violations]
    finally:
        page.close()
    assert violations == [], f"{spec.name} ({lang}):\n" + "\n".join(violations)
    assert wide is None, f"{spec.name} ({lang}) at 360 px: {wide}"
    assert phone_violations == [], f"{spec.name} ({lang}) at 360 px:\n" + \
        "\n".join(phone_violations)
    assert site.problems == [], site.problems


def test_every_page_route_has_a_page_type(app: Flask) -> None:
    """Each GET route is a page type above or is named, with a reason, as not a page."""
    get_routes = {rule.endpoint for rule in app.url_map.iter_rules()
                  if "GET" in (rule.methods or set())}
    covered = {p.endpoint for p in PAGE_TYPES if p.endpoint is not None}
    assert covered <= get_routes, f"page types of routes that are gone: {covered - get_routes}"
    assert set(NOT_PAGES) <= get_routes, \
        f"NOT_PAGES names routes that are gone: {set(NOT_PAGES) - get_routes}"
    unchecked = get_routes - covered - set(NOT_PAGES)
    assert unchecked == set(), (
        f"GET routes with no page type in tests/browser/page_types.py: {sorted(unchecked)}; "
        "add each to PAGE_TYPES (how to reach it) or to NOT_PAGES (why it is not a page)")
    assert covered & set(NOT_PAGES) == set()
    for spec in PAGE_TYPES:
        if spec.action is not None:
            assert spec.action in ACTIONS, spec.name
    assert re.fullmatch(r"[a-z]{2}", LANGUAGES[1]) and LANGUAGES[1] in app.config[
        "LANGUAGES"]


# Keyboard only ---------------------------------------------------------------------------------

NEUTRAL = "<!doctype html><title>Weather</title><p>Sunny</p>"

# Where the focus is, and whether a person can see it: an outline or a shadow of its own (or,
# for a check box in a large choice, on the choice around it), inside the window, and after
# the element focused before it in the page's order (forward) or before it (backward).
FOCUS_STATE = """(forward) => {
    const el = document.activeElement;
    const previous = window.__previousFocus;
    window.__previousFocus = el;
    if (!el || el === document.body) return {where: "body", seen: false, ordered: true};
    const drawn = (node) => {
        const style = getComputedStyle(node);
        return (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2)
            || style.boxShadow !== "none";
    };
    const rect = el.getBoundingClientRect();
    const inside = rect.width > 0 && rect.height > 0 && rect.bottom > 0
        && rect.top < window.innerHeight && rect.right > 0 && rect.left < window.innerWidth;
    const choice = el.closest(".choice");
    // In a date, month or time field the last Tab stop is the calendar button inside it, which
    // Chromium rings itself (the field then no longer matches :focus).
    const picker = /^(date|month|time)$/.test(el.type || "") && !el.matches(":focus");
    let ordered = true;
    if (previous && previous !== el && previous.isConnected) {
        const after = previous.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING;
        ordered = forward ? Boolean(after) : !after;
    }
    const name = (el.getAttribute("aria-label") || el.textContent || el.value || "")
        .trim().slice(0, 40);
    return {
        where: `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}` +
            `${el.name ? "[name=" + el.name + "]" : ""} "${name}"`,
        seen: inside && (drawn(el) || picker || (choice !== null && drawn(choice))),
        ordered,
    };
}"""


class Keyboard:
    """Drives a page with the keyboard alone, checking at every stop that the focus shows and
    moves in the page's order."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.trail: list[str] = []

    def state(self, forward: bool = True) -> dict[str, Any]:
        found: dict[str, Any] = self.page.evaluate(FOCUS_STATE, forward)
        return found

    def press(self, key: str) -> dict[str, Any]:
        self.page.keyboard.press(key)
        state = self.state(forward=key != "Shift+Tab")
        self.trail.append(f"{key} → {state['where']}")
        return state

    def follow(self) -> None:
        """Press Enter on a link or button that leads to another page."""
        self.trail.append("Enter (to another page)")
        self.page.keyboard.press("Enter")

    def tab_to(self, selector: str, limit: int = 120, key: str = "Tab") -> None:
        """Press Tab (or Shift+Tab) until the element matching `selector` has the focus."""
        self.state()  # the starting point for the order check
        for _ in range(limit):
            state = self.press(key)
            assert state["seen"], f"no visible focus on {state['where']}: {self.trail[-6:]}"
            assert state["ordered"], f"the focus jumped back: {self.trail[-6:]}"
            if self.page.evaluate("(s) => document.activeElement?.matches(s) ?? false",
                                  selector):
                return
        raise AssertionError(f"{selector} never got the focus: {self.trail[-12:]}")

    def focused(self, selector: str) -> bool:
        return bool(self.page.evaluate(
            "(s) => document.activeElement?.matches(s) ?? false", selector))

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)


@pytest.fixture
def keyboard_page(browser: Browser, site: Site) -> Iterator[Page]:
    """A fresh browser (nobody logged in) whose neutral quick-exit site is stubbed."""
    exit_url = site.app.config["QUICK_EXIT_URL"]
    context = browser.new_context(viewport=DESKTOP, locale="en-US")

    def route(route: Any) -> None:
        if route.request.url.startswith(exit_url):
            route.fulfill(status=200, content_type="text/html", body=NEUTRAL)
        elif _local(route.request.url):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", route)
    site.problems.clear()
    page = _context_page(context, site)
    yield page
    context.close()


def _context_page(context: BrowserContext, site: Site) -> Page:
    page = context.new_page()
    page.on("pageerror", lambda error: site.problems.append(f"uncaught exception: {error}"))
    return page


def test_the_core_story_with_the_keyboard_alone(site: Site, keyboard_page: Page) -> None:
    """Log in, record an incident (coded answers, the sealed narrative; a mistake first, then
    saved), open a report and leave with quick exit: Tab, Shift+Tab, Enter, Space, arrows and
    typing only. The focus is visible at every stop and moves in the page's order."""
    page, keys = keyboard_page, Keyboard(keyboard_page)

    # Log in: the first Tab reaches the skip link, which leads into the page's content.
    page.goto(site.url + "/login")
    expect(page.locator("body")).to_have_attribute("data-page-state", "ready", timeout=WAIT)
    state = keys.press("Tab")
    assert keys.focused(".skip-link") and state["seen"], keys.trail
    keys.press("Enter")
    assert keys.focused("main"), keys.trail
    keys.tab_to("#email")
    keys.type(COORD_EMAIL)
    keys.tab_to("#passphrase")
    keys.type(site.passphrases[COORD_EMAIL])
    keys.follow()
    page.wait_for_url(lambda u: "/login" not in u, timeout=WAIT)

    # To the incidents, and "Record an incident".
    keys.tab_to("nav a[href='/incidents']")
    keys.follow()
    page.wait_for_url(re.compile(r"/incidents$"), timeout=WAIT)
    keys.tab_to("a[href='/incidents/new']")
    keys.follow()
    page.wait_for_url(re.compile(r"/incidents/new$"), timeout=WAIT)
    expect(page.locator("body")).to_have_attribute("data-form-state", "ready", timeout=WAIT)

    # The coded answers: check boxes with Space, radios with the arrow keys, the country by
    # typing its name into the select, the month and the exact date typed into their fields
    # (Chromium's month field takes the month's name, then Tab to the year).
    keys.tab_to("input[name=kinds][value=raid]")
    keys.press("Space")
    keys.tab_to("input[name=actors][value=police]")
    keys.press("Space")
    keys.tab_to("#sealed-narrative")
    keys.type("Two officers came at night and took the phones.")
    keys.tab_to("select[name=country]")
    keys.type("Portugal")
    keys.tab_to("input[name=month]")
    keys.type("Feb")  # February 2026: a mistake, the exact date below is in March
    keys.press("Tab")  # to the year
    keys.type("2026")
    assert page.input_value("input[name=month]") == "2026-02"
    keys.tab_to("#sealed-exact-date")
    keys.type("03142026")
    keys.tab_to("input[name=work_setting]")
    keys.press("ArrowDown")
    keys.tab_to("input[name=source]")
    keys.press("Space")
    keys.tab_to("input[name=consent]")
    keys.press("ArrowDown")
    keys.tab_to("#incident-submit")
    form = page.locator("#incident-form")
    assert form.evaluate("f => new FormData(f).getAll('kinds')") == ["raid"]
    # The 4P area was ticked from the kind (a suggestion the form makes).
    assert form.evaluate("f => new FormData(f).getAll('four_p')") != []
    assert page.input_value("select[name=country]") == "PT"
    assert page.input_value("input[name=month]") == "2026-02", page.input_value(
        "input[name=month]")
    keys.press("Enter")

    # The mistake: the focus goes to the summary, whose link leads to the field.
    expect(page.locator("#page-alert")).to_contain_text("need another look", timeout=WAIT)
    assert keys.focused("#page-alert.error-summary"), keys.trail
    month = page.locator("input[name=month]")
    expect(month).to_have_attribute("aria-invalid", "true")
    described = (month.get_attribute("aria-describedby") or "").split()
    assert any("month of the exact date" in page.locator(f"#{i}").inner_text()
               for i in described if page.locator(f"#{i}").count()), described
    keys.tab_to("#page-alert a[href='#id_month'], #page-alert a[href='#month']")
    keys.press("Enter")
    assert keys.focused("input[name=month]"), keys.trail
    keys.type("Mar")
    assert month.input_value() == "2026-03"
    keys.tab_to("#incident-submit")
    keys.follow()
    page.wait_for_url(re.compile(r"/incidents/[0-9a-f-]{36}$"), timeout=WAIT)
    expect(page.locator("body")).to_have_attribute("data-view-state", "ready", timeout=WAIT)
    expect(page.locator('[data-sealed="narrative"]')).to_have_text(
        "Two officers came at night and took the phones.")

    # A report: the form's defaults, then "Make the report".
    keys.tab_to("nav a[href='/reports']")
    keys.follow()
    page.wait_for_url(re.compile(r"/reports$"), timeout=WAIT)
    keys.tab_to("form.report-form button[type=submit]")
    keys.follow()
    page.wait_for_url(re.compile(r"/reports/view"), timeout=WAIT)
    expect(page.locator("#headline-h")).to_be_visible()

    # Quick exit, reached backwards from the report's content.
    keys.tab_to("#tables-h ~ .table-scroll")
    keys.tab_to("#quick-exit", key="Shift+Tab")
    keys.follow()
    page.wait_for_url(site.app.config["QUICK_EXIT_URL"] + "**", timeout=WAIT)
    assert "Sunny" in page.content()
    page.goto(site.url + "/incidents")
    assert "/login" in page.url, "the session must have ended"
    assert site.problems == [], site.problems


# Form errors, the incident form on a phone, charts --------------------------------------------

def test_form_errors_are_announced_and_linked_to_their_fields(site: Site) -> None:
    """A form sent back with a mistake: the summary at the top is an alert and has the focus;
    its link leads to the field, which is marked invalid and described by its message. A page
    script's error (a refused login) marks its field the same way."""
    site.problems.clear()
    page = _english(site, COORDINATOR).new_page()
    try:
        page.goto(site.url + "/org/members")
        page.fill("form[action$='/org/invites'] input[name=email]", "not an address")
        with page.expect_navigation():
            page.click("form[action$='/org/invites'] button[type=submit]")
        summary = page.locator(".error-summary")
        expect(summary).to_have_attribute("role", "alert")
        page.wait_for_function("() => document.activeElement?.classList.contains('error-summary')")
        link = summary.locator("a")
        expect(link).to_have_count(1)
        target = (link.get_attribute("href") or "")[1:]
        field = page.locator(f"#{target}")
        expect(field).to_have_attribute("name", "email")
        expect(field).to_have_attribute("aria-invalid", "true")
        message = link.inner_text()
        assert message, "the summary says what is wrong"
        described = (field.get_attribute("aria-describedby") or "").split()
        assert any(message in page.locator(f"#{i}").inner_text() for i in described), described
        page.keyboard.press("Tab")  # the link is the summary's first stop
        page.keyboard.press("Enter")
        assert page.evaluate("() => document.activeElement?.name") == "email"
    finally:
        page.close()

    page = _english(site, ANONYMOUS).new_page()
    try:
        page.goto(site.url + "/login")
        expect(page.locator("body")).to_have_attribute("data-page-state", "ready",
                                                        timeout=WAIT)
        page.fill("#email", COORD_EMAIL)
        page.fill("#passphrase", "not the passphrase")
        page.click("#login-form button[type=submit]")
        expect(page.locator("#page-alert")).to_contain_text("not right", timeout=WAIT)
        passphrase = page.locator("#passphrase")
        expect(passphrase).to_be_focused()
        expect(passphrase).to_have_attribute("aria-invalid", "true")
        assert "page-alert" in (passphrase.get_attribute("aria-describedby") or "").split()
        # Typing it again and sending clears the mark with the message.
        page.fill("#email", "")
        page.click("#login-form button[type=submit]")
        expect(page.locator("#email")).to_have_attribute("aria-invalid", "true")
        expect(passphrase).to_have_attribute("aria-invalid", "false")
    finally:
        page.close()
    assert site.problems == [], site.problems


def test_the_incident_form_fits_a_thumb(site: Site) -> None:
    """At 360 px every control of the incident form is at least 44×44 px (a check box or radio
    counts with the large choice around it), and the month, dates and lists use the phone's
    own controls."""
    page = _english(site, COORDINATOR).new_page()
    try:
        page.set_viewport_size(PHONE)
        page.goto(site.url + "/incidents/new")
        expect(page.locator("body")).to_have_attribute("data-form-state", "ready",
                                                        timeout=WAIT)
        small = page.evaluate("""() => [...document.querySelectorAll(
                "#incident-form input, #incident-form select, #incident-form textarea, " +
                "#incident-form button")]
            .filter((el) => el.type !== "hidden" && el.getClientRects().length > 0)
            .map((el) => {
                const target = el.type === "checkbox" || el.type === "radio"
                    ? (el.closest("label") ?? el) : el;
                const r = target.getBoundingClientRect();
                return {el: `${el.tagName.toLowerCase()}#${el.id}[name=${el.name}]`,
                        width: Math.round(r.width), height: Math.round(r.height)};
            })
            .filter((t) => t.width < 44 || t.height < 44)""")
        assert small == [], small
        kinds = page.evaluate("""() => Object.fromEntries([
            "month", "country", "currency", "instrument"].map((n) => {
                const el = document.querySelector(`#incident-form [name=${n}]`);
                return [n, el.tagName === "SELECT" ? "select" : el.type];
            }))""")
        assert kinds == {"month": "month", "country": "select", "currency": "select",
                         "instrument": "select"}, kinds
        assert page.get_attribute("#sealed-exact-date", "type") == "date"
        assert page.get_attribute("#sealed-exact-time", "type") == "time"
        for name in ("people_affected", "days_detained"):
            assert page.get_attribute(f"[name={name}]", "inputmode") == "numeric"
        assert page.get_attribute("[name=amount_confiscated]", "inputmode") == "decimal"
    finally:
        page.close()


def test_charts_say_their_figures_in_text(site: Site) -> None:
    """Every chart is an image named by its title and described by its figures, which are the
    figures of the table it links to; every value is written on the chart itself (so it reads
    in grey-scale), and a hidden count says so in words, not by colour."""
    page = _english(site, COORDINATOR).new_page()
    try:
        page.goto(site.url + "/reports/view?scope={collective}&from=2025-01&to=2025-12"
                  .format(**site.objects))
        charts = page.locator("figure.chart")
        assert charts.count() >= 3
        for i in range(charts.count()):
            chart = charts.nth(i)
            svg = chart.locator("svg")
            expect(svg).to_have_attribute("role", "img")
            title = page.locator("#" + (svg.get_attribute("aria-labelledby") or "none"))
            assert title.text_content() == chart.locator("figcaption").inner_text()
            desc = page.locator("#" + (svg.get_attribute("aria-describedby") or "none"))
            described: dict[str, str] = {}
            for part in (desc.text_content() or "").rstrip(".").split("; "):
                name, value = part.rsplit(": ", 1)
                described[name] = value
            written = svg.locator("text.chart-value").all_text_contents()
            assert len(written) == len(described) > 0
            table_id = (chart.locator("a").get_attribute("href") or "")[1:]
            rows = page.locator(f"#{table_id} tbody tr")
            in_table = {rows.nth(r).locator("th").inner_text():
                        rows.nth(r).locator("td").first.inner_text()
                        for r in range(rows.count())}
            for name, value in described.items():
                assert in_table.get(name) == value, (table_id, name, value, in_table)
        hidden = page.locator("td.hidden-cell")
        assert hidden.count() > 0, "the collective report should hide a small count"
        assert "fewer than" in hidden.first.inner_text()
    finally:
        page.close()
