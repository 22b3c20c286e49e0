"""The accounts story of issue 4, in Chromium through the real pages, recorded once; then
every request the browsers sent and every table are searched for secrets."""

from __future__ import annotations

import base64
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyotp
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask
from playwright.sync_api import Browser, Page, Request, expect

from app.crypto import (
    b64u_decode,
    b64u_encode,
    derive_kek,
    derive_master_key,
    fingerprint,
    public_raw,
    recovery_scalar,
    seal_record,
    unwrap_member_key,
    unwrap_org_key,
)
from app.extensions import db
from app.models import Organisation, OrgKeyVersion, OrgKeyWrap, User
from tests.conftest import LiveServer, dump_tables, fresh_database, make_app, migrate_to_head

pytestmark = pytest.mark.browser

PASS = {"coord": "lantern orchard pebble quarry", "out": "velvet compass thunder mosaic",
        "ana": "tangerine glacier whistle ledger", "coord2": "saffron meadow anchor lullaby"}
LOCAL = {"data", "blob", "about"}


@dataclass
class Story:
    app: Flask
    url: str
    requests: list[tuple[str, bytes]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    secrets: dict[str, bytes] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)

    def page(self, browser: Browser) -> Page:
        context = browser.new_context()

        def on_request(request: Request) -> None:
            headers = "\n".join(f"{k}: {v}" for k, v in request.headers.items())
            self.requests.append((request.url, (request.post_data_buffer or b"") +
                                  headers.encode()))
            parts = urlsplit(request.url)
            if parts.scheme not in LOCAL and parts.hostname != "127.0.0.1":
                self.problems.append(f"request to another host: {request.url}")

        context.on("request", on_request)
        context.route("**/*", lambda route: route.continue_() if (
            urlsplit(route.request.url).hostname == "127.0.0.1"
            or urlsplit(route.request.url).scheme in LOCAL) else route.abort())
        page = context.new_page()
        page.on("console", lambda m: self.problems.append(f"console: {m.text}")
                if m.type == "error" and "status of 4" not in m.text else None)
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        return page

    def cli(self, *args: str) -> str:
        result = self.app.test_cli_runner().invoke(args=list(args))
        assert result.exit_code == 0, result.output
        found = re.search(r"http://\S+?(/(?:register|recover)/[A-Za-z0-9_-]+)", result.output)
        assert found, result.output
        return self.url + found.group(1)

    def remember_member(self, who: str, email: str, passphrase: str) -> ec.EllipticCurvePrivateKey:
        """Note the secrets a member's browser held: master key, KEK, private key, ODKs."""
        with self.app.app_context():
            user = db.session.scalar(sa.select(User).where(User.email == email))
            assert user is not None
            master = derive_master_key(passphrase, b64u_decode(user.kdf_salt),
                                       user.kdf_memory_kib, user.kdf_time_cost,
                                       user.kdf_parallelism)
            kek = derive_kek(master)
            key = unwrap_member_key(kek, user.pid, user.wrapped_private_key)
            self.secrets[f"{who} passphrase"] = passphrase.encode()
            self.secrets[f"{who} master key"] = master
            self.secrets[f"{who} KEK"] = kek
            self.secrets[f"{who} private key"] = key.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption())
            self.secrets[f"{who} private scalar"] = key.private_numbers().private_value.to_bytes(
                32, "big")
            self.facts[f"{who} id"] = user.pid
            for kv, odk in self.odks(user.pid, key).items():
                self.secrets[f"ODK v{kv}"] = odk
            return key

    def odks(self, user_pid: str, key: ec.EllipticCurvePrivateKey) -> dict[int, bytes]:
        with self.app.app_context():
            org = db.session.scalar(sa.select(Organisation))
            user = db.session.scalar(sa.select(User).where(User.public_id == uuid.UUID(user_pid)))
            assert org is not None and user is not None
            rows = db.session.execute(
                sa.select(OrgKeyVersion.kv, OrgKeyWrap.wrapped).join(OrgKeyWrap)
                .where(OrgKeyWrap.user_id == user.id)).all()
            return {kv: unwrap_org_key(w, key, org.pid, kv, user_pid) for kv, w in rows}

    def wraps_of(self, user_pid: str) -> int:
        with self.app.app_context():
            return db.session.scalar(sa.select(sa.func.count(OrgKeyWrap.id)).join(User).where(
                User.public_id == uuid.UUID(user_pid))) or 0


def _ready(page: Page) -> None:
    expect(page.locator("body")).to_have_attribute("data-page-state", "ready", timeout=20_000)


def _register(page: Page, link: str, name: str, passphrase: str) -> None:
    page.goto(link)
    _ready(page)
    page.fill("#display-name", name)
    page.fill("#passphrase", passphrase)
    page.fill("#passphrase-again", passphrase)
    page.click("#register-form button[type=submit]")


