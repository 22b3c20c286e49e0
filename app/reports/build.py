"""A report: the engine's counts for a scope and window(s), with disclosure control when the
report leaves the organisation, labelled and ready to render as HTML, PDF, CSV or XLSX.

Disclosure control (DOMAIN.md) for a report that leaves an organisation:
- only incidents with consent `aggregate` or wider, complete (not drafts);
- a report over fewer than k incidents shows no figures at all;
- every one-way table (by kind, 4P, actor, ...) is protected as a line that adds up to the
  number of incidents, even for fields where an incident can have several values: a reader
  may assume one value each, so the conservative equation is the safe one;
- kind × 4P is protected together with the kind and 4P tables (its margins are those
  tables), regions together with their country;
- sums and medians only for cells that are shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from app.reports import engine
from app.reports.disclosure import TOTAL, protect, protect_line
from app.reports.engine import DbSession, Scope
from app.reports.params import ReportParams, Window

Label = Callable[[str, str | None], str]  # (list name, code) -> label in the reader's language

SMALL, WITHHELD = "small", "withheld"
LINES = (  # one-way tables: key, coded field, vocabulary list (for order and labels)
    ("four_p", "four_p", "four_p"), ("kinds", "kinds", "kinds"),
    ("actors", "actors", "actors"), ("instrument", "instrument", "instruments"),
    ("country", "country", None), ("work_setting", "work_setting", "work_settings"),
    ("groups", "groups", "groups"))
ALL_ROWS = ("four_p", "kinds")  # tables that list every code, zeros included


@dataclass(frozen=True)
class Cell:
    value: int | None
    hidden: str = ""  # "", SMALL ("fewer than k") or WITHHELD (so a small one stays hidden)


@dataclass
class Counts:
    """One window's figures, protected or exact, keyed by code."""

    incidents: int
    lines: dict[str, dict[str | None, Cell]] = field(default_factory=dict)
    line_totals: dict[str, Cell] = field(default_factory=dict)
    regions: dict[tuple[str, str | None], Cell] = field(default_factory=dict)
    kind_by_p: dict[tuple[str, str], Cell] = field(default_factory=dict)
    pairs: dict[tuple[str, str], Cell] = field(default_factory=dict)
    months: dict[str, Cell] = field(default_factory=dict)
    people: int | None = None
    detention: Cell = Cell(0)
    days: int | None = None
    amounts: dict[str, tuple[Cell, Decimal | None, Decimal | None]] = field(default_factory=dict)
    amounts_total: Cell = Cell(0)
    nothing_shown: bool = False  # fewer than k incidents in a protected report

    def total(self, key: str) -> Cell:
        """A table's 'all incidents' cell: hidden with everything else when too few."""
        if self.nothing_shown:
            return Cell(None, SMALL)
        return self.line_totals.get(key, Cell(self.incidents))


@dataclass
class Report:
    params: ReportParams
    k: int | None  # None for an organisation's internal report (exact counts)
    windows: list[Window]
    counts: list[Counts]
    generated_at: datetime
    vocab_version: int
    org_count: int
    named_orgs: list[str]
    case_studies: list[dict[str, Any]]
    term_labels: dict[tuple[str, str], str] = field(default_factory=dict)
    labels: dict[str, dict[str, str]] = field(default_factory=dict)  # present.label's cache
    scope_label: str = ""

    @property
    def protected(self) -> bool:
        return self.k is not None

    @property
    def empty(self) -> bool:
        return self.counts[0].incidents == 0

    @property
    def too_small(self) -> bool:
        """Fewer than k incidents: nothing can be shown without singling someone out."""
        return self.k is not None and 0 < self.counts[0].incidents < self.k


@dataclass(frozen=True)
class TableRow:
    key: Any
    cells: list[Cell]  # one per window: the report's, then the comparison's

    @property
    def change(self) -> int | None:
        if len(self.cells) < 2 or self.cells[0].value is None or self.cells[1].value is None:
            return None
        return self.cells[0].value - self.cells[1].value


