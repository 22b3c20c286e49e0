"""Aggregations of the coded tier, computed in the database (GROUP BY, window functions),
for a scope: some organisations, a window of months, a floor of consent, and filters.

Every function returns plain counts or sums keyed by codes; disclosure control
(disclosure.py) and rendering come after. No Flask here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased, scoped_session

from app.models import Incident, IncidentCode
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

    def incidents(self) -> sa.Select[Any]:
        """The ids of the incidents in scope, as a subquery to join to."""
        q = sa.select(Incident.id).where(Incident.org_id.in_(self.org_ids))
        if self.month_from:
            q = q.where(Incident.month >= self.month_from)
        if self.month_to:
            q = q.where(Incident.month <= self.month_to)
        if self.min_consent:
            vocab = load()
            floor = vocab.consent_rank(self.min_consent)
            allowed = [t.code for t in vocab.lists["consent"] if t.rank >= floor]
            q = q.where(Incident.consent.in_(allowed))
        for name, code in self.filters.items():
            if name in COLUMN_FIELDS:
                q = q.where(COLUMN_FIELDS[name] == code)
            elif name in CODE_FIELDS:
                q = q.where(Incident.id.in_(sa.select(IncidentCode.incident_id).where(
                    IncidentCode.field == name, IncidentCode.code == code)))
            else:
                raise ValueError(f"unknown filter {name!r}")
        return q


def _value(name: str) -> Any:
    if name in COLUMN_FIELDS:
        return COLUMN_FIELDS[name]
    raise ValueError(f"{name!r} is not a column field")


def count_by(session: DbSession, scope: Scope, name: str) -> dict[str | None, int]:
    """Incidents per value of one coded field (an incident with two kinds counts in both)."""
    ids = scope.incidents().subquery()
    if name in CODE_FIELDS:
        q = (sa.select(IncidentCode.code, sa.func.count(sa.distinct(IncidentCode.incident_id)))
             .where(IncidentCode.field == name, IncidentCode.incident_id.in_(sa.select(ids.c.id)))
             .group_by(IncidentCode.code))
    else:
        column = _value(name)
        q = (sa.select(column, sa.func.count(Incident.id))
             .where(Incident.id.in_(sa.select(ids.c.id))).group_by(column))
    return {key: int(n) for key, n in session.execute(q)}


def crosstab(session: DbSession, scope: Scope, rows: str, cols: str) -> dict[tuple[Any, Any], int]:
    """Incidents per pair of values, e.g. kind × 4P area."""
    ids = sa.select(scope.incidents().subquery().c.id)

    def side(name: str) -> tuple[Any, Any]:
        if name in CODE_FIELDS:
            alias = aliased(IncidentCode)
            return alias.code, (alias, sa.and_(alias.incident_id == Incident.id,
                                               alias.field == name))
        return _value(name), None

    row_value, row_join = side(rows)
    col_value, col_join = side(cols)
    q = sa.select(row_value, col_value, sa.func.count(sa.distinct(Incident.id))).select_from(
        Incident)
    for join in (row_join, col_join):
        if join is not None:
            q = q.join(*join)
    q = q.where(Incident.id.in_(ids)).group_by(row_value, col_value)
    return {(a, b): int(n) for a, b, n in session.execute(q)}


def totals(session: DbSession, scope: Scope) -> dict[str, int]:
    ids = sa.select(scope.incidents().subquery().c.id)
    incidents, people, days, detained = session.execute(
        sa.select(sa.func.count(Incident.id), sa.func.coalesce(sa.func.sum(
            Incident.people_affected), 0), sa.func.coalesce(sa.func.sum(
                Incident.days_detained), 0), sa.func.count(Incident.days_detained))
        .where(Incident.id.in_(ids))).one()
    return {"incidents": int(incidents), "people_affected": int(people),
            "days_detained": int(days), "incidents_with_detention": int(detained)}


def amounts_by_currency(session: DbSession, scope: Scope) -> dict[str, dict[str, Any]]:
    """Sum, median and count of confiscated amounts per currency, never across currencies.
    The median is taken in SQL with window functions (SQLite and PostgreSQL alike)."""
    ids = sa.select(scope.incidents().subquery().c.id)
    base = sa.select(Incident.currency.label("currency"),
                     Incident.amount_confiscated.label("amount")).where(
        Incident.id.in_(ids), Incident.amount_confiscated.is_not(None),
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
    ids = sa.select(scope.incidents().subquery().c.id)
    a, b = aliased(IncidentCode), aliased(IncidentCode)
    q = (sa.select(a.code, b.code, sa.func.count())
         .join(b, sa.and_(b.incident_id == a.incident_id, b.field == "kinds", b.code > a.code))
         .where(a.field == "kinds", a.incident_id.in_(ids)).group_by(a.code, b.code))
    return {(x, y): int(n) for x, y, n in session.execute(q)}
