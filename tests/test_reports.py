"""Reports: every breakdown the engine computes in SQL equals a count by hand over the rows,
for one organisation and for a collective; a report that leaves an organisation hides
small counts, respects consent, and lets no hidden count be worked out from what it shows."""

from __future__ import annotations

import csv
import io
import random
import statistics
from collections import Counter
from decimal import Decimal
from itertools import combinations
from typing import Any

import numpy as np
import openpyxl
import pytest
from flask import Flask

from app.extensions import db
from app.models import Organisation
from app.reports import engine, export, present
from app.reports.build import Cell, Report, build
from app.reports.engine import Scope
from app.reports.params import ReportParams, Window
from app.reports.service import _orders
from tests.report_data import add_incidents

WINDOW = Window("2025-04", "2025-09")
RANKS = {"org_only": 0, "aggregate": 1, "research": 2}


@pytest.fixture
def dataset(app: Flask) -> dict[str, Any]:
    rng = random.Random(11)
    orgs = [Organisation(name=f"Org {i}") for i in range(3)]
    db.session.add_all(orgs)
    db.session.commit()
    rows = []
    for org in orgs:
        rows += add_incidents(org, 140, rng)
    return {"orgs": orgs, "rows": rows}


def _selected(rows: list[dict[str, Any]], org_ids: set[int], floor: str | None,
              **filters: str) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        if r["org_id"] not in org_ids or r["status"] != "complete":
            continue
        if not WINDOW.start <= r["month"] <= WINDOW.end:
            continue
        if floor and RANKS[r["consent"]] < RANKS[floor]:
            continue
        if any((value not in r[name]) if isinstance(r[name], list) else r[name] != value
               for name, value in filters.items()):
            continue
        out.append(r)
    return out


