"""Benchmark: 10,000 incidents created through the API, then listing, and the in-browser
decrypt-and-search of all of them in headless Chromium (the real list page and its script).

Run:  .venv/bin/python bench/incidents_search.py [--incidents 10000] [--write]
Traffic goes to 127.0.0.1 only. With --write the figures are appended to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from app.extensions import db  # noqa: E402
from tests.actors import Browser as PyBrowser  # noqa: E402
from tests.conftest import LiveServer, fresh_database, make_app, migrate_to_head  # noqa: E402
from tests.incident_data import sealed_incident  # noqa: E402
from tests.people import make_coordinator, org_of  # noqa: E402

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
NEEDLE = "needle-" + uuid.uuid4().hex[:8]


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    chromium = subprocess.run(["/usr/bin/chromium", "--version"], capture_output=True,
                              text=True, check=False).stdout.strip()
    return (f"{platform.node()}: {os.cpu_count()} cores ({cpu}), Python "
            f"{platform.python_version()}, {chromium}")


def all_pages_ms(who: PyBrowser, url: str, per_page: int) -> float:
    """Milliseconds to read every page of a listing endpoint."""
    started = time.perf_counter()
    page = 1
    while True:
        got = who.client.get(f"{url}?per_page={per_page}&page={page}").json or {}
        if page * per_page >= got["total"]:
            break
        page += 1
    return round((time.perf_counter() - started) * 1000, 1)


def run(count: int) -> dict[str, float | int | str]:
    results: dict[str, float | int | str] = {"incidents": count}
    with fresh_database("bench") as url:
        migrate_to_head(url)
        app = make_app(url)
        results["database"] = app.config["SQLALCHEMY_DATABASE_URI"].split(":", 1)[0]
        with app.app_context():
            coord = make_coordinator(app.test_cli_runner(),
                                     lambda e: PyBrowser(app.test_client(), e))
            org = org_of().pid
            key = coord.org_keys[1]
            # Create through the API, one request per incident, as another tool would.
            started = time.perf_counter()
            latencies = []
            for n in range(count):
                fields = {"narrative": f"Incident {n}: raid and confiscation, cash taken.",
                          "place": f"Street {n % 97}", "officers": f"Unit {n % 13}"}
                if n == count // 2:
                    fields["narrative"] += f" {NEEDLE}"
                body = sealed_incident(key, org, 1, fields, month=f"2025-{n % 12 + 1:02d}")
                t = time.perf_counter()
                response = coord.post_json("/api/v1/incidents", body)
                latencies.append(time.perf_counter() - t)
                assert response.status_code == 201, response.get_data(as_text=True)
            elapsed = time.perf_counter() - started
            results["create_per_second"] = round(count / elapsed, 1)
            results["create_p95_ms"] = round(statistics.quantiles(latencies, n=20)[18] * 1000, 1)
            # Listing: the first HTML page, and all pages of the API at 500 per page.
            t = time.perf_counter()
            assert coord.client.get("/incidents").status_code == 200
            results["list_page_ms"] = round((time.perf_counter() - t) * 1000, 1)
            results["api_all_pages_ms"] = all_pages_ms(coord, "/api/v1/incidents", 500)
            # The search feed the list page reads, 2,000 envelopes per page.
            results["search_feed_all_pages_ms"] = all_pages_ms(
                coord, "/api/v1/incidents/sealed", 2000)
            email, passphrase = coord.email, coord.passphrase
        with LiveServer(app) as server, sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            tab = browser.new_page()
            tab.goto(server.url + "/login")
            expect(tab.locator("body")).to_have_attribute("data-page-state", "ready")
            tab.fill("#email", email)
            tab.fill("#passphrase", passphrase)
            tab.click("#login-form button[type=submit]")
            tab.wait_for_url(lambda u: "/login" not in u, timeout=60_000)
            for attempt in ("first", "again"):
                tab.goto(server.url + "/incidents")
                expect(tab.locator("body")).to_have_attribute("data-page-state", "ready")
                tab.fill("#search-q", NEEDLE)
                # Timed inside the page, from the submit to the first result in the DOM
                # (Playwright's own polling would add up to a second of granularity).
                tab.evaluate("""() => {
                    const results = document.getElementById('search-results');
                    window.__searchDone = new Promise((resolve) => new MutationObserver(
                        (_, observer) => { if (results.querySelector('li')) {
                            observer.disconnect(); resolve(performance.now()); } })
                        .observe(results, {childList: true, subtree: true}));
                    document.getElementById('search-form').addEventListener('submit',
                        () => { window.__searchStart = performance.now(); },
                        {capture: true, once: true});
                }""")
                tab.click("#search-form button[type=submit]")
                expect(tab.locator("#search-results li")).to_have_count(1, timeout=120_000)
                seconds = tab.evaluate("async () => (await window.__searchDone - "
                                       "window.__searchStart) / 1000")
                results[f"browser_search_{attempt}_s"] = round(seconds, 2)
            browser.close()
        with app.app_context():
            db.engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--write", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    results = run(args.incidents)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"### Incidents: create, list, in-browser search — {when}", "",
             f"Machine: {machine()}", "",
             "Creation and listing through the API in-process (Flask test client); "
             "browser_search_* timed inside the page from the submit to the first result "
             "(fetch + decrypt + match of every incident; 'again' = after a reload).", "",
             "| measure | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in results.items()]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        path = ROOT / "bench" / "RESULTS.md"
        if not path.exists():
            path.write_text("# Benchmark results\n\nEach section: what was run, on which "
                            "machine, when. Newest last.\n\n")
        with path.open("a") as handle:
            handle.write("\n" + text)


if __name__ == "__main__":
    main()
