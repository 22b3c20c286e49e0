"""A random but reproducible set of incidents straight into the database (no sealing: the
report engine never reads the sealed tier), and the same rows as plain dicts so tests can
count them by hand."""

from __future__ import annotations

import random
import uuid
from decimal import Decimal
from typing import Any

from app.extensions import db
from app.models import Incident, IncidentCode, Organisation
from app.vocab import load

COUNTRIES: dict[str, list[str | None]] = {
    "PT": ["PT-11", "PT-13", None], "DE": ["DE-BE", None], "TH": [None], "UA": ["UA-30", None]}
ENVELOPE = {"v": 1, "kv": 1, "iv": "A" * 16, "ct": "A" * 40}


def add_incidents(org: Organisation, n: int, rng: random.Random,
                  months: list[str] | None = None, **fixed: Any) -> list[dict[str, Any]]:
    vocab = load()
    months = months or [f"2025-{m:02d}" for m in range(1, 13)]
    rows = []
    for _ in range(n):
        country = rng.choice(list(COUNTRIES))
        amount = Decimal(rng.randint(100, 900_000)) / 100 if rng.random() < 0.4 else None
        row: dict[str, Any] = {
            "org_id": org.id,
            "kinds": sorted(set(rng.choices(vocab.codes("kinds")[:6], k=rng.randint(1, 3)))),
            "four_p": sorted(rng.sample(vocab.codes("four_p"), rng.choice([1, 1, 2]))),
            "actors": sorted(rng.sample(vocab.codes("actors")[:5], rng.randint(1, 2))),
            "groups": sorted(rng.sample(vocab.codes("groups")[:4], rng.randint(0, 2))),
            "instrument": rng.choice([None, "end_demand_law", "rescue_operation"]),
            "country": country, "region": rng.choice(COUNTRIES[country]),
            "month": rng.choice(months), "work_setting": rng.choice(["street", "online",
                                                                     "venue"]),
            "people_affected": rng.randint(1, 6), "amount": amount,
            "currency": rng.choice(["EUR", "THB", "UAH"]) if amount is not None else None,
            "days_detained": rng.choice([None, None, 0, 2, 30]),
            "consent": rng.choice(["org_only", "aggregate", "research"]),
            "status": rng.choice(["complete"] * 9 + ["draft"])} | fixed
        incident = Incident(
            org_id=org.id, status=row["status"], instrument=row["instrument"],
            country=row["country"], region=row["region"], month=row["month"],
            work_setting=row["work_setting"], people_affected=row["people_affected"],
            days_detained=row["days_detained"], amount_confiscated=row["amount"],
            currency=row["currency"], source="firsthand", consent=row["consent"],
            sealed=ENVELOPE, kv=1, sealed_iv=uuid.uuid4().hex[:16])
        incident.codes = [IncidentCode(field=f, code=c)
                          for f in ("kinds", "four_p", "actors", "groups") for c in row[f]]
        db.session.add(incident)
        rows.append(row)
    db.session.commit()
    return rows
