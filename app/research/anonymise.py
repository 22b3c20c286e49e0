"""Anonymised research extracts (issue 7): record-level rows of coded fields only, with the
quasi-identifiers generalised along fixed ladders and rare combinations suppressed until every
combination occurs at least k times.

Quasi-identifiers (DOMAIN.md): place (region, else country), period (month → quarter →
year), work setting, groups, and the numbers a reader could match against a news story
(people affected, amount taken, days detained) — always in bands, coarser bands one level up.
Kinds, 4P areas, actors, measures and source are what researchers study; they are not
generalised (documented in the data dictionary).

Everything is done in the database and streamed: the choice of generalisation asks SQL only
for "how many rows would be suppressed" (a GROUP BY inside an aggregate), and the rows come
with their combination's size from a window function, so memory does not grow with the data.
No Flask here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import product
from typing import Any

import sqlalchemy as sa

from app.models import Incident
from app.reports.engine import DbSession
from app.vocab import load

MIN_K = 3
DEFAULT_K = 5
MAX_SUPPRESSED = 0.05  # refuse an extract that would drop more than 5 % of its rows

# Fields a researcher may ask for: coded fields only, never the sealed tier or free text.
FIELDS = ("kinds", "four_p", "actors", "instrument", "country", "region", "month",
          "work_setting", "groups", "people_affected", "amount_confiscated",
          "days_detained", "source")
# Ladders: level 0 is the finest allowed.
PLACE = ("region", "country")
PERIOD = ("month", "quarter", "year")
BANDS = ("bands", "coarse bands")


@dataclass(frozen=True)
class Level:
    place: int = 0   # index into PLACE
    period: int = 0  # index into PERIOD
    bands: int = 0   # index into BANDS

    def describe(self) -> dict[str, str]:
        return {"place": PLACE[self.place], "period": PERIOD[self.period],
                "numbers": BANDS[self.bands]}


@dataclass(frozen=True)
class Request:
    org_ids: tuple[int, ...]
    month_from: str
    month_to: str
    fields: tuple[str, ...]
    k: int = DEFAULT_K
    max_suppressed: float = MAX_SUPPRESSED

    def __post_init__(self) -> None:
        unknown = set(self.fields) - set(FIELDS)
        if unknown:
            raise ValueError(f"not a coded field that can be extracted: {sorted(unknown)}")
        if self.k < MIN_K:
            raise ValueError(f"k is never below {MIN_K}")


@dataclass
class Plan:
    """The generalisation chosen, and what it costs."""

    level: Level
    rows_in: int
    suppressed: int
    tried: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rows_out(self) -> int:
        return self.rows_in - self.suppressed


class CannotAnonymise(ValueError):
    """No generalisation on the ladders reaches k without losing too many rows. `details`
    holds the figures (the caller words them for the reader: no Flask here); the message,
    in English, is for logs and tests."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.details = details


def _band(column: Any, edges: list[tuple[int, str]], none: str = "") -> Any:
    """CASE column < edge THEN label ...; the last label for the rest."""
    whens = [(column < edge, label) for edge, label in edges[:-1]]
    return sa.case((column.is_(None), none), *whens, else_=edges[-1][1])


