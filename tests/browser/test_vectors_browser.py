"""static/js/sealing.js in Chromium against the vectors, and against the Python side both ways.

Each test makes one or two page.evaluate calls with a harness from tests/browser/harness/ and
gets back the names of the checks that failed, so a failure says which vector broke.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.sync_api import Page

from app.crypto import (
    b64u_decode,
    b64u_encode,
    canonical_json,
    derive_auth_key,
    derive_kek,
    derive_master_key,
    fingerprint,
    open_attachment,
    open_record,
    private_key_from_scalar,
    public_raw,
    recovery_scalar,
    unwrap_member_key,
    unwrap_org_key,
)
from tests.cryptocheck import vectors_path
from tests.vectorgen import generate_vectors

pytestmark = pytest.mark.browser

SEALING = "/static/js/sealing.js"
# Sections the browser has no part in: the fake prelogin salt needs the server's secret.
SERVER_ONLY = {"prelogin_fake_salt"}
META = {"version", "spec", "notes", "must_fail"}
HARNESS = Path(__file__).resolve().parent / "harness"


def harness(name: str) -> str:
    """A JavaScript function expression from tests/browser/harness/, for page.evaluate."""
    return (HARNESS / name).read_text(encoding="utf-8")


def open_selftest(page: Page, base_url: str) -> None:
    """Load /selftest: same origin as the scripts, and its CSP lets Argon2's WebAssembly run."""
    page.goto(f"{base_url}/selftest")
    # A function, not an expression: Playwright would eval() an expression, which CSP forbids.
    page.wait_for_function("() => document.body.dataset.selftest !== undefined", timeout=30_000)


def run_vectors(page: Page, base_url: str, vectors: dict[str, Any]) -> dict[str, Any]:
    open_selftest(page, base_url)
    result: dict[str, Any] = page.evaluate(harness("vectors.js"),
                                           {"vectors": vectors, "sealingUrl": SEALING})
    return result


def assert_all_vectors_pass(result: dict[str, Any], vectors: dict[str, Any]) -> None:
    assert not result["failures"], "browser disagrees with the vectors:\n" + "\n".join(
        result["failures"])
    sections = set(vectors) - META - SERVER_ONLY
    # Every positive vector and every must_fail vector went through the browser.
    assert result["checked"] == {s: len(vectors[s]) for s in sections}
    assert result["rejected"] == {s: len(v) for s, v in vectors["must_fail"].items()}
    assert set(result["skipped"]) == SERVER_ONLY & set(vectors)


def test_selftest_page_reports_ok(page: Page, live_server: str) -> None:
    open_selftest(page, live_server)
    items = page.locator("#selftest li")
    texts = items.all_text_contents()
    assert page.evaluate("document.body.dataset.selftest") == "ok", texts
    assert len(texts) >= 5 and all(t.startswith("✓") for t in texts), texts


def test_shared_vectors_in_browser(page: Page, live_server: str) -> None:
    vectors = json.loads(vectors_path().read_text(encoding="utf-8"))
    result = run_vectors(page, live_server, vectors)
    assert_all_vectors_pass(result, vectors)


