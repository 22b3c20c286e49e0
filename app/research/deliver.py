"""Writing an extract: CSV rows and a JSON data dictionary, each sealed to the researcher's
public key (CRYPTO.md, Sealed exports) as it is produced, so neither the plaintext nor the
whole file is ever held in memory. The achieved k is measured on the rows as they are written.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from app.crypto import seal_export
from app.reports.engine import DbSession
from app.research.anonymise import OWN_TERM, Plan, Request, columns, quasi_identifiers, rows
from app.vocab import load

ROWS_PER_PIECE = 500  # CSV lines handed to the sealer at a time
# HXL hashtags (https://hxlstandard.org) for a second header row, so humanitarian tools can
# read the file. Our own attributes use the +x_ prefix where HXL has no standard one.
HXL = {"kinds": "#impact+type", "four_p": "#indicator+x_policy_area",
       "actors": "#org+x_actor", "instrument": "#indicator+x_instrument",
       "source": "#meta+source", "region": "#adm1+code", "country": "#country+code",
       "period": "#date", "work_setting": "#indicator+x_work_setting",
       "groups": "#population+type", "people_affected": "#affected+x_band",
       "amount": "#value+x_band", "currency": "#currency+code",
       "days_detained": "#indicator+x_days_detained+x_band"}
DESCRIPTIONS = {
    "kinds": "Kinds of harm recorded (codes separated by ';').",
    "four_p": "Policy areas (4P) that caused the harm (';'-separated).",
    "actors": "Who did it (';'-separated codes; an organisation's own actor is 'org_term').",
    "instrument": "The measure or law, if known ('org_term': one of the organisation's own).",
    "source": "How the organisation learned of it.",
    "region": "ISO 3166-2 subdivision, or empty when not recorded.",
    "country": "ISO 3166-1 alpha-2 country.",
    "period": "When it happened, generalised (see 'generalisation').",
    "work_setting": "Work setting.",
    "groups": "Groups affected (';'-separated), empty when none recorded.",
    "people_affected": "People affected, in bands.",
    "amount": "Amount taken, in bands of the currency in 'currency'; empty when none.",
    "currency": "ISO 4217 currency of 'amount'.",
    "days_detained": "Days in detention, in bands; empty when not recorded."}
CODE_LISTS = {"kinds": "kinds", "four_p": "four_p", "actors": "actors",
              "instrument": "instruments", "source": "sources",
              "work_setting": "work_settings", "groups": "groups"}


@dataclass
class Written:
    rows: int
    achieved_k: int
    csv_bytes: int
    dictionary_bytes: int


def _csv_pieces(lines: Iterable[dict[str, str]], header: list[str], hxl: bool,
                qi: list[str], sizes: Counter[tuple[str, ...]]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    if hxl:
        writer.writerow([HXL[name] for name in header])
    for count, row in enumerate(lines, 1):
        writer.writerow([row[name] for name in header])
        sizes[tuple(row[name] for name in qi)] += 1
        if count % ROWS_PER_PIECE == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def _write(path: Path, pieces: Iterable[bytes]) -> int:
    size = 0
    with path.open("wb") as out:
        for piece in pieces:
            out.write(piece)
            size += len(piece)
    return size


def dictionary(request: Request, plan: Plan, header: list[str], achieved_k: int, rows_out: int,
               terms: dict[str, Any], hxl: bool) -> dict[str, Any]:
    vocab = load()
    return {
        "format": "Collateral research extract, data dictionary v1",
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "vocabulary_version": vocab.version,
        "window": {"from": request.month_from, "to": request.month_to},
        "rows": rows_out,
        "rows_suppressed": plan.suppressed,
        "k_requested": request.k,
        "k_achieved": achieved_k,
        "quasi_identifiers": quasi_identifiers(request, plan.level),
        "generalisation": plan.level.describe(),
        "ladders": {"place": "region → country", "period": "month → quarter → year",
                    "numbers": "bands → coarse bands"},
        "levels_tried": plan.tried,
        "selection": "complete incidents whose consent allows research use, in the window, "
                     "from the approved organisations; coded fields only, never the sealed "
                     "tier or free text",
        "columns": [{"name": name, "description": DESCRIPTIONS[name],
                     **({"hxl": HXL[name]} if hxl else {}),
                     **({"codes": _codes(vocab, name)} if name in CODE_LISTS else {})}
                    for name in header],
        "terms": terms,
    }


def _codes(vocab: Any, name: str) -> dict[str, str]:
    codes = {t.code: t.label for t in vocab.lists[CODE_LISTS[name]]}
    if name in ("actors", "instrument"):
        codes[OWN_TERM] = ("one of the recording organisation's own terms (its name stays "
                           "with the organisation)")
    return codes


def write_extract(session: DbSession, request: Request, plan: Plan,
                  recipient_key: ec.EllipticCurvePublicKey, recipient: str, export_id: str,
                  directory: Path, terms: dict[str, Any], hxl: bool = False) -> Written:
    """Seal `extract.csv` and `dictionary.json` into `directory` as `data.sealed` and
    `dictionary.sealed` (export ids `<export_id>/data` and `<export_id>/dictionary`)."""
    header = columns(request, plan.level)
    qi = quasi_identifiers(request, plan.level)
    sizes: Counter[tuple[str, ...]] = Counter()
    csv_size = _write(directory / "data.sealed", seal_export(
        _csv_pieces(rows(session, request, plan.level), header, hxl, qi, sizes),
        recipient_key, f"{export_id}/data", recipient))
    achieved = min(sizes.values()) if sizes else 0
    rows_out = sum(sizes.values())
    document = json.dumps(dictionary(request, plan, header, achieved, rows_out, terms, hxl),
                          ensure_ascii=False, indent=2).encode("utf-8")
    dict_size = _write(directory / "dictionary.sealed", seal_export(
        [document], recipient_key, f"{export_id}/dictionary", recipient))
    return Written(rows_out, achieved, csv_size, dict_size)
