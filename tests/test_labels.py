"""Every code a page shows has words in app/labels.py (which are translated): audit actions,
roles, statuses, coded field names and research generalisation levels."""

from __future__ import annotations

import ast
from pathlib import Path

from flask import Flask

from app import labels
from app.models import MembershipStatus, RequestStatus, Role
from app.research import anonymise

APP = Path(__file__).resolve().parent.parent / "app"


def recorded_actions() -> set[str]:
    """Every action passed to audit.record anywhere in app/: a literal, a conditional of
    literals, or a variable assigned literals in the same function."""
    found: set[str] = set()
    for path in APP.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef):
                continue
            for node in ast.walk(function):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr == "record" and isinstance(node.func.value, ast.Name)
                        and node.func.value.id == "audit" and node.args):
                    continue
                first = node.args[0]
                sources: list[ast.AST] = [first]
                if isinstance(first, ast.Name):
                    sources = [a.value for a in ast.walk(function) if isinstance(a, ast.Assign)
                               and any(isinstance(t, ast.Name) and t.id == first.id
                                       for t in a.targets)]
                literals = {c.value for s in sources for c in ast.walk(s)
                            if isinstance(c, ast.Constant) and isinstance(c.value, str)}
                assert literals, f"{path.name}: cannot tell which action {ast.unparse(first)} is"
                found |= literals
    return found


def test_every_audit_action_has_words() -> None:
    actions = recorded_actions()
    assert {"login", "member_registered", "extract_refused", "2fa_enabled"} <= actions
    assert actions - set(labels.AUDIT_ACTIONS) == set()


def test_every_role_status_field_and_level_has_words() -> None:
    assert {r.value for r in Role} <= set(labels.ROLES)
    assert {s.value for s in MembershipStatus} <= set(labels.MEMBERSHIP_STATUSES)
    assert {s.value for s in RequestStatus} <= set(labels.REQUEST_STATUSES)
    assert set(anonymise.FIELDS) <= set(labels.FIELDS)
    assert set(anonymise.PLACE + anonymise.PERIOD + anonymise.BANDS) <= set(
        labels.GENERALISATION)


def test_an_unknown_code_is_shown_as_it_is(app: Flask) -> None:
    with app.test_request_context():
        assert labels.label_of("audit_action", "login") == "Logged in"
        assert labels.label_of("role", Role.OUTREACH) == "Outreach worker"
        assert labels.label_of("audit_action", "made_up_action") == "made_up_action"