def test_fresh_vectors_in_browser(page: Page, live_server: str, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A file made just now by the Python side with random keys: the browser must agree."""
    path = tmp_path / "fresh-vectors.json"
    generate_vectors(path)
    monkeypatch.setenv("COLLATERAL_VECTORS", str(path))
    vectors = json.loads(vectors_path().read_text(encoding="utf-8"))
    assert vectors_path() == path
    result = run_vectors(page, live_server, vectors)
    assert_all_vectors_pass(result, vectors)


def test_edge_cases_in_browser(page: Page, live_server: str) -> None:
    vectors = json.loads(vectors_path().read_text(encoding="utf-8"))
    export = max(vectors["export"], key=lambda v: v["plaintext_len"])  # several chunks
    open_selftest(page, live_server)
    result = page.evaluate(harness("edges.js"), {"exportVector": export, "sealingUrl": SEALING})
    assert not result["failures"], "\n".join(result["failures"])
    assert result["checks"] >= 80


RECORDS: list[dict[str, Any]] = [
    {
        "narrative": "Raid at the flat; cash kept 'as evidence'. Ünïcode ✓ — “quoted” 😀 日本語",
        "exact_date": "2026-03-14",
        "people": [{"alias": "M.", "role": "worker", "age": 31}, {"alias": None, "minor": False}],
        "amount_detail": "EUR 1,850.50",
        "nested": {"z": [], "a": {}, "é": [1, -2, [True, None]]},
        "escapes": "tab\there\nnew line \"quote\" back\\slash \u0001 \u007f \u2028 /",
        # Keys outside the BMP sort after U+FFFD by code point (not by UTF-16 unit).
        "\U0001F600": "astral key", "\ufffd": "replacement key", "Z": "upper",
    },
    {},
    {"narrative": "x" * 236},  # length prefix and JSON fill one 256-byte block exactly
]


def test_browser_seals_python_opens(page: Page, live_server: str) -> None:
    """Fresh keys made in Chromium; every sealed thing opens with the Python side."""
    py_member = ec.generate_private_key(ec.SECP256R1())
    ids = {name: str(uuid.uuid4()) for name in ("org", "record", "user", "pyUser")}
    sizes = [0, 1, 4092, 4093, 70000]  # around the 4096-byte padding block
    kv = 3
    passphrase = "Ｃorrect ﬁsh — ünïcode " + os.urandom(4).hex()
    assert len(canonical_json(RECORDS[2])) + 4 == 256
    open_selftest(page, live_server)
    out = page.evaluate(harness("reverse.js"), {
        "sealingUrl": SEALING, **ids, "kv": kv, "passphrase": passphrase,
        "pyMemberPublic": b64u_encode(public_raw(py_member.public_key())),
        "records": RECORDS,
        "attachments": [{"id": str(uuid.uuid4()), "size": size} for size in sizes],
    })
    org, record, user = ids["org"], ids["record"], ids["user"]

    master = derive_master_key(passphrase, b64u_decode(out["salt"]), 1024, 1, 1)
    assert b64u_encode(master) == out["master"]
    assert b64u_encode(derive_auth_key(master)) == out["auth"]
    kek = derive_kek(master)
    assert b64u_encode(kek) == out["kek"]

    member = unwrap_member_key(kek, user, out["memberEnvelope"])
    assert b64u_encode(public_raw(member.public_key())) == out["memberPublic"]
    assert fingerprint(b64u_decode(out["memberPublic"])) == out["memberFingerprint"]

    org_key = b64u_decode(out["orgKey"])
    wraps = out["wraps"]
    assert unwrap_org_key(wraps["python_member"], py_member, org, kv, ids["pyUser"]) == org_key
    assert unwrap_org_key(wraps["browser_member"], member, org, kv, user) == org_key

    scalar = recovery_scalar(out["recoveryCode"])
    assert b64u_encode(scalar) == out["recoveryScalar"]
    recovery_key = private_key_from_scalar(scalar)
    assert b64u_encode(public_raw(recovery_key.public_key())) == out["recoveryPublic"]
    assert unwrap_org_key(wraps["recovery"], recovery_key, org, kv, "recovery",
                          "org-key-recovery") == org_key

    assert len(out["records"]) == len(RECORDS)
    for fields, sealed in zip(RECORDS, out["records"], strict=True):
        assert b64u_decode(sealed["canonical"]) == canonical_json(fields)
        assert sealed["envelope"]["kv"] == kv
        assert open_record(org_key, org, record, sealed["envelope"]) == fields
    assert [len(b64u_decode(a["data"])) for a in out["attachments"]] == sizes
    for attachment in out["attachments"]:
        data = b64u_decode(attachment["data"])
        assert open_attachment(org_key, org, record, attachment["id"],
                               attachment["envelope"]) == data
        padded = len(b64u_decode(attachment["envelope"]["ct"])) - 16
        assert padded % 4096 == 0 and padded - 4096 < len(data) + 4 <= padded
