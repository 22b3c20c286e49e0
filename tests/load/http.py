"""tests.actors.Browser over real HTTP: the few methods of Flask's test client that Browser
uses (open, get, post; status_code, content_type, get_data, json), on a `requests` session."""

from __future__ import annotations

import json
from typing import Any, cast

import requests
from flask.testing import FlaskClient

from tests.actors import Browser


class HttpResponse:
    def __init__(self, response: requests.Response) -> None:
        self.raw = response
        self.status_code = response.status_code
        self.headers = response.headers
        self.content_type = response.headers.get("Content-Type", "")
        self.data = response.content

    def get_data(self, as_text: bool = False) -> Any:
        return self.raw.text if as_text else self.data

    @property
    def json(self) -> Any:
        if "json" not in self.content_type:
            return None
        try:
            return json.loads(self.data)
        except ValueError:
            return None


class HttpClient:
    """A browser's cookie jar and connection to one server; paths as in the test client."""

    def __init__(self, base_url: str, timeout: float = 60) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self.session = requests.Session()

    def open(self, path: str, method: str = "GET", **kw: Any) -> HttpResponse:
        kw.setdefault("timeout", self.timeout)
        return HttpResponse(self.session.request(method, self.base_url + path, **kw))

    def get(self, path: str, **kw: Any) -> HttpResponse:
        return self.open(path, "GET", **kw)

    def post(self, path: str, **kw: Any) -> HttpResponse:
        return self.open(path, "POST", **kw)

    def close(self) -> None:
        self.session.close()


def http_browser(base_url: str, email: str, passphrase: str | None = None) -> Browser:
    """A Python-played browser (tests/actors.py) talking to a real server."""
    browser = Browser(cast(FlaskClient, HttpClient(base_url)), email)
    if passphrase is not None:
        browser.passphrase = passphrase
    return browser


def http_of(browser: Browser) -> HttpClient:
    client = cast(Any, browser.client)
    assert isinstance(client, HttpClient)
    return client
