"""Every kind of page the app shows, and how to reach it: who is logged in, which object it
needs, and what to do on the page first (a form sent with mistakes, a second login step).

tests/browser/test_accessibility.py runs axe-core and the 360 px check on each of these in two
languages, and compares this list with the app's URL map: every GET route must be covered here
or named in NOT_PAGES with the reason, so a new page cannot go unchecked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Who opens the page: a browser context logged in as this person (see Site in the test).
ANONYMOUS = "anonymous"
COORDINATOR = "coordinator"  # coordinator of the organisation, and of a collective
RESEARCHER = "researcher"  # invited by the organisation, with one request
EMPTY = "empty"  # anonymous, on a second server whose database has no organisation yet

# An action run on the loaded page before the checks: (page, objects) -> None.
Action = Callable[[Any, dict[str, str]], None]


@dataclass(frozen=True)
class PageType:
    name: str
    who: str
    path: str  # formatted with the objects the site made: {incident}, {member}, ...
    endpoint: str | None  # the route it covers (None: no route, as for a 404)
    status: int = 200
    ready: str | None = None  # a selector that must be there once the page's script is done
    action: str | None = None  # the name of a function in the test module (see ACTIONS there)
    final_status: int | None = None  # the status after the action (a form sent again)


PAGE_TYPES: tuple[PageType, ...] = (
    # Anyone.
    PageType("first run", EMPTY, "/", "main.index"),
    PageType("home, logged out", ANONYMOUS, "/", "main.index"),
    PageType("log in", ANONYMOUS, "/login", "auth.login_page",
             ready="body[data-page-state=ready]"),
    PageType("log in, wrong passphrase", ANONYMOUS, "/login", "auth.login_page",
             ready="body[data-page-state=ready]", action="login_refused"),
    PageType("log in, second step", ANONYMOUS, "/login", "auth.login_page",
             ready="body[data-page-state=ready]", action="login_second_step"),
    PageType("check this browser", ANONYMOUS, "/selftest", "main.selftest",
             ready="body[data-selftest]"),
    PageType("register from an invitation", ANONYMOUS, "/register/{register_token}",
             "auth.register_page", ready="body[data-page-state=ready]"),
    PageType("register, passphrases do not match", ANONYMOUS, "/register/{register_token}",
             "auth.register_page", ready="body[data-page-state=ready]",
             action="register_mismatch"),
    PageType("recover an organisation", ANONYMOUS, "/recover/{recover_token}",
             "auth.recover_page", ready="body[data-page-state=ready]"),
    PageType("used invitation (410)", ANONYMOUS, "/register/{used_token}", "auth.register_page",
             status=410),
    PageType("not found (404)", ANONYMOUS, "/no/such/page", None, status=404),
    PageType("help", ANONYMOUS, "/help", "main.help_page"),
    # A coordinator of the organisation.
    PageType("home, logged in", COORDINATOR, "/", "main.index"),
    PageType("incidents", COORDINATOR, "/incidents", "incidents.index",
             ready="body[data-page-state=ready]"),
    PageType("new incident", COORDINATOR, "/incidents/new", "incidents.new",
             ready="body[data-form-state=ready]"),
    PageType("new incident, mistakes shown", COORDINATOR, "/incidents/new", "incidents.new",
             ready="body[data-form-state=ready]", action="incident_mistakes"),
    PageType("edit an incident", COORDINATOR, "/incidents/{incident}/edit", "incidents.edit",
             ready="body[data-form-state=ready]"),
    PageType("an incident, sealed fields opened", COORDINATOR, "/incidents/{incident}",
             "incidents.view", ready="body[data-view-state=ready] [data-sealed=narrative]"),
    PageType("import incidents", COORDINATOR, "/incidents/import", "incidents.import_page",
             ready="body[data-page-state=ready]"),
    PageType("our terms", COORDINATOR, "/incidents/terms", "incidents.terms"),
    PageType("our terms, mistake shown", COORDINATOR, "/incidents/terms", "incidents.terms",
             action="term_mistake", final_status=400),
    PageType("members", COORDINATOR, "/org/members", "orgs.members"),
    PageType("members, invitation with mistakes (400)", COORDINATOR, "/org/members",
             "orgs.members", action="invite_mistake", final_status=400),
    PageType("invitation link made", COORDINATOR, "/org/members", "orgs.members",
             action="invite_made", final_status=200),
    PageType("a member to confirm", COORDINATOR, "/org/members/{member}", "orgs.member",
             ready="body[data-page-state=ready]"),
    PageType("keys", COORDINATOR, "/org/keys", "orgs.keys", ready="body[data-page-state=ready]"),
    PageType("audit log", COORDINATOR, "/org/audit", "orgs.audit_log"),
    PageType("collectives of the organisation", COORDINATOR, "/org/collectives",
             "orgs.collectives_page"),
    PageType("account", COORDINATOR, "/account", "account.index",
             ready="body[data-page-state=ready]"),
    PageType("second factor", COORDINATOR, "/account/2fa", "account.two_factor"),
    PageType("second factor, wrong code", COORDINATOR, "/account/2fa", "account.two_factor",
             action="two_factor_mistake", final_status=200),
    PageType("change passphrase", COORDINATOR, "/account/passphrase", "account.passphrase_page",
             ready="body[data-page-state=ready]"),
    PageType("reports", COORDINATOR, "/reports", "reports.index"),
    PageType("internal report with charts", COORDINATOR,
             "/reports/view?from=2025-01&to=2025-12", "reports.view"),
    PageType("collective report with charts", COORDINATOR,
             "/reports/view?scope={collective}&from=2025-01&to=2025-12", "reports.view"),
    PageType("report form with a mistake (400)", COORDINATOR,
             "/reports/view?scope={collective}&from=2025-01&to=2025-02", "reports.view",
             status=400),
    PageType("saved report", COORDINATOR, "/reports/saved/{saved}", "reports.saved"),
    PageType("collective settings", COORDINATOR, "/reports/collectives/{collective}",
             "reports.collective"),
    PageType("research, coordinator", COORDINATOR, "/research", "research.index"),
    PageType("research request, coordinator", COORDINATOR, "/research/requests/{request}",
             "research.detail"),
    # A researcher.
    PageType("research, researcher", RESEARCHER, "/research", "research.index"),
    PageType("research request, researcher", RESEARCHER, "/research/requests/{request}",
             "research.detail"),
    PageType("research request with a mistake (400)", RESEARCHER, "/research",
             "research.index", action="research_mistake", final_status=400),
    PageType("no permission (403)", RESEARCHER, "/org/members", "orgs.members", status=403),
)

# GET routes that are not pages, and why.
NOT_PAGES: dict[str, str] = {
    "static": "static files",
    "main.healthz": "JSON for monitoring",
    "auth.keyring": "JSON for the page scripts",
    "account.two_factor_qr": "an SVG image inside the second-factor page",
    "incidents.import_template": "a CSV download",
    "orgs.keyholders": "JSON for the page scripts",
    "reports.download": "PDF, CSV and XLSX downloads",
    "research.download": "sealed extract downloads",
    "research.keyfile": "a key file download",
    "api.incidents": "JSON API",
    "api.incident": "JSON API",
    "api.sealed_feed": "JSON API",
    "api.attachment": "JSON API (sealed bytes)",
    "api.openapi": "JSON API description",
    "api.vocab": "JSON API",
}
