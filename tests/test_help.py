"""Help in place: the help page (for everyone, linked from every page) and the explanations
next to each coded field of the incident form, which open without JavaScript."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from flask.testing import FlaskClient

from tests.actors import Browser


class Blocks(HTMLParser):
    """Each field group of the form (a fieldset or a .field div): its field name, whether it
    says something beyond its label (a hint, descriptions under choices or a <details>)."""

    def __init__(self) -> None:
        super().__init__()
        self.explained: dict[str, bool] = {}
        self.stack: list[tuple[str, str | None, bool]] = []  # tag, field name, explained

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "fieldset" and (a.get("id") or "").endswith("-group"):
            self.stack.append((tag, (a["id"] or "")[:-len("-group")], False))
        elif tag == "div" and "field" in classes:
            self.stack.append((tag, None, False))
        elif self.stack:
            top_tag, name, explained = self.stack[-1]
            if tag in ("input", "select", "textarea") and name is None and a.get("name"):
                name = a["name"]
            if tag == "details" or {"hint", "choice-help"} & set(classes):
                explained = True
            self.stack[-1] = (top_tag, name, explained)

    def handle_endtag(self, tag: str) -> None:
        if self.stack and self.stack[-1][0] == tag and tag in ("fieldset", "div"):
            _, name, explained = self.stack.pop()
            if name:
                self.explained[name] = self.explained.get(name, False) or explained


def test_help_page_for_everyone_and_linked_from_every_page(client: FlaskClient) -> None:
    page = client.get("/help")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    for heading in ("What the server can and cannot see", "Who can open sealed answers",
                    "If someone takes the server", "What Collateral cannot protect against",
                    "If you lose your passphrase", "If no coordinator can log in",
                    "The 4P areas", "It counts as a raid"):
        assert heading.lower() in body.lower(), heading
    # What a reset really does (app/orgs/service.py reset/register): a new link, new keys,
    # a fingerprint check again, the org key wrapped to the member again, 2FA cleared.
    assert "Make a new link" in body and "fingerprint" in body
    assert "second factor" in body and "recovery code" in body
    for path in ("/", "/login", "/selftest", "/help"):
        assert 'href="/help"' in client.get(path).get_data(as_text=True), path


def test_every_coded_field_is_explained(coordinator: Browser) -> None:
    page = coordinator.get("/incidents/new")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    blocks = Blocks()
    blocks.feed(body)
    coded = {"kinds", "four_p", "instrument", "actors", "country", "region", "month",
             "work_setting", "groups", "people_affected", "amount_confiscated", "currency",
             "days_detained", "source", "consent", "status"}
    unexplained = sorted(name for name in coded if not blocks.explained.get(name))
    assert not unexplained, unexplained
    # The longer explanations are <details>: they open without any script.
    for anchor, words in (("kinds-guide", "also when nobody is arrested"),
                          ("four_p-guide", "Stopping trafficking before it happens"),
                          ("consent-guide", "An extract already delivered cannot be taken")):
        found = re.search(rf'<details class="field-help" id="{anchor}">(.*?)</details>', body,
                          re.S)
        assert found and words in found.group(1), anchor
