"""Vendored third-party files match their MANIFEST hashes, and the test-only axe-core is never
served by the app."""

from __future__ import annotations

import subprocess
from pathlib import Path

from flask.testing import FlaskClient

ROOT = Path(__file__).resolve().parent.parent


def test_vendored_files_match_their_manifests() -> None:
    result = subprocess.run(["bash", str(ROOT / "scripts" / "vendor.sh"), "--check"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "static/vendor matches MANIFEST" in result.stdout
    assert "tests/browser/vendor matches MANIFEST" in result.stdout


def test_axe_is_test_only(client: FlaskClient) -> None:
    assert (ROOT / "tests" / "browser" / "vendor" / "axe.min.js").is_file()
    assert not [p for p in (ROOT / "static").rglob("*") if "axe" in p.name.lower()]
    for path in ("/static/axe.min.js", "/static/vendor/axe.min.js",
                 "/static/../tests/browser/vendor/axe.min.js"):
        assert client.get(path).status_code == 404, path
