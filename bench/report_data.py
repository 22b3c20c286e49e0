"""A generated database for the reports benchmark: N incidents spread over M organisations
that all joined one collective, written with plain bulk INSERTs (fast, no sealing: the
sealed tier is a fixed well-formed envelope, which reports never read).

Used by bench/reports.py; importable so the benchmark and its checks share one generator.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from app.models import (
    MULTI_FIELDS,
    Collective,
    CollectiveMember,
    Incident,
    IncidentCode,
    Organisation,
)
from app.models.incident import code_set
from app.vocab import load

COUNTRIES = ["DE", "FR", "ES", "PT", "IT", "NL", "BE", "SE", "GB", "IE", "PL", "RO", "HU",
             "CZ", "GR", "TH", "KH", "VN", "PH", "MY", "BR", "AR", "MX", "CO", "US", "CA",
             "ZA", "NG", "KE", "UA"]
REGIONS = {"DE": ["DE-BE", "DE-HH", "DE-BY", None], "FR": ["FR-75", "FR-13", None],
           "ES": ["ES-MD", "ES-CT", None], "TH": ["TH-10", "TH-50", None],
           "PT": ["PT-11", "PT-13", None]}
MONTHS = [f"{y}-{m:02d}" for y in range(2022, 2027) for m in range(1, 13)
          if (y, m) <= (2026, 9)]
ENVELOPE = {"v": 1, "kv": 1, "iv": "AAAAAAAAAAAAAAAA", "ct": "A" * 43}
BATCH = 20_000


def _incidents(org_ids: list[int], n: int, rng: random.Random,
               first_id: int) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    vocab = load()
    kinds, four_p = list(vocab.codes("kinds")), list(vocab.codes("four_p"))
    actors, groups = list(vocab.codes("actors")), list(vocab.codes("groups"))
    settings, instruments = list(vocab.codes("work_settings")), list(vocab.codes("instruments"))
    now = datetime.now(UTC)
    # Skewed like real data: raids and police far more often than the rest.
    kind_weights = [12, 8, 6, 5, 6, 3, 2, 2, 3, 1, 2, 3, 1, 2, 1, 1]
    for i in range(n):
        ident = first_id + i
        country = rng.choice(COUNTRIES)
        amount = round(rng.uniform(20, 6000), 2) if rng.random() < 0.3 else None
        row = {"id": ident, "public_id": uuid.UUID(int=rng.getrandbits(128)),
               "created_at": now, "updated_at": now,
               "org_id": rng.choice(org_ids), "version": 1, "vocab_version": 1,
               "status": "complete" if rng.random() < 0.97 else "draft",
               "instrument": rng.choice(instruments) if rng.random() < 0.6 else None,
               "country": country,
               "region": rng.choice(REGIONS[country]) if country in REGIONS else None,
               "month": rng.choice(MONTHS), "work_setting": rng.choice(settings),
               "people_affected": rng.choice([1, 1, 1, 2, 3, 5, 12]),
               "amount_confiscated": amount,
               "currency": rng.choice(["EUR", "EUR", "THB", "USD"]) if amount else None,
               "days_detained": rng.choice([None, None, None, 1, 3, 30]),
               "source": "firsthand", "consent": rng.choice(["org_only", "aggregate",
                                                             "aggregate", "research"]),
               "case_study": False, "sealed": ENVELOPE, "kv": 1,
               "sealed_iv": f"{ident:016x}"}
        codes = [("kinds", k) for k in set(rng.choices(kinds, kind_weights, k=rng.randint(1, 3)))]
        codes += [("four_p", p) for p in rng.sample(four_p, rng.choice([1, 1, 1, 2]))]
        codes += [("actors", a) for a in rng.sample(actors, rng.randint(1, 2))]
        codes += [("groups", g) for g in rng.sample(groups, rng.randint(0, 2))]
        for name in MULTI_FIELDS:
            row[f"{name}_set"] = code_set([c for f, c in codes if f == name])
        yield row, [{"incident_id": ident, "field": f, "code": c} for f, c in codes]


def generate(engine: sa.Engine, incidents: int, orgs: int, seed: int = 2026) -> int:
    """Create `orgs` organisations in one collective and `incidents` incidents; return the
    collective's id."""
    rng = random.Random(seed)
    org_t, coll_t, member_t = (Organisation.__table__, Collective.__table__,
                               CollectiveMember.__table__)
    inc_t, code_t = Incident.__table__, IncidentCode.__table__
    now = datetime.now(UTC)
    with engine.begin() as conn:
        collective_id = conn.execute(coll_t.insert().values(
            public_id=uuid.uuid4(), created_at=now, name="Bench network", min_cell=5)
        ).inserted_primary_key[0]
        org_ids = []
        for i in range(orgs):
            org_id = conn.execute(org_t.insert().values(
                public_id=uuid.uuid4(), created_at=now, name=f"Organisation {i + 1}",
                current_kv=1, require_2fa=False)).inserted_primary_key[0]
            org_ids.append(org_id)
            conn.execute(member_t.insert().values(
                collective_id=collective_id, org_id=org_id, status="joined",
                may_be_named=i % 3 == 0, invited_at=now, joined_at=now))
    rows: list[dict[str, Any]] = []
    codes: list[dict[str, Any]] = []
    start = 1
    with engine.connect() as conn:
        start = int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(inc_t.c.id), 0)))
                    .scalar_one()) + 1
    for row, row_codes in _incidents(org_ids, incidents, rng, start):
        rows.append(row)
        codes.extend(row_codes)
        if len(rows) >= BATCH:
            _flush(engine, inc_t, code_t, rows, codes)
    _flush(engine, inc_t, code_t, rows, codes)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('incident', 'id'), "
                                 "(SELECT max(id) FROM incident))"))
            conn.execute(sa.text("ANALYZE"))
        else:
            conn.execute(sa.text("ANALYZE"))
    return int(collective_id)


def _flush(engine: sa.Engine, inc_t: sa.Table, code_t: sa.Table, rows: list[dict[str, Any]],
           codes: list[dict[str, Any]]) -> None:
    if not rows:
        return
    with engine.begin() as conn:
        conn.execute(inc_t.insert(), rows)
        conn.execute(code_t.insert(), codes)
    rows.clear()
    codes.clear()
