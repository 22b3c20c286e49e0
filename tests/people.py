"""People and organisations for tests: made through the CLI and the HTTP interface."""

from __future__ import annotations

import re
from collections.abc import Callable

import sqlalchemy as sa
from flask.testing import FlaskCliRunner

from app.extensions import db
from app.models import Organisation
from tests.actors import Browser

LINK = re.compile(r"http://[^\s]+/(?:register|recover)/[A-Za-z0-9_-]+")


def link_path(text: str) -> str:
    found = LINK.search(text)
    assert found, text
    return "/" + found.group(0).split("/", 3)[3]


def create_org(runner: FlaskCliRunner, name: str = "Red Umbrella",
               email: str = "coord@example.org") -> str:
    result = runner.invoke(args=["org", "create", name, "--coordinator", email])
    assert result.exit_code == 0, result.output
    return link_path(result.output)


def make_coordinator(runner: FlaskCliRunner, new_browser: Callable[[str], Browser],
                     name: str = "Red Umbrella", email: str = "coord@example.org") -> Browser:
    coord = new_browser(email)
    assert coord.register(create_org(runner, name, email), "Coco").status_code == 201
    assert coord.login().status_code == 200
    return coord


def invite(coord: Browser, email: str, role: str) -> str:
    response = coord.post_form("/org/invites", {"email": email, "role": role})
    assert response.status_code == 200, response.get_data(as_text=True)
    return link_path(response.get_data(as_text=True))


def joined(coord: Browser, new_browser: Callable[[str], Browser], email: str,
           role: str) -> Browser:
    member = new_browser(email)
    assert member.register(invite(coord, email, role), email.split("@")[0]).status_code == 201
    assert member.login().status_code == 200
    return member


def org_of(name: str = "Red Umbrella") -> Organisation:
    org = db.session.scalar(sa.select(Organisation).where(Organisation.name == name))
    assert org is not None
    return org


