"""Locale selection: the user's choice (later, per user), else the browser's Accept-Language."""

from __future__ import annotations

from flask import Flask, current_app, request, session

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


def current_lang() -> str:
    from flask_babel import get_locale

    locale = get_locale()
    return locale.language if locale else "en"
