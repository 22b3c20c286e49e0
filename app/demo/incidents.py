"""Demo incidents: the coded tier drawn from an organisation's scenarios, spread over the
last two years with its own busy months, and the sealed tier written to match."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from .scenarios import Profile, Scenario
from .writing import CASE_STUDIES, sealed_fields

MONTHS = 24
HELD = ("arrest_detention", "deportation", "forced_rehabilitation")
GENDERS = ("woman", "trans", "man", "nonbinary")
STATUSES = ("undocumented_migrant", "documented_migrant", "asylum_seeker", "citizen")


@dataclass(frozen=True)
class DemoIncident:
    scenario: str
    coded: dict[str, Any]
    fields: dict[str, Any]  # the sealed tier, before sealing


def months_until(today: date, count: int = MONTHS) -> list[str]:
    """`count` months as YYYY-MM, oldest first, ending with the current month."""
    first = today.year * 12 + today.month - 1 - (count - 1)
    return [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in range(first, first + count)]


def _weighted(rng: random.Random, pairs: list[tuple[Any, float]]) -> Any:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _month_weights(profile: Profile, months: list[str]) -> list[float]:
    # More is recorded as the organisation gets used to the tool, plus its busy months.
    return [(0.6 + 0.6 * i / max(1, len(months) - 1)) * profile.surges.get(i, 1.0)
            for i in range(len(months))]


def _groups(profile: Profile, scenario: Scenario, rng: random.Random) -> list[str]:
    if rng.random() < 0.08:
        return []  # not known
    weights = dict(profile.groups)
    gender = _weighted(rng, [(g, weights.get(g, 0.0)) for g in GENDERS if g in weights])
    chosen = {gender}
    if gender == "trans" and rng.random() < 0.7:
        chosen.add("woman")
    forced = [code for code, p in scenario.groups if code in STATUSES and p >= 1.0]
    status = forced[0] if forced else _weighted(
        rng, [(s, weights.get(s, 0.0) + dict(scenario.groups).get(s, 0.0)) for s in STATUSES
              if weights.get(s, 0.0) + dict(scenario.groups).get(s, 0.0) > 0])
    chosen.add(status)
    for code, p in scenario.groups:
        if code in GENDERS and rng.random() < p:
            chosen.add(code)
    return sorted(chosen)


def _amount(profile: Profile, scenario: Scenario, rng: random.Random) -> Decimal:
    low, high, step = profile.money
    scale = scenario.money or 0.2
    value = math.exp(rng.uniform(math.log(low), math.log(high))) * scale
    return Decimal(max(step, round(value / step) * step))


def _coded(profile: Profile, scenario: Scenario, month: str, recent: bool,
           rng: random.Random) -> dict[str, Any]:
    kinds = set(scenario.kinds) | {k for k, p in scenario.maybe_kinds if rng.random() < p}
    four_p = set(scenario.four_p) | {k for k, p in scenario.maybe_four_p if rng.random() < p}
    actors = set(scenario.actors) | {k for k, p in scenario.maybe_actors if rng.random() < p}
    if "deportation" in kinds:
        actors.add("immigration")
    place = _weighted(rng, [(p, p.weight) for p in profile.places])
    people = min(rng.randint(*scenario.people), rng.randint(*scenario.people))
    days = None
    if kinds & set(HELD):
        span = scenario.days or (1, 3)
        if "deportation" in kinds:
            span = (max(span[0], 3), max(span[1], 20))
        days = rng.randint(*span)
    amount = _amount(profile, scenario, rng) if "confiscation" in kinds else None
    consent = _weighted(rng, [("org_only", 0.2), ("aggregate", 0.45), ("research", 0.35)])
    if scenario.key == "exclusion":
        consent = "aggregate"  # the organisation itself was harmed, and wants it counted
    case_study = (consent != "org_only" and scenario.key in CASE_STUDIES
                  and rng.random() < 0.3)
    return {
        "kinds": sorted(kinds), "four_p": sorted(four_p), "actors": sorted(actors),
        "groups": _groups(profile, scenario, rng),
        "instrument": rng.choice(scenario.instruments),
        "country": place.country, "region": _weighted(rng, list(place.regions)),
        "month": month, "work_setting": rng.choice(scenario.settings),
        "people_affected": people,
        "amount_confiscated": f"{amount:.2f}" if amount is not None else None,
        "currency": profile.currency if amount is not None else None,
        "days_detained": days,
        "source": "firsthand" if scenario.key == "exclusion" else _weighted(
            rng, [("firsthand", 0.6), ("peer_report", 0.3), ("secondhand", 0.1)]),
        "consent": consent, "case_study": case_study,
        "status": "draft" if recent and rng.random() < 0.25 else "complete",
    }


def generate(profile: Profile, today: date, rng: random.Random,
             count: int | None = None) -> list[DemoIncident]:
    """An organisation's incidents over the last MONTHS months, oldest first."""
    months = months_until(today)
    chosen = sorted(rng.choices(months, weights=_month_weights(profile, months),
                                k=count or profile.incidents))
    out = []
    for month in chosen:
        scenario = _weighted(rng, [(s, s.weight) for s in profile.scenarios])
        coded = _coded(profile, scenario, month, month >= months[-2], rng)
        fields = sealed_fields(scenario.key, coded | {
            "amount_confiscated": Decimal(coded["amount_confiscated"])
            if coded["amount_confiscated"] else None}, today, rng)
        out.append(DemoIncident(scenario.key, coded, fields))
    return out
