"""Aggregations of the coded tier, computed in the database (GROUP BY, window functions),
for a scope: some organisations, a window of months, a floor of consent, and filters.

Multi-valued fields (kinds, 4P, actors, groups) are grouped by each incident's whole set of
codes (the `*_set` columns, " raid eviction "), and each group's count is then credited to
every code in its set: the database does the counting over rows, Python only splits a few
hundred groups. Every query reads the covering index ix_incident_report, not the wide rows,
which is what keeps a collective report over a million incidents well under two seconds.

Every function returns plain counts or sums keyed by codes; disclosure control
(disclosure.py) and rendering come after. No Flask here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import combinations
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, scoped_session

from app.models import Incident
from app.vocab import load

# Coded fields held in columns of incident, and those held as rows of incident_code.
COLUMN_FIELDS = {"country": Incident.country, "region": Incident.region,
                 "month": Incident.month, "work_setting": Incident.work_setting,
                 "instrument": Incident.instrument, "source": Incident.source,
                 "status": Incident.status, "consent": Incident.consent}
CODE_FIELDS = ("kinds", "four_p", "actors", "groups")
# A plain session, or Flask-SQLAlchemy's scoped one (db.session).
DbSession = Session | scoped_session[Any]


@dataclass(frozen=True)
class Scope:
    org_ids: tuple[int, ...]
    month_from: str | None = None
    month_to: str | None = None
    min_consent: str | None = None  # e.g. "aggregate" for anything that leaves an organisation
    filters: dict[str, str] = field(default_factory=dict)  # field -> code
    complete_only: bool = True  # drafts are unfinished records and are never counted

    def conditions(self) -> list[Any]:
        """WHERE clauses on `incident` that select the incidents in scope."""
        where: list[Any] = [Incident.org_id.in_(self.org_ids)]
        if self.complete_only:
            where.append(Incident.status == "complete")
        if self.month_from:
            where.append(Incident.month >= self.month_from)
        if self.month_to:
            where.append(Incident.month <= self.month_to)
        if self.min_consent:
            vocab = load()
            floor = vocab.consent_rank(self.min_consent)
            where.append(Incident.consent.in_(
                [t.code for t in vocab.lists["consent"] if t.rank >= floor]))
        for name, code in sorted(self.filters.items()):
            if name in COLUMN_FIELDS:
                where.append(COLUMN_FIELDS[name] == code)
            elif name in CODE_FIELDS:
                where.append(_set_column(name).contains(f" {code} ", autoescape=True))
            else:
                raise ValueError(f"unknown filter {name!r}")
        return where

    def incidents(self) -> sa.Select[Any]:
        """The ids of the incidents in scope."""
        return sa.select(Incident.id).where(*self.conditions())


def _set_column(name: str) -> Any:
    return getattr(Incident, f"{name}_set")


def _codes(code_set: str) -> list[str]:
    return code_set.split()


def _value(name: str) -> Any:
    if name in COLUMN_FIELDS:
        return COLUMN_FIELDS[name]
    raise ValueError(f"{name!r} is not a column field")


def set_counts(session: DbSession, scope: Scope, name: str) -> dict[str, int]:
    """Incidents per whole set of codes of a multi-valued field (" raid eviction " -> 12)."""
    column = _set_column(name)
    q = sa.select(column, sa.func.count()).where(*scope.conditions()).group_by(column)
    return {code_set: int(n) for code_set, n in session.execute(q)}


def credit(sets: dict[str, int]) -> dict[str | None, int]:
    """Each set's count credited to every code in it."""
    out: Counter[str | None] = Counter()
    for code_set, n in sets.items():
        for code in _codes(code_set):
            out[code] += n
    return dict(out)


def pairs(sets: dict[str, int]) -> dict[tuple[str, str], int]:
    """Each set's count credited to every pair of codes in it."""
    out: Counter[tuple[str, str]] = Counter()
    for code_set, n in sets.items():
        for pair in combinations(_codes(code_set), 2):
            out[pair] += n
    return dict(out)