def _login(page: Page, base: str, email: str, passphrase: str, totp: pyotp.TOTP | None = None,
           at: float | None = None) -> None:
    page.goto(base + "/login")
    _ready(page)
    page.fill("#email", email)
    page.fill("#passphrase", passphrase)
    page.click("#login-form button[type=submit]")
    if totp is not None:
        expect(page.locator("#totp-code")).to_be_visible(timeout=20_000)
        page.fill("#totp-code", totp.at(at or time.time()))
        page.click("#totp-form button[type=submit]")
    page.wait_for_url(lambda u: "/login" not in u, timeout=30_000)


OPEN_RECORD = """async ({record, envelope}) => {
    const {loadKeyring} = await import('/static/js/keyring.js');
    const {openRecord} = await import('/static/js/sealing.js');
    try {
        const ring = await loadKeyring();
        const key = await ring.orgKey(envelope.kv);
        return await openRecord(key, ring.org.id, record, envelope);
    } catch (error) {
        return {refused: String(error.message || error)};
    }
}"""


def _opens(page: Page, story: Story, kv: int) -> dict[str, Any]:
    """Seal a record with ODK v`kv` in Python and ask this member's browser to open it."""
    record = str(uuid.uuid4())
    with story.app.app_context():
        org = db.session.scalar(sa.select(Organisation))
        assert org is not None
        org_pid = org.pid
    envelope = seal_record(story.secrets[f"ODK v{kv}"], org_pid, record, kv,
                           {"narrative": f"material of version {kv}"})
    page.goto(story.url + "/account")
    result: dict[str, Any] = page.evaluate(OPEN_RECORD, {"record": record, "envelope": envelope})
    return result


@pytest.fixture(scope="module")
def story(browser: Browser) -> Iterator[Story]:
    with fresh_database("story") as url:
        migrate_to_head(url)
        app = make_app(url)
        with LiveServer(app) as server:
            s = Story(app, server.url)
            _run(s, browser)
            yield s
        with app.app_context():
            db.engine.dispose()


