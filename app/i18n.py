"""Locale selection: the user's choice (later, per user), else the browser's Accept-Language."""

from __future__ import annotations

from flask import Flask, current_app, render_template_string, request, session
from markupsafe import Markup

from app.extensions import babel


def select_locale() -> str | None:
    languages = current_app.config["LANGUAGES"]
    chosen = session.get("lang")
    if chosen in languages:
        return str(chosen)
    return request.accept_languages.best_match(languages) or current_app.config[
        "BABEL_DEFAULT_LOCALE"]


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals["current_lang"] = current_lang
    app.jinja_env.globals["cached_js_messages"] = cached_js_messages


def current_lang() -> str:
    from flask_babel import get_locale

    locale = get_locale()
    return locale.language if locale else "en"


MESSAGES_BODY = ('{% from "_macros/messages.html" import js_messages_body %}'
                 "{{ js_messages_body(incidents=incidents) }}")


def cached_js_messages(incidents: bool = False) -> Markup:
    """The sentences the page scripts show (templates/_macros/messages.html), in the reader's
    language: the same for every request in that language, so rendered once per process."""
    cache: dict[tuple[str, bool], Markup] = current_app.extensions.setdefault(
        "collateral.js_messages", {})
    key = (current_lang(), bool(incidents))
    if key not in cache:
        body = render_template_string(MESSAGES_BODY, incidents=bool(incidents))
        cache[key] = Markup(body)  # noqa: S704 - Jinja's autoescaped output, no input in it
    return cache[key]

