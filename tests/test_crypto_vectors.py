"""Every vector in the shared file (or COLLATERAL_VECTORS), and a fresh one, through Python."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.crypto import CryptoError
from tests.cryptocheck import must_fail_checks, positive_checks, vectors_path
from tests.vectorgen import generate_vectors

SHARED = json.loads(vectors_path().read_text(encoding="utf-8"))


def _run(vectors: dict[str, Any]) -> None:
    failures = []
    checks = positive_checks(vectors)
    for name, check in checks:
        try:
            check()
        except (AssertionError, CryptoError) as exc:
            failures.append(f"{name}: {exc!r}")
    attempts = must_fail_checks(vectors)
    for name, attempt in attempts:
        try:
            attempt()
        except CryptoError:
            continue
        failures.append(f"must_fail accepted: {name}")
    assert not failures, "\n".join(failures)
    assert len(checks) >= 10 and len(attempts) >= 10


@pytest.mark.parametrize("name,check", positive_checks(SHARED), ids=lambda x: str(x))
def test_shared_vector(name: str, check: Any) -> None:
    check()


@pytest.mark.parametrize("name,attempt", must_fail_checks(SHARED), ids=lambda x: str(x))
def test_shared_must_fail(name: str, attempt: Any) -> None:
    with pytest.raises(CryptoError):
        attempt()


def test_fresh_vectors_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "fresh.json"
    generate_vectors(path)
    monkeypatch.setenv("COLLATERAL_VECTORS", str(path))
    assert vectors_path() == path
    _run(json.loads(path.read_text(encoding="utf-8")))


def test_fresh_vectors_differ_each_time(tmp_path: Path) -> None:
    a = generate_vectors(tmp_path / "a.json")
    b = generate_vectors(tmp_path / "b.json")
    assert a["record"][0]["envelope"] != b["record"][0]["envelope"]
    assert a["member_key"][0]["public_raw"] != b["member_key"][0]["public_raw"]