def rows(report: Report, pick: Callable[[Counts], dict[Any, Cell]]) -> list[TableRow]:
    """One row per key seen in any window, in the order of the report's own window."""
    keys: list[Any] = []
    for counts in report.counts:
        keys += [key for key in pick(counts) if key not in keys]
    def missing(counts: Counts) -> Cell:
        return Cell(None, SMALL) if counts.nothing_shown else Cell(0)

    return [TableRow(key, [pick(c).get(key, missing(c)) for c in report.counts])
            for key in keys]


def _exact(values: dict[Any, int]) -> dict[Any, Cell]:
    return {key: Cell(v) for key, v in values.items()}


def _from_line(keys: list[Any], counts: list[int], k: int,
               forced: set[int] | None = None, with_total: bool = True,
               ) -> tuple[dict[Any, Cell], Cell]:
    line = protect_line(counts, k, forced or set(), with_total=with_total)
    cells = {}
    for i, key in enumerate(keys):
        state = SMALL if 0 < counts[i] < k else WITHHELD if i in line.hidden() else ""
        cells[key] = Cell(None if state else counts[i], state)
    total = sum(counts)
    total_state = (SMALL if 0 < total < k else WITHHELD if TOTAL in line.hidden() else "")
    return cells, Cell(None if total_state else total, total_state)


def _ordered(counts: dict[str | None, int], order: tuple[str, ...] | None,
             all_rows: bool) -> list[str | None]:
    if order is None:
        return sorted(counts, key=lambda c: (-counts[c], c or ""))
    known = [c for c in order if all_rows or counts.get(c)]
    return known + sorted((c for c in counts if c not in order and c is not None),
                          key=str) + ([None] if None in counts else [])


def count_window(session: DbSession, scope: Scope, window: Window, k: int | None,
                 orders: dict[str, tuple[str, ...] | None]) -> Counts:
    """All breakdowns for one window; protected when k is given."""
    totals = engine.totals(session, scope)
    n = totals["incidents"]
    out = Counts(incidents=n)
    raw: dict[str, dict[str | None, int]] = {}
    kind_sets = engine.set_counts(session, scope, "kinds")  # kinds and their pairs, one query
    for key, name, _list in LINES:
        counts = (engine.credit(kind_sets) if key == "kinds"
                  else engine.count_by(session, scope, name))
        if key == "instrument" and n:
            counts.setdefault(None, 0)
        if key == "groups":
            counts[None] = n - engine.count_with_any(session, scope, "groups")
        raw[key] = {c: counts.get(c, 0) for c in _ordered(counts, orders.get(key),
                                                          key in ALL_ROWS)}
    month_counts = engine.count_by(session, scope, "month")
    months = {m: month_counts.get(m, 0) for m in window.months()}
    regions = engine.crosstab(session, scope, "country", "region")
    cross = engine.crosstab(session, scope, "kinds", "four_p")
    pairs = engine.pairs(kind_sets)
    amounts = engine.amounts_by_currency(session, scope)
    out.people = totals["people_affected"]
    out.days = totals["days_detained"]
    out.detention = Cell(totals["incidents_with_detention"])
    if k is None:
        out.lines = {key: _exact(v) for key, v in raw.items()}
        out.line_totals = {key: Cell(n) for key in raw}
        out.months, out.regions = _exact(months), _exact(regions)
        out.kind_by_p, out.pairs = _exact(cross), _exact(pairs)
        out.amounts = {c: (Cell(a["count"]), a["sum"], a["median"]) for c, a in amounts.items()}
        out.amounts_total = Cell(sum(a["count"] for a in amounts.values()))
        return out
    if n < k:  # nothing is shown; the page says why
        out.nothing_shown = n > 0
        out.people = out.days = None
        out.detention = Cell(None, SMALL if n else "")
        return out
    for key, values in raw.items():
        if key in ("kinds", "four_p"):
            continue
        out.lines[key], out.line_totals[key] = _from_line(list(values), list(values.values()), k)
    _protect_kind_by_p(out, raw["kinds"], raw["four_p"], cross, k)
    out.months, out.line_totals["month"] = _from_line(list(months), list(months.values()), k)
    _protect_regions(out, regions, k)
    pair_keys = sorted(pairs)
    out.pairs, _ = _from_line(pair_keys, [pairs[p] for p in pair_keys], k, with_total=False)
    currencies = sorted(amounts)
    cells, out.amounts_total = _from_line(currencies, [amounts[c]["count"] for c in currencies], k)
    out.amounts = {c: (cells[c], amounts[c]["sum"] if cells[c].value is not None else None,
                       amounts[c]["median"] if cells[c].value is not None else None)
                   for c in currencies}
    detained = totals["incidents_with_detention"]
    out.detention = Cell(detained) if detained == 0 or detained >= k else Cell(None, SMALL)
    out.days = totals["days_detained"] if out.detention.value else None
    return out


