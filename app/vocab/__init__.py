"""The coded vocabulary as data (vocab-v1.json): loading, validating, looking codes up.

No Flask here: labels come out in English and are translated at display time (the strings are
extracted for translation by `extract_vocab`, wired into babel.cfg).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CURRENT = HERE / "vocab-v1.json"
LISTS = ("kinds", "four_p", "instruments", "actors", "work_settings", "groups", "sources",
         "consent", "statuses")
# Lists an organisation may extend with its own entries (a named law, a police unit).
EXTENSIBLE = ("instruments", "actors")


class VocabError(ValueError):
    """The vocabulary file is malformed."""


@dataclass(frozen=True)
class Term:
    code: str
    label: str
    description: str
    typical_p: tuple[str, ...] = ()
    rank: int = 0


@dataclass(frozen=True)
class Vocabulary:
    version: int
    lists: dict[str, tuple[Term, ...]]

    def codes(self, name: str) -> tuple[str, ...]:
        return tuple(t.code for t in self.lists[name])

    def term(self, name: str, code: str) -> Term | None:
        return next((t for t in self.lists[name] if t.code == code), None)

    def consent_rank(self, code: str) -> int:
        term = self.term("consent", code)
        if term is None:
            raise KeyError(code)
        return term.rank

    def suggestions(self) -> dict[str, list[str]]:
        """Kind → the 4P areas it usually stems from (the form pre-selects them)."""
        return {t.code: list(t.typical_p) for t in self.lists["kinds"]}


def validate(data: Any) -> Vocabulary:
    if not isinstance(data, dict) or not isinstance(data.get("version"), int):
        raise VocabError("the vocabulary needs an integer version")
    lists = data.get("lists")
    if not isinstance(lists, dict) or set(lists) != set(LISTS):
        raise VocabError(f"the vocabulary must have exactly the lists {LISTS}")
    out: dict[str, tuple[Term, ...]] = {}
    for name in LISTS:
        terms = []
        for entry in lists[name]:
            if not isinstance(entry, dict) or not all(
                    isinstance(entry.get(k), str) and entry[k] for k in
                    ("code", "label", "description")):
                raise VocabError(f"{name}: every term needs a code, a label and a description")
            if not entry["code"].replace("_", "").isalnum() or entry["code"] != \
                    entry["code"].lower():
                raise VocabError(f"{name}: code {entry['code']!r} must be lower_snake_case")
            terms.append(Term(entry["code"], entry["label"], entry["description"],
                              tuple(entry.get("typical_p", ())), int(entry.get("rank", 0))))
        codes = [t.code for t in terms]
        if len(set(codes)) != len(codes):
            raise VocabError(f"{name}: duplicate codes")
        out[name] = tuple(terms)
    four_p = {t.code for t in out["four_p"]}
    for kind in out["kinds"]:
        if not set(kind.typical_p) <= four_p:
            raise VocabError(f"kinds: {kind.code} names an unknown 4P area")
    ranks = [t.rank for t in out["consent"]]
    if ranks != sorted(set(ranks)):
        raise VocabError("consent: ranks must rise strictly, widest use last")
    return Vocabulary(data["version"], out)


@cache
def load(path: Path = CURRENT) -> Vocabulary:
    return validate(json.loads(path.read_text(encoding="utf-8")))


def context(name: str) -> str:
    """The gettext context of a list's labels and descriptions: the same English word (such
    as "Other") may need different words, or genders, in different lists."""
    return f"vocabulary {name}"


def extract_vocab(fileobj: Any, keywords: Any, comment_tags: Any,
                  options: Any) -> Iterator[tuple[int, str, tuple[str, str], list[str]]]:
    """Babel extractor (babel.cfg): every label and description becomes a message, in the
    context of its list (translated with pgettext(context(name), text))."""
    data = json.load(fileobj)
    for name in LISTS:
        for entry in data["lists"][name]:
            for key in ("label", "description"):
                yield (0, "pgettext", (context(name), entry[key]),
                       [f"{name}.{entry['code']} {key}"])
