"""Research extracts are anonymised by construction: only `research` consent, coded fields
only, generalised along the ladders until every combination of quasi-identifiers occurs at
least k times — checked against an independent computation and against pycanon."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pandas as pd
import pytest
from flask import Flask
from pycanon import anonymity

from app.extensions import db
from app.models import Organisation
from app.research.anonymise import (
    CannotAnonymise,
    Level,
    Request,
    columns,
    plan,
    quasi_identifiers,
    rows,
)
from tests.report_data import add_incidents

FIELDS = ("kinds", "country", "region", "month", "people_affected", "amount_confiscated")


@pytest.fixture
def data(app: Flask) -> tuple[Organisation, list[dict[str, Any]]]:
    org = Organisation(name="Research org")
    db.session.add(org)
    db.session.commit()
    return org, add_incidents(org, 900, random.Random(21))


def _band(value: Any, edges: list[tuple[float, str]], last: str) -> str:
    if value is None:
        return ""
    for edge, label in edges:
        if value < edge:
            return label
    return last


def _by_hand(rows_in: list[dict[str, Any]], level: Level, k: int) -> Counter[tuple[str, ...]]:
    """The expected extract, computed in plain Python from the rows."""
    out: list[dict[str, str]] = []
    for r in rows_in:
        if r["status"] != "complete" or r["consent"] != "research":
            continue
        if not "2025-01" <= r["month"] <= "2025-12":
            continue
        year, month = r["month"][:4], int(r["month"][5:])
        row = {"kinds": ";".join(sorted(r["kinds"])), "country": r["country"],
               "period": [r["month"], f"{year}-Q{(month + 2) // 3}", year][level.period]}
        if level.place == 0:
            row["region"] = r["region"] or ""
        coarse = level.bands == 1
        row["people_affected"] = _band(r["people_affected"], [(2, "1")], "2+") if coarse \
            else _band(r["people_affected"], [(2, "1"), (5, "2-4"), (10, "5-9")], "10+")
        row["amount"] = _band(r["amount"], [(1000, "<1000")], "1000+") if coarse else \
            _band(r["amount"], [(100, "<100"), (1000, "100-999"), (10000, "1000-9999")],
                  "10000+")
        row["currency"] = r["currency"] or ""
        out.append(row)
    qi = ["region", "country", "period", "people_affected", "amount", "currency"]
    qi = [q for q in qi if q in out[0]]
    sizes = Counter(tuple(row[q] for q in qi) for row in out)
    kept = [row for row in out if sizes[tuple(row[q] for q in qi)] >= k]
    return Counter(tuple(sorted(row.items())) for row in kept)  # type: ignore[arg-type]


@pytest.mark.parametrize("k", [3, 5])
def test_extract_matches_an_independent_computation(data: Any, k: int) -> None:
    org, source = data
    request = Request((org.id,), "2025-01", "2025-12", FIELDS, k=k, max_suppressed=0.3)
    chosen = plan(db.session, request)
    got = list(rows(db.session, request, chosen.level))
    assert len(got) == chosen.rows_out > 0
    # The data is meant to need both: climbing a ladder and leaving rare rows out.
    assert chosen.level != Level() and chosen.suppressed > 0, chosen
    assert Counter(tuple(sorted(r.items())) for r in got) == _by_hand(source, chosen.level, k)
    # Achieved k, checked by a maintained library.
    qi = quasi_identifiers(request, chosen.level)
    assert anonymity.k_anonymity(pd.DataFrame(got), qi) >= k
    assert set(got[0]) == set(columns(request, chosen.level))


def test_only_research_consent_and_only_coded_fields(data: Any) -> None:
    org, source = data
    request = Request((org.id,), "2025-01", "2025-12", ("kinds", "country"), k=3)
    got = list(rows(db.session, request, Level(place=1)))
    research = [r for r in source if r["consent"] == "research" and r["status"] == "complete"]
    assert len(got) == len(research)  # by country alone nothing is rare in this data
    assert Counter(r["country"] for r in got) == Counter(r["country"] for r in research)
    with pytest.raises(ValueError, match="not a coded field"):
        Request((org.id,), "2025-01", "2025-12", ("narrative",))
    with pytest.raises(ValueError, match="never below"):
        Request((org.id,), "2025-01", "2025-12", FIELDS, k=2)


def test_refused_when_k_cannot_be_reached(data: Any) -> None:
    org, _ = data
    request = Request((org.id,), "2025-01", "2025-12", FIELDS, k=500)
    with pytest.raises(CannotAnonymise, match="would have to be dropped"):
        plan(db.session, request)


def test_sealed_extract_opens_to_the_same_rows_and_a_dictionary(data: Any,
                                                                tmp_path: Any) -> None:
    import csv
    import io
    import json

    from cryptography.hazmat.primitives.asymmetric import ec

    from app.crypto import open_export
    from app.research.deliver import write_extract

    org, _ = data
    request = Request((org.id,), "2025-01", "2025-12", FIELDS, k=5, max_suppressed=0.3)
    chosen = plan(db.session, request)
    key = ec.generate_private_key(ec.SECP256R1())
    written = write_extract(db.session, request, chosen, key.public_key(), "researcher-1",
                            "export-1", tmp_path, {"purpose": "test"}, hxl=True)
    text = open_export((tmp_path / "data.sealed").read_bytes(), key, "researcher-1")
    lines = list(csv.reader(io.StringIO(text.decode())))
    header, tags, body = lines[0], lines[1], lines[2:]
    assert tags[header.index("country")] == "#country+code"
    expected = list(rows(db.session, request, chosen.level))
    assert [dict(zip(header, line, strict=True)) for line in body] == expected
    meta = json.loads(open_export((tmp_path / "dictionary.sealed").read_bytes(), key,
                                  "researcher-1"))
    assert meta["k_achieved"] == written.achieved_k >= 5 and meta["rows"] == len(body)
    assert meta["generalisation"] == chosen.level.describe()
    assert {c["name"] for c in meta["columns"]} == set(header)
    # Another researcher's key, or a truncated file, opens nothing.
    other = ec.generate_private_key(ec.SECP256R1())
    sealed = (tmp_path / "data.sealed").read_bytes()
    for bad_key, blob in ((other, sealed), (key, sealed[:-10])):
        with pytest.raises(Exception):  # noqa: B017 - CryptoError or InvalidTag, both refusals
            open_export(blob, bad_key, "researcher-1")


def test_every_ladder_step_labels_its_period(data: Any) -> None:
    """month → quarter (2025-Q1 … Q4) → year; SQL division must stay whole on both DBs."""
    import re

    org, _ = data
    request = Request((org.id,), "2025-01", "2025-12", ("kinds", "month"), k=3)
    patterns = [r"^2025-(0[1-9]|1[0-2])$", r"^2025-Q[1-4]$", r"^2025$"]
    for period, pattern in enumerate(patterns):
        found = {row["period"] for row in rows(db.session, request, Level(period=period))}
        assert found and all(re.match(pattern, p) for p in found), found
    assert len({row["period"] for row in rows(db.session, request, Level(period=1))}) == 4