def _by_hand(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Every breakdown, counted in plain Python over the rows."""
    out: dict[str, Any] = {}
    for name in ("four_p", "kinds", "actors", "groups"):
        out[name] = Counter(code for r in rows for code in r[name])
    for name in ("instrument", "country", "region", "month", "work_setting"):
        out[name] = Counter(r[name] for r in rows)
    out["kind_by_p"] = Counter((k, p) for r in rows for k in r["kinds"] for p in r["four_p"])
    out["country_region"] = Counter((r["country"], r["region"]) for r in rows)
    out["pairs"] = Counter(pair for r in rows for pair in combinations(sorted(r["kinds"]), 2))
    out["totals"] = {"incidents": len(rows),
                     "people_affected": sum(r["people_affected"] for r in rows),
                     "days_detained": sum(r["days_detained"] or 0 for r in rows),
                     "incidents_with_detention": sum(r["days_detained"] is not None
                                                     for r in rows)}
    out["with_groups"] = sum(bool(r["groups"]) for r in rows)
    amounts: dict[str, list[Decimal]] = {}
    for r in rows:
        if r["amount"] is not None:
            amounts.setdefault(r["currency"], []).append(r["amount"])
    out["amounts"] = {c: {"sum": sum(v, Decimal(0)), "count": len(v),
                          "median": Decimal(statistics.median(v)).quantize(Decimal("0.01"))}
                      for c, v in amounts.items()}
    return out


def _by_engine(scope: Scope) -> dict[str, Any]:
    s = db.session
    out: dict[str, Any] = {name: Counter(engine.count_by(s, scope, name)) for name in (
        "four_p", "kinds", "actors", "groups", "instrument", "country", "region", "month",
        "work_setting")}
    out["kind_by_p"] = Counter(engine.crosstab(s, scope, "kinds", "four_p"))
    out["country_region"] = Counter(engine.crosstab(s, scope, "country", "region"))
    out["pairs"] = Counter(engine.cooccurrence(s, scope))
    out["totals"] = engine.totals(s, scope)
    out["with_groups"] = engine.count_with_any(s, scope, "groups")
    out["amounts"] = engine.amounts_by_currency(s, scope)
    return out


@pytest.mark.parametrize("collective", [False, True], ids=["organisation", "collective"])
def test_every_breakdown_matches_a_count_by_hand(dataset: dict[str, Any],
                                                 collective: bool) -> None:
    orgs = dataset["orgs"][:2] if collective else dataset["orgs"][:1]
    floor = "aggregate" if collective else None
    ids = {o.id for o in orgs}
    scope = Scope(tuple(ids), WINDOW.start, WINDOW.end, floor)
    expected = _by_hand(_selected(dataset["rows"], ids, floor))
    assert expected["totals"]["incidents"] > 50  # the dataset really exercises the engine
    got = _by_engine(scope)
    for name, value in expected.items():
        assert got[name] == value, name


@pytest.mark.parametrize("name,code", [
    ("kinds", "raid"), ("four_p", "protection"), ("actors", "police"),
    ("groups", "asylum_seeker"), ("country", "PT"), ("region", "PT-11"),
    ("instrument", "end_demand_law"), ("work_setting", "online")])
def test_filters_select_what_a_person_would(dataset: dict[str, Any], name: str,
                                            code: str) -> None:
    ids = {o.id for o in dataset["orgs"]}
    scope = Scope(tuple(ids), WINDOW.start, WINDOW.end, "aggregate", {name: code})
    expected = _by_hand(_selected(dataset["rows"], ids, "aggregate", **{name: code}))
    assert expected["totals"]["incidents"] > 0
    got = _by_engine(scope)
    assert got["totals"] == expected["totals"]
    assert got["kinds"] == expected["kinds"] and got["country"] == expected["country"]


def _report(dataset: dict[str, Any], k: int | None, orgs: int = 3,
            compare: Window | None = None) -> Report:
    ids = tuple(o.id for o in dataset["orgs"][:orgs])
    params = ReportParams("org" if k is None else "00000000-0000-0000-0000-000000000000",
                          WINDOW, compare)
    from datetime import UTC, datetime
    return build(db.session, params, ids, k, _orders(), datetime.now(UTC), 1, [])


def test_internal_report_shows_exact_counts_of_every_consent(dataset: dict[str, Any]) -> None:
    report = _report(dataset, None, orgs=1)
    org_id = dataset["orgs"][0].id
    expected = _by_hand(_selected(dataset["rows"], {org_id}, None))
    counts = report.counts[0]
    assert counts.incidents == expected["totals"]["incidents"]
    assert {k: c.value for k, c in counts.lines["kinds"].items() if c.value} == \
        dict(expected["kinds"])
    assert any(0 < c.value < 5 for c in counts.kind_by_p.values() if c.value)  # no hiding


# Disclosure control on the whole report.

def _published_equations(report: Report) -> tuple[list[dict[Any, int]], dict[Any, int | None]]:
    """The additivity a reader may assume between the published figures (the conservative
    one: as if every incident had one kind, one area, ...). Positions are (table, key)."""
    counts = report.counts[0]
    values: dict[Any, int | None] = {}
    equations: list[dict[Any, int]] = []
    total = counts.incidents
    for name in ("four_p", "kinds", "actors", "instrument", "country", "work_setting",
                 "groups"):
        eq: dict[Any, int] = {}
        for key, cell in counts.lines[name].items():
            values[(name, key)] = cell.value
            eq[(name, key)] = 1
        eq[("total", None)] = -1
        equations.append(eq)
    eq = {("month", m): 1 for m in counts.months} | {("total", None): -1}
    values |= {("month", m): c.value for m, c in counts.months.items()}
    equations.append(eq)
    values[("total", None)] = total
    for (kind, area), cell in counts.kind_by_p.items():
        values[("x", (kind, area))] = cell.value
    for row in counts.lines["kinds"]:
        equations.append({("x", (row, a)): 1 for a in counts.lines["four_p"]}
                         | {("kinds", row): -1})
    for col in counts.lines["four_p"]:
        equations.append({("x", (r, col)): 1 for r in counts.lines["kinds"]}
                         | {("four_p", col): -1})
    for country in {c for c, _ in counts.regions}:
        eq = {("region", key): 1 for key in counts.regions if key[0] == country}
        eq[("country", country)] = -1
        equations.append(eq)
    values |= {("region", key): cell.value for key, cell in counts.regions.items()}
    return equations, values


def _recoverable(equations: list[dict[Any, int]], values: dict[Any, int | None]) -> list[Any]:
    """Hidden positions pinned down by the equations (numpy, independent of the module)."""
    unknowns = [pos for pos, v in values.items() if v is None]
    if not unknowns:
        return []
    index = {pos: i for i, pos in enumerate(unknowns)}
    matrix = np.array([[eq.get(pos, 0) for pos in unknowns] for eq in equations
                       if any(pos in index for pos in eq)], dtype=float)
    if matrix.size == 0:
        return []
    _, s, vt = np.linalg.svd(matrix)
    rank = int((s > 1e-9).sum())
    null = vt[rank:]
    return [pos for pos, i in index.items() if np.allclose(null[:, i], 0, atol=1e-9)]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [3, 5, 8])
def test_no_hidden_count_can_be_worked_out_from_the_published_report(
        app: Flask, k: int, seed: int) -> None:
    """Small random datasets (many small cells), several thresholds: the linear-equations
    attacker recovers nothing."""
    rng = random.Random(seed)
    org = Organisation(name=f"Small {seed}")
    db.session.add(org)
    db.session.commit()
    add_incidents(org, rng.randint(12 + 4 * k, 40 + 4 * k), rng, months=WINDOW.months(),
                  status="complete",
                  consent="aggregate")
    from datetime import UTC, datetime
    report = build(db.session, ReportParams("x", WINDOW), (org.id,), k, _orders(),
                   datetime.now(UTC), 1, [])
    equations, values = _published_equations(report)
    hidden = [pos for pos, v in values.items() if v is None]
    assert hidden, "the dataset is meant to have small cells"
    assert _recoverable(equations, values) == []


@pytest.mark.parametrize("seed", range(3))
def test_small_counts_hidden_and_shown_counts_true(app: Flask, seed: int) -> None:
    k = 5
    org = Organisation(name="Small")
    db.session.add(org)
    db.session.commit()
    rows = add_incidents(org, 60, random.Random(seed), months=WINDOW.months())
    from datetime import UTC, datetime
    report = build(db.session, ReportParams("x", WINDOW), (org.id,), k, _orders(),
                   datetime.now(UTC), 1, [])
    truth = _by_hand(_selected(rows, {org.id}, "aggregate"))
    counts = report.counts[0]
    assert counts.incidents == truth["totals"]["incidents"]
    checks: list[tuple[dict[Any, Cell], Counter[Any]]] = [
        (counts.lines[name], truth[name]) for name in ("four_p", "kinds", "actors",
                                                       "country", "work_setting")]
    checks += [(counts.kind_by_p, truth["kind_by_p"]), (counts.pairs, truth["pairs"]),
               (counts.months, truth["month"])]
    small = 0
    for published, true in checks:
        for key, cell in published.items():
            value = true.get(key, 0)
            if 0 < value < k:
                small += 1
                assert cell.value is None and cell.hidden == "small", key
            else:
                assert cell.value in (None, value), key
    assert small > 0


def test_consent_is_respected(dataset: dict[str, Any]) -> None:
    for row in dataset["rows"]:
        row["_counted"] = False
    report = _report(dataset, 5)
    ids = {o.id for o in dataset["orgs"]}
    everything = _selected(dataset["rows"], ids, None)
    allowed = _selected(dataset["rows"], ids, "aggregate")
    assert len(everything) > len(allowed)
    assert report.counts[0].incidents == len(allowed)
    assert report.counts[0].people == sum(r["people_affected"] for r in allowed)


def test_no_sum_for_a_hidden_cell(app: Flask) -> None:
    org = Organisation(name="Sums")
    db.session.add(org)
    db.session.commit()
    rng = random.Random(3)
    add_incidents(org, 12, rng, months=["2025-05"], consent="aggregate", status="complete",
                  amount=Decimal("100.00"), currency="EUR", days_detained=None)
    add_incidents(org, 2, rng, months=["2025-05"], consent="aggregate", status="complete",
                  amount=Decimal("7777.00"), currency="THB", days_detained=4)
    add_incidents(org, 8, rng, months=["2025-05"], consent="aggregate", status="complete",
                  amount=Decimal("50.00"), currency="UAH", days_detained=None)
    params = ReportParams("x", WINDOW)
    from datetime import UTC, datetime
    report = build(db.session, params, (org.id,), 5, _orders(), datetime.now(UTC), 1, [])
    counts = report.counts[0]
    cell, total, median = counts.amounts["THB"]
    assert cell.hidden == "small" and total is None and median is None
    # With the number of incidents with an amount published, one more currency must go
    # (the smallest), or THB's count would be the difference.
    cell, total, median = counts.amounts["UAH"]
    assert cell.hidden == "withheld" and total is None and median is None
    assert counts.amounts["EUR"][0].value == 12
    assert counts.amounts["EUR"][1] == Decimal("1200.00")
    assert counts.detention.value is None and counts.days is None  # 2 incidents: hidden


def test_too_few_incidents_shows_nothing(app: Flask) -> None:
    org = Organisation(name="Few")
    db.session.add(org)
    db.session.commit()
    add_incidents(org, 3, random.Random(5), months=["2025-05"], consent="research",
                  status="complete")
    from datetime import UTC, datetime
    report = build(db.session, ReportParams("x", WINDOW), (org.id,), 5, _orders(),
                   datetime.now(UTC), 1, [])
    assert report.too_small and not report.counts[0].lines
    assert report.counts[0].people is None
    # Not even their number leaves: no figure in the page's headline, the CSV or the XLSX.
    with app.test_request_context():
        assert present.headline_figures(report) == []
        table = list(csv.reader(io.StringIO(export.csv_bytes(report).decode("utf-8-sig"))))
        book = openpyxl.load_workbook(io.BytesIO(export.xlsx(report)))
    assert not any(cell == "3" for row in table for cell in row)
    summary = [cell.value for row in book.active.iter_rows() for cell in row]
    assert not any(isinstance(value, int | float) for value in summary), summary


def test_a_small_comparison_window_shows_none_of_its_figures(
        app: Flask, dataset: dict[str, Any]) -> None:
    """The report's window is large enough, the window it is compared with is not: the
    comparison column hides every figure, its 'all incidents' totals too, and no change."""
    earlier = Window("2023-01", "2023-03")
    add_incidents(dataset["orgs"][0], 3, random.Random(8), months=["2023-02"],
                  consent="research", status="complete")
    report = _report(dataset, 5, compare=earlier)
    assert report.counts[1].incidents == 3 and not report.too_small
    with app.test_request_context():
        tables = present.tables(report)
        records = list(csv.reader(io.StringIO(export.csv_bytes(report).decode("utf-8-sig"))))
        label = present.window_label(earlier)
    assert sum(len(t.total[1]) > 1 for t in tables if t.total is not None) >= 3
    for table in tables:
        for _label, cells, change in table.rows:
            assert all(c.value is None for c in cells[1:]) and change is None, table.title
        if table.total is not None and len(table.total[1]) > 1:
            assert table.total[1][1].value is None, table.title
            assert table.total[1][0].value is not None, table.title
    compared = [row for row in records if len(row) == 5 and row[2] == label]
    assert compared and all(row[3] == "" for row in compared)


def test_comparison_of_two_windows(dataset: dict[str, Any]) -> None:
    before = Window("2024-10", "2025-03")
    report = _report(dataset, None, orgs=1, compare=before)
    org_id = dataset["orgs"][0].id
    now = _by_hand(_selected(dataset["rows"], {org_id}, None))
    # The dataset's months are all in 2025, so the earlier window holds Jan–Mar only.
    earlier = [r for r in dataset["rows"] if r["org_id"] == org_id and r["status"] ==
               "complete" and before.start <= r["month"] <= before.end]
    assert report.counts[1].incidents == len(earlier)
    from app.reports.build import rows
    by_kind = {row.key: row for row in rows(report, lambda c: c.lines["kinds"])}
    earlier_kinds = Counter(k for r in earlier for k in r["kinds"])
    for kind, row in by_kind.items():
        assert row.change == now["kinds"].get(kind, 0) - earlier_kinds.get(kind, 0)
