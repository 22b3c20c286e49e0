"""Every route registered in the app answers with the security headers, whatever the outcome."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from tests.conftest import make_app

ROOT = Path(__file__).resolve().parent.parent
# Sample values for URL arguments; a route with an argument not listed here fails the test,
# so whoever adds one decides what to send it.
SAMPLE_ARGS = {"filename": "css/app.css", "token": "not-a-real-token",
               "member_id": "6f1c2a9e-4b1d-4c55-9a3e-2f0d8c6b1a01",
               "public_id": "6f1c2a9e-4b1d-4c55-9a3e-2f0d8c6b1a02", "fmt": "csv",
               "action": "accept", "part": "data"}
COMMON = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def _requests(app: Flask) -> list[tuple[Rule, str, str]]:
    out = []
    for rule in app.url_map.iter_rules():
        missing = set(rule.arguments) - set(SAMPLE_ARGS)
        assert not missing, f"add sample values for {rule.rule} arguments {missing}"
        built = rule.build({a: SAMPLE_ARGS[a] for a in rule.arguments})
        assert built is not None, rule.rule
        path = built[1]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((rule, method, path))
    return out


def _assert_headers(app: Flask, rule: Rule, response_headers: dict[str, str]) -> None:
    for name, value in COMMON.items():
        assert response_headers.get(name) == value, (rule.rule, name)
    csp = response_headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "'unsafe-eval'" not in csp
    view = app.view_functions[rule.endpoint]
    wasm = "'wasm-unsafe-eval'" in csp
    assert wasm == bool(getattr(view, "_collateral_runs_argon2", False)), rule.rule
    assert "camera=()" in response_headers["Permissions-Policy"]
    cache = response_headers["Cache-Control"]
    if rule.endpoint == "static":
        assert "no-cache" in cache
    else:
        assert "no-store" in cache, rule.rule


def test_every_route_has_security_headers(app: Flask, client: FlaskClient) -> None:
    requests = _requests(app)
    assert len(requests) >= 5
    seen = set()
    for rule, method, path in requests:
        response = client.open(path, method=method)
        assert response.status_code < 500, (method, path, response.status_code)
        _assert_headers(app, rule, dict(response.headers))
        seen.add(rule.endpoint)
    assert seen == {r.endpoint for r in app.url_map.iter_rules()}


def test_error_pages_have_headers(client: FlaskClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "no-store" in response.headers["Cache-Control"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_500_page_has_headers_and_no_trace(migrated_url: str) -> None:
    app = make_app(migrated_url)

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret detail that must not be shown")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "secret detail" not in body and "Traceback" not in body
    assert "Nothing was saved" in body
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "no-store" in response.headers["Cache-Control"]


def test_only_argon2_pages_allow_wasm(client: FlaskClient) -> None:
    assert "'wasm-unsafe-eval'" in client.get("/selftest").headers["Content-Security-Policy"]
    assert "'wasm-unsafe-eval'" not in client.get("/").headers["Content-Security-Policy"]


@pytest.mark.parametrize("path", sorted(p.relative_to(ROOT).as_posix()
                                         for p in (ROOT / "templates").rglob("*.html")))
def test_templates_have_no_inline_script_or_style(path: str) -> None:
    text = (ROOT / path).read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), "inline <script>"
    assert not re.search(r"\sstyle\s*=", text), "style attribute"
    assert not re.search(r"<style", text), "<style> element"
    assert not re.search(r"\son[a-z]+\s*=", text), "inline event handler"
    assert not re.search(r"(src|href)=\"https?://", text), "asset from another host"