def _run(s: Story, browser: Browser) -> None:
    # The operator creates the organisation; the coordinator registers and keeps the code.
    coord = s.page(browser)
    _register(coord, s.cli("org", "create", "Red Umbrella", "--coordinator",
                           "coco@example.org"), "Coco", PASS["coord"])
    expect(coord.locator("#recovery")).to_be_visible(timeout=30_000)
    groups = coord.locator("#recovery-groups li").all_inner_texts()
    code = "-".join(groups)
    s.secrets["recovery scalar"] = recovery_scalar(code)
    first = int(coord.inner_text("#recovery-group-first-label"))
    second = int(coord.inner_text("#recovery-group-second-label"))
    coord.fill("#recovery-group-first", groups[first - 1])
    coord.fill("#recovery-group-second", groups[second - 1])
    coord.check("#recovery-kept")
    coord.click("#recovery-check button[type=submit]")
    coord.wait_for_url(lambda u: "/register/" not in u, timeout=30_000)
    coord_key = s.remember_member("coord", "coco@example.org", PASS["coord"])
    s.facts["v1 after registration"] = set(s.odks(s.facts["coord id"], coord_key))

    # Logs out, logs in, turns on the second factor.
    coord.click("#logout-form button")
    coord.wait_for_url(lambda u: "/login" in u, timeout=20_000)
    _login(coord, s.url, "coco@example.org", PASS["coord"])
    coord.goto(s.url + "/account/2fa")
    totp = pyotp.TOTP(coord.inner_text("code.secret"))
    coord.fill("#code", totp.now())
    coord.click("main form button[type=submit]")
    expect(coord.locator(".notice-ok")).to_be_visible()
    coord.click("#logout-form button")
    coord.wait_for_url(lambda u: "/login" in u, timeout=20_000)
    _login(coord, s.url, "coco@example.org", PASS["coord"], totp, time.time() + 30)
    s.facts["2fa login"] = coord.url

    # Invites an outreach worker and an analyst; both register.
    members = {}
    for who, role, name in (("out", "outreach", "Mo"), ("ana", "analyst", "Ana")):
        coord.goto(s.url + "/org/members")
        coord.fill("#email", f"{who}@example.org")
        coord.select_option("#role", role)
        coord.click("form[action$='/org/invites'] button[type=submit]")
        link = coord.inner_text("#invite-link")
        page = s.page(browser)
        _register(page, link, name, PASS[who])
        page.wait_for_url(lambda u: "/register/" not in u, timeout=30_000)
        key = s.remember_member(who, f"{who}@example.org", PASS[who])
        # Each reads out the fingerprint their own browser shows; the coordinator compares.
        page.goto(s.url + "/account")
        own = fingerprint(public_raw(key.public_key()))
        expect(page.locator("#fingerprint")).to_have_text(own, timeout=20_000)
        coord.goto(f"{s.url}/org/members/{s.facts[who + ' id']}")
        expect(coord.locator("#fingerprint")).to_have_text(own, timeout=20_000)
        coord.check("#fingerprint-matches")
        coord.click("#confirm-member")
        expect(coord.locator("#confirm-member")).to_have_count(0, timeout=30_000)
        members[who] = page

    s.facts["outreach opens v1"] = _opens(members["out"], s, 1)
    s.facts["analyst opens v1"] = _opens(members["ana"], s, 1)

    # The coordinator removes the outreach worker: a new key version, their wraps gone.
    coord.goto(f"{s.url}/org/members/{s.facts['out id']}")
    coord.click("#remove-member")
    coord.click("#remove-member")
    coord.wait_for_url(lambda u: u.endswith("/org/members"), timeout=30_000)
    with s.app.app_context():
        org = db.session.scalar(sa.select(Organisation))
        assert org is not None
        s.facts["kv after removal"] = org.current_kv
    s.facts["removed member's wraps"] = s.wraps_of(s.facts["out id"])
    s.remember_member("coord", "coco@example.org", PASS["coord"])  # picks up ODK v2
    s.facts["coordinator opens v1 after removal"] = _opens(coord, s, 1)
    s.facts["removed member opens v1"] = _opens(members["out"], s, 1)

    # The coordinator forgets the passphrase; the recovery code restores access.
    link = s.cli("org", "recover", "Red Umbrella", "--email", "coco@example.org")
    heir = s.page(browser)
    heir.goto(link)
    _ready(heir)
    heir.fill("#recovery-code", code.lower().replace("-", " "))
    heir.fill("#display-name", "Coco")
    heir.fill("#passphrase", PASS["coord2"])
    heir.fill("#passphrase-again", PASS["coord2"])
    heir.click("#register-form button[type=submit]")
    heir.wait_for_url(lambda u: "/recover/" not in u, timeout=30_000)
    new_key = s.remember_member("coord2", "coco@example.org", PASS["coord2"])
    s.facts["recovered versions"] = set(s.odks(s.facts["coord2 id"], new_key))
    if "/login" in heir.url:
        _login(heir, s.url, "coco@example.org", PASS["coord2"])
    s.facts["recovered opens v1"] = _opens(heir, s, 1)
    s.facts["recovered opens v2"] = _opens(heir, s, 2)


def test_the_accounts_story(story: Story) -> None:
    f = story.facts
    assert f["v1 after registration"] == {1}
    assert "/login" not in f["2fa login"]
    assert f["outreach opens v1"] == {"narrative": "material of version 1"}
    assert "refused" in f["analyst opens v1"], "an analyst must not hold the key"
    assert f["kv after removal"] == 2
    assert f["removed member's wraps"] == 0
    assert f["coordinator opens v1 after removal"] == {"narrative": "material of version 1"}
    assert "refused" in f["removed member opens v1"]
    assert f["recovered versions"] == {1, 2}
    assert f["recovered opens v1"] == {"narrative": "material of version 1"}
    assert f["recovered opens v2"] == {"narrative": "material of version 2"}
    assert story.problems == []


def _forms(secret: bytes) -> list[bytes]:
    """The ways a secret could be written: raw, base64url, base64, hex (both cases)."""
    return [secret, b64u_encode(secret).encode(), base64.b64encode(secret).rstrip(b"="),
            secret.hex().encode(), secret.hex().upper().encode()]


def _leaks(story: Story, haystack: bytes) -> list[str]:
    return [name for name, secret in story.secrets.items()
            if any(form in haystack for form in _forms(secret))]


def test_no_request_carries_a_passphrase_or_an_unwrapped_key(story: Story) -> None:
    assert len(story.requests) > 50 and len(story.secrets) >= 20
    found = {name for url, body in story.requests
             for name in _leaks(story, url.encode() + b"\n" + body)}
    assert found == set(), f"sent by a browser: {sorted(found)}"


def test_no_table_holds_a_secret_in_clear(story: Story) -> None:
    with story.app.app_context():
        dump = dump_tables()
        assert b"coco@example.org" in dump  # the dump really holds the tables
        found = _leaks(story, dump)
        if db.engine.dialect.name == "sqlite":
            database = Path(str(db.engine.url.database))
            for path in (database, Path(f"{database}-wal")):
                if path.exists():
                    found += [f"{n} ({path.name})" for n in _leaks(story, path.read_bytes())]
    assert found == [], f"in the database: {found}"