def _expressions(request: Request, level: Level) -> dict[str, Any]:
    """The output columns as SQL expressions at a level of generalisation."""
    f: set[str] = set(request.fields)
    out: dict[str, Any] = {}
    if "region" in f and level.place == 0:
        out["region"] = sa.func.coalesce(Incident.region, "")
    if "country" in f or "region" in f:
        out["country"] = Incident.country
    if "month" in f:
        year = sa.func.substr(Incident.month, 1, 4, type_=sa.String)
        month = sa.cast(sa.func.substr(Incident.month, 6, 2, type_=sa.String), sa.Integer)
        quarter = year + "-Q" + sa.cast((month + 2) // 3, sa.String)  # // : whole numbers
        out["period"] = (Incident.month, quarter, year)[level.period]
    if "work_setting" in f:
        out["work_setting"] = Incident.work_setting
    if "groups" in f:
        out["groups"] = Incident.groups_set
    if "people_affected" in f:
        out["people_affected"] = _band(Incident.people_affected, [
            (2, "1"), (5, "2-4"), (10, "5-9"), (0, "10+")] if level.bands == 0 else [
            (2, "1"), (0, "2+")])
    if "amount_confiscated" in f:
        out["amount"] = _band(Incident.amount_confiscated, [
            (100, "<100"), (1000, "100-999"), (10000, "1000-9999"), (0, "10000+")]
            if level.bands == 0 else [(1000, "<1000"), (0, "1000+")])
        out["currency"] = sa.func.coalesce(Incident.currency, "")
    if "days_detained" in f:
        out["days_detained"] = _band(Incident.days_detained, [
            (1, "0"), (8, "1-7"), (31, "8-30"), (0, "31+")] if level.bands == 0 else [
            (1, "0"), (0, "1+")])
    return out


# What an organisation's own actor or measure becomes in an extract: its code is made from the
# label a coordinator typed (free text, and it tells which organisation recorded the incident).
OWN_TERM = "org_term"
QUASI = ("region", "country", "period", "work_setting", "groups", "people_affected",
         "amount", "currency", "days_detained")
PLAIN = {"kinds": Incident.kinds_set, "four_p": Incident.four_p_set,
         "actors": Incident.actors_set, "instrument": Incident.instrument,
         "source": Incident.source}


def _where(request: Request) -> list[Any]:
    return [Incident.org_id.in_(request.org_ids), Incident.status == "complete",
            Incident.consent == "research", Incident.month >= request.month_from,
            Incident.month <= request.month_to]


def count_rows(session: DbSession, request: Request) -> int:
    """Incidents that may go into an extract of this scope and window (before any k)."""
    return int(session.execute(sa.select(sa.func.count()).where(*_where(request)))
               .scalar_one())


def quasi_identifiers(request: Request, level: Level) -> list[str]:
    return [name for name in QUASI if name in _expressions(request, level)]


def levels(request: Request) -> list[Level]:
    """Candidate levels, least generalised first."""
    f = set(request.fields)
    places = range(2) if "region" in f else range(1, 2)
    periods = range(3) if "month" in f else range(1)
    bands = range(2) if f & {"people_affected", "amount_confiscated", "days_detained"} \
        else range(1)
    found = [Level(p, q, b) for p, q, b in product(places, periods, bands)]
    # Fewer steps up the ladders first; among equals, coarsen numbers, then time, then place.
    return sorted(found, key=lambda v: (v.place + v.period + v.bands, v.place, v.period))


def cost(session: DbSession, request: Request, level: Level) -> tuple[int, int, int]:
    """(rows, rows that would be suppressed, smallest kept combination) at a level, in SQL."""
    exprs = _expressions(request, level)
    qi = [exprs[name] for name in quasi_identifiers(request, level)]
    sizes = (sa.select(sa.func.count().label("n")).where(*_where(request)).group_by(*qi)
             if qi else sa.select(sa.func.count().label("n")).where(*_where(request)))
    sizes_q = sizes.subquery()
    rows, lost, smallest = session.execute(sa.select(
        sa.func.coalesce(sa.func.sum(sizes_q.c.n), 0),
        sa.func.coalesce(sa.func.sum(sa.case((sizes_q.c.n < request.k, sizes_q.c.n),
                                             else_=0)), 0),
        sa.func.min(sa.case((sizes_q.c.n >= request.k, sizes_q.c.n))))).one()
    return int(rows), int(lost), int(smallest or 0)


def plan(session: DbSession, request: Request) -> Plan:
    tried = []
    for level in levels(request):
        rows, lost, _ = cost(session, request, level)
        tried.append(level.describe() | {"rows": rows, "suppressed": lost})
        if rows == 0:
            raise CannotAnonymise("No incidents in this scope and window allow research use.",
                                  rows=0)
        if lost <= request.max_suppressed * rows:
            return Plan(level, rows, lost, tried)
    raise CannotAnonymise(
        f"Even at the coarsest level ({tried[-1]['place']}, {tried[-1]['period']}, "
        f"{tried[-1]['numbers']}) {tried[-1]['suppressed']} of {tried[-1]['rows']} rows would "
        f"have to be dropped to reach k = {request.k}, more than "
        f"{request.max_suppressed:.0%}. Ask for fewer fields, a wider window or a smaller k.",
        rows=tried[-1]["rows"], dropped=tried[-1]["suppressed"], k=request.k,
        limit=request.max_suppressed, level=tried[-1])


def columns(request: Request, level: Level) -> list[str]:
    plain = [name for name in ("kinds", "four_p", "actors", "instrument", "source")
             if name in request.fields]
    return [*plain, *quasi_identifiers(request, level)]


def rows(session: DbSession, request: Request, level: Level,
         batch: int = 2000) -> Iterator[dict[str, str]]:
    """The extract's rows, generalised, rare combinations left out, streamed from the
    database in batches (a server-side cursor on PostgreSQL)."""
    exprs = _expressions(request, level)
    qi_names = quasi_identifiers(request, level)
    wanted = columns(request, level)
    labelled = [(PLAIN[name] if name in PLAIN else exprs[name]).label(name) for name in wanted]
    qi = [exprs[name] for name in qi_names]
    size = sa.func.count().over(partition_by=qi) if qi else sa.func.count().over()
    inner = sa.select(*labelled, size.label("combination"), Incident.id.label("ident")).where(
        *_where(request)).subquery()
    query = (sa.select(*(inner.c[name] for name in wanted)).where(
        inner.c.combination >= request.k).order_by(*(inner.c[n] for n in qi_names),
                                                   inner.c.ident))
    result = session.execute(query.execution_options(stream_results=True, yield_per=batch))
    shared = shared_codes()
    for record in result:
        yield {name: _text(name, value, shared.get(name))
               for name, value in zip(wanted, record, strict=True)}


def shared_codes() -> dict[str, frozenset[str]]:
    """The shared vocabulary's actors and measures: any other code is an organisation's own."""
    vocab = load()
    return {"actors": frozenset(vocab.codes("actors")),
            "instrument": frozenset(vocab.codes("instruments"))}


def _text(name: str, value: Any, shared: frozenset[str] | None = None) -> str:
    if value is None:
        return ""
    codes = str(value).split()
    if shared is not None:  # an organisation's own code is made from its free-text label
        codes = sorted({c if c in shared else OWN_TERM for c in codes})
    if name in ("kinds", "four_p", "actors", "groups"):
        return ";".join(codes)
    return " ".join(codes)


def achieved_k(output: Iterator[dict[str, str]], qi_names: list[str]) -> tuple[int, int]:
    """(smallest combination, rows) measured on rows as they leave — for the dictionary."""
    sizes: Counter[tuple[str, ...]] = Counter()
    n = 0
    for row in output:
        sizes[tuple(row[name] for name in qi_names)] += 1
        n += 1
    return (min(sizes.values()) if sizes else 0), n
