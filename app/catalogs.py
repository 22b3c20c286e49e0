"""Checking translation catalogs: is every string of the interface and the vocabulary
translated in a language, without a broken placeholder? Used by `flask translate check LANG`
(for translators) and by tests/test_translations.py. No Flask here (docs/translating.md).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from app.vocab import LISTS, Vocabulary, context

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
# Every language the interface is offered in besides English, the language of the source.
TARGETS = ("es", "fr", "pt", "ru", "th")

# %(name)s style (Python and templates) and {name} style (the page scripts' sentences).
NAMED = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
BRACED = re.compile(r"\{(\w+)\}")
# Any other % sign: "%%" is a literal %, anything else breaks `text % values` (a 500).
PERCENT = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]|%%|%")


@dataclass(frozen=True)
class Problem:
    lang: str
    kind: str  # missing | untranslated | fuzzy | placeholders | plural forms
    msgid: str
    context: str | None = None
    detail: str = ""

    def __str__(self) -> str:
        where = f"[{self.context}] " if self.context else ""
        extra = f" — {self.detail}" if self.detail else ""
        return f"{self.lang}: {self.kind}: {where}{self.msgid!r}{extra}"


def extract(output: Path, root: Path = ROOT) -> None:
    """Collect every marked string of app/ and templates/ (and the vocabulary), exactly as
    `flask translate extract` does."""
    result = subprocess.run(  # noqa: S603 - our own interpreter and fixed arguments
        [sys.executable, "-m", "babel.messages.frontend", "extract",
         "-F", str(root / "babel.cfg"), "-k", "_l", "-k", "N_plural:1,2",
         "--add-comments", "Translators:",
         # pybabel skips folders whose names start with "_" unless told otherwise, and the
         # page scripts' sentences live in templates/_macros/.
         "--ignore-dirs", ".* __pycache__",
         "-o", str(output), "--no-location", "--sort-output", "--project", "Collateral",
         str(root / "app"), str(root / "templates")],
        check=False, capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f"pybabel extract failed: {result.stderr[-2000:]}")


def read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def current_template() -> Catalog:
    """The strings of the code as it is now (not messages.pot, which may be stale)."""
    with tempfile.TemporaryDirectory(prefix="collateral-pot-") as tmp:
        pot = Path(tmp) / "messages.pot"
        extract(pot)
        return read(pot)


def po_path(lang: str) -> Path:
    return TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"


def _key(message: Message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def placeholders(text: str) -> tuple[frozenset[str], frozenset[str], tuple[str, ...]]:
    """The %(name)x directives (with their type letter), the {name} slots, and every
    %-sequence (so that a stray % a translator added is seen)."""
    named = frozenset(f"{m.group(1)}:{m.group(0)[-1]}" for m in NAMED.finditer(text))
    braced = frozenset(BRACED.findall(text))
    percents = tuple(sorted(m.group(0) if m.group(0) in ("%", "%%") else "%()"
                            for m in PERCENT.finditer(text)))
    return named, braced, percents


def _same_placeholders(source: str, translation: str) -> str:
    """'' when the translation keeps exactly the source's placeholders, else what differs."""
    want, got = placeholders(source), placeholders(translation)
    problems = []
    if want[0] != got[0]:
        problems.append(f"expected %(…) placeholders {sorted(want[0])}, found {sorted(got[0])}")
    if want[1] != got[1]:
        problems.append(f"expected {{…}} placeholders {sorted(want[1])}, found {sorted(got[1])}")
    if want[2].count("%") != got[2].count("%") or want[2].count("%%") != got[2].count("%%"):
        problems.append("a % sign that the English does not have (write the word instead)")
    return "; ".join(problems)


def check_message(lang: str, wanted: Message, found: Message | None,
                  num_plurals: int) -> list[Problem]:
    msgid, ctx = _key(wanted), wanted.context
    if found is None:
        return [Problem(lang, "missing", msgid, ctx, "run `flask translate update`")]
    if found.fuzzy:
        return [Problem(lang, "fuzzy", msgid, ctx, "check it, then remove the fuzzy mark")]
    if wanted.pluralizable:
        forms = found.string if isinstance(found.string, (list, tuple)) else (found.string,)
        if len(forms) != num_plurals:
            return [Problem(lang, "plural forms", msgid, ctx,
                            f"{num_plurals} forms needed, {len(forms)} found")]
        if not all(forms):
            return [Problem(lang, "untranslated", msgid, ctx)]
        plural = wanted.id[1] if isinstance(wanted.id, (list, tuple)) else msgid
        out = []
        for i, form in enumerate(forms):
            differs = _same_placeholders(plural, str(form))
            if differs:
                out.append(Problem(lang, "placeholders", msgid, ctx, f"msgstr[{i}]: {differs}"))
        return out
    if not found.string:
        return [Problem(lang, "untranslated", msgid, ctx)]
    differs = _same_placeholders(msgid, str(found.string))
    return [Problem(lang, "placeholders", msgid, ctx, differs)] if differs else []


def check_catalog(lang: str, template: Catalog, po: Catalog) -> list[Problem]:
    """Every message of the template must be in `po`, translated, not fuzzy, with the same
    placeholders (each plural form, too)."""
    out: list[Problem] = []
    for wanted in template:
        if not wanted.id:
            continue  # the header
        out += check_message(lang, wanted, po.get(wanted.id, context=wanted.context),
                             po.num_plurals)
    return out


def check_vocabulary(lang: str, vocabulary: Vocabulary, po: Catalog) -> list[Problem]:
    """Every label and description of the vocabulary, looked up in its list's context:
    checked from the vocabulary itself, so that a broken extractor cannot hide one."""
    out: list[Problem] = []
    for name in LISTS:
        for term in vocabulary.lists[name]:
            for text in (term.label, term.description):
                wanted = Message(text, context=context(name))
                out += check_message(lang, wanted, po.get(text, context=context(name)),
                                     po.num_plurals)
    return out


def check_language(lang: str, template: Catalog, vocabulary: Vocabulary) -> list[Problem]:
    path = po_path(lang)
    if not path.is_file():
        return [Problem(lang, "missing", str(path), None, "run `flask translate init`")]
    po = read(path, lang)
    problems = check_catalog(lang, template, po)
    seen = {(p.msgid, p.context) for p in problems}
    # The vocabulary check repeats the catalogue's for terms it already reported.
    return problems + [p for p in check_vocabulary(lang, vocabulary, po)
                       if (p.msgid, p.context) not in seen]


def summary(problems: Iterable[Problem]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for problem in problems:
        counts[problem.kind] = counts.get(problem.kind, 0) + 1
    return counts