def _protect_kind_by_p(out: Counts, kinds: dict[str | None, int], four_p: dict[str | None, int],
                       cross: dict[tuple[str, str], int], k: int) -> None:
    """Kind × 4P with the kind and 4P tables as its margins, protected as one system."""
    rows = [c for c in kinds if c is not None]
    cols = [c for c in four_p if c is not None]
    table = [[cross.get((r, c), 0) for c in cols] for r in rows]
    # A kind (or area) whose incident count is small is hidden as a margin too.
    forced = {(i, len(cols)) for i, r in enumerate(rows) if 0 < kinds[r] < k}
    forced |= {(len(rows), j) for j, c in enumerate(cols) if 0 < four_p[c] < k}
    p = protect(table, k, forced)

    def cell(value: int, hidden: bool) -> Cell:
        return Cell(None, SMALL if 0 < value < k else WITHHELD) if hidden else Cell(value)

    out.kind_by_p = {(r, c): cell(table[i][j], (i, j) in p.hidden())
                     for i, r in enumerate(rows) for j, c in enumerate(cols)}
    out.lines["kinds"] = {r: cell(kinds[r], (i, len(cols)) in p.hidden())
                          for i, r in enumerate(rows)}
    out.lines["four_p"] = {c: cell(four_p[c], (len(rows), j) in p.hidden())
                           for j, c in enumerate(cols)}
    n = out.incidents
    out.line_totals["kinds"] = out.line_totals["four_p"] = Cell(n)


def _protect_regions(out: Counts, regions: dict[tuple[str, str], int], k: int) -> None:
    """Regions within each country: a line adding up to the country's count, whose total is
    hidden when the country is."""
    countries = sorted({country for country, region in regions if region is not None})
    for country in countries:
        keys = sorted((key for key in regions if key[0] == country),
                      key=lambda key: (key[1] is None, key[1] or ""))
        hidden_country = out.lines["country"].get(country, Cell(0)).value is None
        cells, _ = _from_line(keys, [regions[key] for key in keys], k,
                              {TOTAL} if hidden_country else set())
        out.regions.update(cells)


def build(session: DbSession, params: ReportParams, org_ids: tuple[int, ...], k: int | None,
          orders: dict[str, tuple[str, ...] | None], now: datetime, vocab_version: int,
          named_orgs: list[str]) -> Report:
    windows = [params.window] + ([params.compare] if params.compare else [])
    floor = "aggregate" if k is not None else None
    counts = [count_window(session, Scope(org_ids, w.start, w.end, floor, params.filters),
                           w, k, orders) for w in windows]
    return Report(params=params, k=k, windows=windows, counts=counts, generated_at=now,
                  vocab_version=vocab_version, org_count=len(org_ids), named_orgs=named_orgs,
                  case_studies=[])
