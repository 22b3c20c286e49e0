"""The report engine counts in SQL what a person would count by hand."""

from __future__ import annotations

import random
import statistics
import uuid
from collections import Counter
from decimal import Decimal
from itertools import combinations
from typing import Any

import pytest
from flask import Flask

from app.extensions import db
from app.models import Incident, IncidentCode, Organisation
from app.reports.engine import (
    Scope,
    amounts_by_currency,
    cooccurrence,
    count_by,
    crosstab,
    totals,
)

KINDS = ["raid", "deportation", "confiscation", "eviction"]
P = ["prevention", "protection", "prosecution"]


def _make(org: Organisation, rng: random.Random) -> dict[str, Any]:
    kinds = rng.sample(KINDS, rng.randint(1, 3))
    four_p = rng.sample(P, rng.randint(1, 2))
    amount = Decimal(rng.randint(0, 500_000)) / 100 if rng.random() < 0.6 else None
    row = {"kinds": kinds, "four_p": four_p, "country": rng.choice(["PT", "DE", "TH"]),
           "month": f"2026-{rng.randint(1, 9):02d}", "people_affected": rng.randint(1, 6),
           "days_detained": rng.choice([None, 0, 3, 14]), "amount": amount,
           "currency": rng.choice(["EUR", "THB"]) if amount is not None else None,
           "consent": rng.choice(["org_only", "aggregate", "research"])}
    iv = uuid.uuid4().hex[:16]
    incident = Incident(org_id=org.id, status="complete", country=row["country"],
                        month=row["month"], work_setting="street",
                        people_affected=row["people_affected"],
                        days_detained=row["days_detained"], amount_confiscated=row["amount"],
                        currency=row["currency"], source="firsthand", consent=row["consent"],
                        sealed={"v": 1, "kv": 1, "iv": "A" * 16, "ct": "A" * 40}, kv=1,
                        sealed_iv=iv)
    incident.codes = ([IncidentCode(field="kinds", code=k) for k in kinds]
                      + [IncidentCode(field="four_p", code=p) for p in four_p])
    db.session.add(incident)
    return row


@pytest.fixture
def data(app: Flask) -> tuple[Organisation, Organisation, list[dict[str, Any]]]:
    rng = random.Random(7)
    mine, theirs = Organisation(name="Mine"), Organisation(name="Theirs")
    db.session.add_all([mine, theirs])
    db.session.flush()
    rows = [_make(mine, rng) for _ in range(120)]
    for _ in range(30):
        _make(theirs, rng)
    db.session.commit()
    return mine, theirs, rows


def test_counts_by_kind_and_column(data: Any) -> None:
    mine, _, rows = data
    scope = Scope((mine.id,))
    assert count_by(db.session, scope, "kinds") == Counter(k for r in rows for k in r["kinds"])
    assert count_by(db.session, scope, "country") == Counter(r["country"] for r in rows)
    assert totals(db.session, scope) == {
        "incidents": 120, "people_affected": sum(r["people_affected"] for r in rows),
        "days_detained": sum(r["days_detained"] or 0 for r in rows),
        "incidents_with_detention": sum(r["days_detained"] is not None for r in rows)}


def test_scope_window_consent_and_filters(data: Any) -> None:
    mine, theirs, rows = data
    scope = Scope((mine.id,), month_from="2026-03", month_to="2026-06",
                  min_consent="aggregate", filters={"kinds": "raid"})
    expected = [r for r in rows if "2026-03" <= r["month"] <= "2026-06"
                and r["consent"] != "org_only" and "raid" in r["kinds"]]
    assert totals(db.session, scope)["incidents"] == len(expected)
    both = Scope((mine.id, theirs.id))
    assert totals(db.session, both)["incidents"] == 150


def test_kind_by_four_p(data: Any) -> None:
    mine, _, rows = data
    expected = Counter((k, p) for r in rows for k in r["kinds"] for p in r["four_p"])
    assert crosstab(db.session, Scope((mine.id,)), "kinds", "four_p") == expected
    by_country = Counter((k, r["country"]) for r in rows for k in r["kinds"])
    assert crosstab(db.session, Scope((mine.id,)), "kinds", "country") == by_country


def test_amounts_never_mix_currencies_and_median_is_right(data: Any) -> None:
    mine, _, rows = data
    got = amounts_by_currency(db.session, Scope((mine.id,)))
    for currency in ("EUR", "THB"):
        amounts = [r["amount"] for r in rows if r["currency"] == currency]
        assert got[currency]["count"] == len(amounts)
        assert got[currency]["sum"] == sum(amounts)
        assert got[currency]["median"] == Decimal(statistics.median(amounts)).quantize(
            Decimal("0.01"))


def test_cooccurrence_of_kinds(data: Any) -> None:
    mine, _, rows = data
    expected = Counter(pair for r in rows for pair in combinations(sorted(r["kinds"]), 2))
    assert cooccurrence(db.session, Scope((mine.id,))) == expected