def count_by(session: DbSession, scope: Scope, name: str) -> dict[str | None, int]:
    """Incidents per value of one coded field (an incident with two kinds counts in both)."""
    if name in CODE_FIELDS:
        return credit(set_counts(session, scope, name))
    column = _value(name)
    q = sa.select(column, sa.func.count()).where(*scope.conditions()).group_by(column)
    return {key: int(n) for key, n in session.execute(q)}


def count_with_any(session: DbSession, scope: Scope, name: str) -> int:
    """Incidents with at least one value of a multi-valued field (some groups recorded)."""
    q = sa.select(sa.func.count()).where(*scope.conditions(), _set_column(name) != " ")
    return int(session.execute(q).scalar_one())


def crosstab(session: DbSession, scope: Scope, rows: str, cols: str) -> dict[tuple[Any, Any], int]:
    """Incidents per pair of values, e.g. kind × 4P area."""
    row_value = _set_column(rows) if rows in CODE_FIELDS else _value(rows)
    col_value = _set_column(cols) if cols in CODE_FIELDS else _value(cols)
    q = (sa.select(row_value, col_value, sa.func.count()).where(*scope.conditions())
         .group_by(row_value, col_value))
    out: Counter[tuple[Any, Any]] = Counter()
    for a, b, n in session.execute(q):
        for x in (_codes(a) if rows in CODE_FIELDS else [a]):
            for y in (_codes(b) if cols in CODE_FIELDS else [b]):
                out[(x, y)] += n
    return dict(out)


def totals(session: DbSession, scope: Scope) -> dict[str, int]:
    incidents, people, days, detained = session.execute(
        # count(*), not count(id): id is not in the covering index, and never NULL anyway.
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(
            Incident.people_affected), 0), sa.func.coalesce(sa.func.sum(
                Incident.days_detained), 0), sa.func.count(Incident.days_detained))
        .where(*scope.conditions())).one()
    return {"incidents": int(incidents), "people_affected": int(people),
            "days_detained": int(days), "incidents_with_detention": int(detained)}


def amounts_by_currency(session: DbSession, scope: Scope) -> dict[str, dict[str, Any]]:
    """Sum, median and count of confiscated amounts per currency, never across currencies.
    The median is taken in SQL with window functions (SQLite and PostgreSQL alike)."""
    base = sa.select(Incident.currency.label("currency"),
                     Incident.amount_confiscated.label("amount")).where(
        *scope.conditions(), Incident.amount_confiscated.is_not(None),
        Incident.currency.is_not(None)).subquery()
    ranked = sa.select(
        base.c.currency, base.c.amount,
        sa.func.row_number().over(partition_by=base.c.currency,
                                  order_by=base.c.amount).label("n"),
        sa.func.count().over(partition_by=base.c.currency).label("total"),
    ).subquery()
    middle = sa.select(ranked.c.currency, sa.func.avg(ranked.c.amount).label("median")).where(
        ranked.c.n.in_([(ranked.c.total + 1) // 2, (ranked.c.total + 2) // 2])
    ).group_by(ranked.c.currency).subquery()
    sums = sa.select(base.c.currency, sa.func.sum(base.c.amount).label("sum"),
                     sa.func.count().label("count")).group_by(base.c.currency).subquery()
    q = sa.select(sums.c.currency, sums.c.sum, middle.c.median, sums.c.count).join(
        middle, middle.c.currency == sums.c.currency)
    return {currency: {"sum": Decimal(str(total)).quantize(Decimal("0.01")),
                       "median": Decimal(str(median)).quantize(Decimal("0.01")),
                       "count": int(count)}
            for currency, total, median, count in session.execute(q)}


def cooccurrence(session: DbSession, scope: Scope) -> dict[tuple[str, str], int]:
    """How often two kinds of harm were recorded in one incident (raid → deportation, …)."""
    return pairs(set_counts(session, scope, "kinds"))
