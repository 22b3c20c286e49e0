"""Security headers on every response (ARCHITECTURE.md convention 9)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, current_app, has_request_context, request
from flask.sessions import SecureCookieSessionInterface

F = TypeVar("F", bound=Callable[..., Any])

# Argon2 runs as WebAssembly; only the pages that derive keys may compile it.
_WASM_ATTR = "_collateral_runs_argon2"

PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()" for feature in (
        "accelerometer", "autoplay", "camera", "display-capture", "geolocation", "gyroscope",
        "magnetometer", "microphone", "midi", "payment", "usb", "interest-cohort",
    )
)


def runs_argon2(view: F) -> F:
    """Mark a view whose page derives keys in the browser; its CSP allows 'wasm-unsafe-eval'."""
    setattr(view, _WASM_ATTR, True)
    return view


def content_security_policy(allow_wasm: bool) -> str:
    script = "'self' 'wasm-unsafe-eval'" if allow_wasm else "'self'"
    return "; ".join((
        "default-src 'self'",
        f"script-src {script}",
        "style-src 'self'",
        # blob: for previews of attachments the page itself just opened (only same-origin
        # scripts can create such URLs).
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ))


def _view_allows_wasm() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, _WASM_ATTR, False))


def set_headers(response: Response) -> Response:
    headers = response.headers
    headers["Content-Security-Policy"] = content_security_policy(_view_allows_wasm())
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Frame-Options"] = "DENY"
    headers["Permissions-Policy"] = PERMISSIONS_POLICY
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
    if request.endpoint == "static":
        # Vendored and project assets hold no data; they may be cached, but revalidated so a
        # changed sealing.js is picked up at once.
        headers["Cache-Control"] = "no-cache"
    else:
        # Every page may show data: never kept by the browser or a proxy.
        headers["Cache-Control"] = "no-store, max-age=0"
        headers["Pragma"] = "no-cache"
    if request.is_secure:
        headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    return response


class SessionCookies(SecureCookieSessionInterface):
    """The session cookie is `Secure` whenever the request came over HTTPS (directly, or
    through PROXY_COUNT proxies that say so in X-Forwarded-Proto), whatever
    SESSION_COOKIE_SECURE says; that setting (default on) makes it Secure always."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (
            has_request_context() and request.is_secure)


def init_app(app: Flask) -> None:
    app.after_request(set_headers)
    app.session_interface = SessionCookies()
