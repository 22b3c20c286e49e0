"""After `flask backup restore`, run while the app serves, a restored incident opens in
Chromium: the coordinator logs in through the login page and sees the sealed text, and its
sealed file downloads with the same bytes."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from app.extensions import db
from tests.backup_site import make_site, table_rows
from tests.conftest import LiveServer, backend, fresh_database, make_app, migrate_to_head

pytestmark = pytest.mark.browser
WAIT = 30_000


def test_a_restored_incident_opens_in_the_browser(page: Page, tmp_path: Path) -> None:
    with fresh_database("backupbrowser") as url:
        migrate_to_head(url)
        app = make_app(url)
        with LiveServer(app) as server, app.app_context():
            site = make_site(app, incidents=2)
            kept, other = list(site.markers)
            att_id = next(a for a, (rid, _) in site.files.items() if rid == kept)
            before = table_rows()
            backup = tmp_path / ("b.db" if backend() == "sqlite" else "b.dump")
            runner = app.test_cli_runner()
            assert runner.invoke(args=["backup", "create", str(backup)]).exit_code == 0
            # Lose the incident: deleted through the app, another one saved instead.
            assert site.coord.client.delete(f"/api/v1/incidents/{kept}", headers={
                "X-CSRFToken": site.coord.csrf}).status_code == 200
            site.add_incident("SAVEDAFTERTHEBACKUP")
            page.goto(f"{server.url}/login")  # the app serves on while it is restored
            result = runner.invoke(args=["backup", "restore", str(backup), "--yes"])
            assert result.exit_code == 0, result.output
            assert table_rows() == before

            expect(page.locator("body")).to_have_attribute("data-page-state", "ready",
                                                           timeout=WAIT)
            page.fill("#email", site.coord.email)
            page.fill("#passphrase", site.coord.passphrase)
            page.click("#login-form button[type=submit]")
            page.wait_for_url(lambda u: "/login" not in u, timeout=WAIT)
            page.goto(f"{server.url}/incidents/{kept}")
            expect(page.locator("body")).to_have_attribute("data-view-state", "ready",
                                                           timeout=WAIT)
            marker = site.markers[kept]
            expect(page.locator('[data-sealed="narrative"]')).to_have_text(
                f"Raid, cash kept. {marker}")
            expect(page.locator('[data-sealed="place"]')).to_have_text(f"Flat above {marker}")
            item = page.locator("#attachment-list li").filter(has_text="receipt.txt")
            with page.expect_download() as info:
                item.locator("[data-download]").click()
            assert Path(info.value.path()).read_bytes() == site.files[att_id][1]
            # The other incident is there too, and what was saved after the backup is gone.
            page.goto(f"{server.url}/incidents/{other}")
            expect(page.locator('[data-sealed="narrative"]')).to_contain_text(
                site.markers[other], timeout=WAIT)
            gone = next(r for r, m in site.markers.items() if m == "SAVEDAFTERTHEBACKUP")
            assert site.coord.login().status_code == 200
            assert site.coord.client.get(f"/api/v1/incidents/{gone}").status_code == 404
            db.session.remove()
            db.engine.dispose()
