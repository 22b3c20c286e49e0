"""Translations: every string of the interface and every vocabulary label and description is
translated into es, fr, pt, ru and th, without a broken placeholder (docs/translating.md).

The two completeness tests fail until the translators have finished: that is intended. They
extract the strings from the code as it is now (as `flask translate extract` does), so a string
added to a template without `flask translate update` fails them too. The other tests check the
machinery itself and pass.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog

from app import catalogs
from app.catalogs import Problem
from app.vocab import LISTS, context, load

ROOT = Path(__file__).resolve().parent.parent
SHOWN = 100  # problems listed per language; `flask translate check LANG --limit 0` lists all


@pytest.fixture(scope="module")
def template() -> Catalog:
    return catalogs.current_template()


def _report(lang: str, problems: list[Problem], total: int) -> str:
    counts = ", ".join(f"{n} {kind}" for kind, n in sorted(catalogs.summary(problems).items()))
    lines = [f"{lang}: {len(problems)} of {total} messages need work ({counts}). "
             f"`flask translate check {lang}` lists them; docs/translating.md says how."]
    lines += [f"  {p}" for p in problems[:SHOWN]]
    if len(problems) > SHOWN:
        lines.append(f"  … and {len(problems) - SHOWN} more")
    return "\n".join(lines)


@pytest.mark.parametrize("lang", catalogs.TARGETS)
def test_every_interface_string_is_translated(lang: str, template: Catalog) -> None:
    path = catalogs.po_path(lang)
    assert path.is_file(), f"no catalogue for {lang}: run `flask translate init {lang}`"
    problems = catalogs.check_catalog(lang, template, catalogs.read(path, lang))
    assert not problems, _report(lang, problems, sum(1 for m in template if m.id))


@pytest.mark.parametrize("lang", catalogs.TARGETS)
def test_every_vocabulary_label_and_description_is_translated(lang: str) -> None:
    path = catalogs.po_path(lang)
    assert path.is_file(), f"no catalogue for {lang}: run `flask translate init {lang}`"
    vocabulary = load()
    problems = catalogs.check_vocabulary(lang, vocabulary, catalogs.read(path, lang))
    total = sum(2 * len(vocabulary.lists[name]) for name in LISTS)
    assert not problems, _report(lang, problems, total)


# The machinery.

def test_extraction_finds_templates_python_scripts_plurals_and_vocabulary(
        template: Catalog) -> None:
    assert template.get("Quick exit") is not None  # templates/base.html
    assert template.get("What you sent is too large.") is not None  # app/errors.py
    assert template.get("Incident recorded") is not None  # app/labels.py (lazy)
    assert template.get("This browser can seal and open records.") is not None  # js_messages
    plural = template.get("{n} incident imported.")
    assert plural is not None and plural.pluralizable  # ngettext in js_messages
    vocabulary = load()
    for name in LISTS:
        for term in vocabulary.lists[name]:
            for text in (term.label, term.description):
                assert template.get(text, context=context(name)) is not None, (name, text)
    # "Other" is in several lists: one message per list, so each can be worded for its list.
    assert template.get("Other", context=context("actors")) is not None
    assert template.get("Other", context=context("kinds")) is not None


Entry = tuple[str | tuple[str, ...], str | tuple[str, ...], str | None]


def _catalog(lang: str, entries: list[Entry], fuzzy: tuple[str, ...] = ()) -> Catalog:
    po = Catalog(locale=lang)
    for msgid, msgstr, ctx in entries:
        po.add(msgid, msgstr, context=ctx, flags=("fuzzy",) if msgid in fuzzy else ())
    return po


SOURCE: list[Entry] = [("Quick exit", "", None),
          ("Try again in {minutes} minutes.", "", None),
          (("%(num)d incident", "%(num)d incidents"), ("", ""), None),
          ("Hello %(name)s", "", None),
          ("Other", "", "vocabulary kinds")]


def test_checker_accepts_a_complete_catalogue() -> None:
    done = _catalog("ru", [
        ("Quick exit", "Быстрый выход", None),
        ("Try again in {minutes} minutes.", "Попробуйте снова через {minutes} мин.", None),
        (("%(num)d incident", "%(num)d incidents"),
         ("%(num)d инцидент", "%(num)d инцидента", "%(num)d инцидентов"), None),
        ("Hello %(name)s", "Здравствуйте, %(name)s", None),
        ("Other", "Другое", "vocabulary kinds")])
    assert catalogs.check_catalog("ru", _catalog("en", SOURCE), done) == []


def test_checker_names_every_kind_of_gap() -> None:
    broken = _catalog("ru", [
        ("Quick exit", "Быстрый выход", None),  # fine
        ("Try again in {minutes} minutes.", "Попробуйте снова через {минут} мин.", None),
        (("%(num)d incident", "%(num)d incidents"), ("%(num)d инцидент", "", ""), None),
        ("Hello %(name)s", "Здравствуйте, %(имя)s 100%", None),
        # "Other" in the kinds list is missing: only the actors' one is there
        ("Other", "Другой", "vocabulary actors")])
    found = {(p.msgid, p.kind) for p in catalogs.check_catalog(
        "ru", _catalog("en", SOURCE), broken)}
    assert found == {("Try again in {minutes} minutes.", "placeholders"),
                     ("%(num)d incident", "untranslated"),
                     ("Hello %(name)s", "placeholders"),
                     ("Other", "missing")}


def test_checker_refuses_fuzzy_wrong_plural_count_and_a_stray_percent() -> None:
    po = _catalog("ru", [
        ("Quick exit", "Быстрый выход", None),
        ("Try again in {minutes} minutes.", "через {minutes} мин. (100 %)", None),
        (("%(num)d incident", "%(num)d incidents"), ("%(num)d инцидент", "%(num)d инц."), None),
        ("Hello %(name)s", "Привет, %(name)d", None),  # %(name)s must stay a string
        ("Other", "Другое", "vocabulary kinds")], fuzzy=("Quick exit",))
    found = {(p.msgid, p.kind) for p in catalogs.check_catalog(
        "ru", _catalog("en", SOURCE), po)}
    assert found == {("Quick exit", "fuzzy"),
                     ("Try again in {minutes} minutes.", "placeholders"),
                     ("%(num)d incident", "plural forms"),
                     ("Hello %(name)s", "placeholders")}


def test_translate_check_command_reports_and_exits(runner, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """`flask translate check LANG`: exit 1 and the list when something is missing, exit 0
    and "complete" when nothing is (checked on a copy, with every message filled in)."""
    from babel.messages.pofile import write_po

    template = catalogs.current_template()
    po = Catalog(locale="th")
    for message in template:
        if not message.id:
            continue
        # Thai has one plural form; keeping the English inside keeps every placeholder.
        string: str | tuple[str, ...] = (
            ("ข้อความ " + str(message.id[1]),) if message.pluralizable
            else "ข้อความ " + str(message.id))
        po.add(message.id, string, context=message.context)
    folder = tmp_path / "th" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / "messages.po").open("wb") as handle:
        write_po(handle, po)
    monkeypatch.setattr(catalogs, "TRANSLATIONS", tmp_path)
    done = runner.invoke(args=["translate", "check", "th"])
    assert done.exit_code == 0 and "th: complete" in done.output, done.output
    po.delete("Quick exit")
    with (folder / "messages.po").open("wb") as handle:
        write_po(handle, po)
    gap = runner.invoke(args=["translate", "check", "th"])
    assert gap.exit_code == 1 and "missing: 'Quick exit'" in gap.output, gap.output


# The page scripts' sentences: the English in static/js is the msgid of the template macro.

MACRO = ROOT / "templates" / "_macros" / "messages.html"
# One sentence: data-key="{{ _("...")|forceescape }}", or with a context, pgettext("ctx", "...").
SINGLE = re.compile(r'data-([a-z0-9-]+)="\{\{ (?:_|pgettext\("[^"]*", )\(?'
                    r'"((?:[^"\\]|\\.)*)"\)\|forceescape \}\}"')
PLURAL = re.compile(r'data-([a-z0-9-]+)-\{\{ category \}\}="\{\{ ngettext\('
                    r'"((?:[^"\\]|\\.)*)", "((?:[^"\\]|\\.)*)", n\)\|forceescape \}\}"')
JS_ENTRY = re.compile(r'^\s*"([a-z0-9-]+)": ("(?:[^"\\]|\\.)*"),?\s*$', re.M)


def _english_of_scripts() -> dict[str, str]:
    out: dict[str, str] = {}
    for name in ("ui.js", "incident-messages.js"):
        text = (ROOT / "static" / "js" / name).read_text(encoding="utf-8")
        out |= {key: json.loads(value) for key, value in JS_ENTRY.findall(text)}
    return out


def test_script_sentences_and_the_translated_macro_match() -> None:
    macro = MACRO.read_text(encoding="utf-8")
    english = _english_of_scripts()
    expected: dict[str, str] = {}
    for key, text in SINGLE.findall(macro):
        expected[key] = json.loads(f'"{text}"')
    for key, one, other in PLURAL.findall(macro):
        expected[f"{key}-one"] = json.loads(f'"{one}"')
        expected[f"{key}-other"] = json.loads(f'"{other}"')
    assert len(expected) > 150
    assert set(english) == set(expected), (
        f"only in static/js: {sorted(set(english) - set(expected))}; "
        f"only in {MACRO.name}: {sorted(set(expected) - set(english))}")
    differing = {k: (english[k], expected[k]) for k in english if english[k] != expected[k]}
    assert not differing, differing


# What a person reads, put on the page by a script as a literal, would never be translated.
SINK = re.compile(r"""(?:textContent|innerText|title|placeholder|ariaLabel)\s*\+?=\s*"""
                  r"""|\b(?:say|showError|alert|confirm|UserError)\(\s*"""
                  r"""|setAttribute\(\s*["'](?:aria-label|title|placeholder)["']\s*,\s*""")
LITERAL = re.compile(r"""("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`)""")


def _words_in_literal(line: str, start: int) -> bool:
    """Does a string literal right at `start` hold words (once ${...} parts are removed)?"""
    found = LITERAL.match(line, start)
    if not found:
        return False
    text = re.sub(r"\$\{[^}]*\}", "", found.group(1)[1:-1])
    return re.search(r"[A-Za-z]{3}", text) is not None


def test_no_sentence_is_hard_coded_in_the_page_scripts() -> None:
    found = []
    for path in sorted((ROOT / "static" / "js").glob("*.js")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.lstrip().startswith(("//", "*")):
                continue
            if any(_words_in_literal(line, m.end()) for m in SINK.finditer(line)):
                found.append(f"{path.name}:{number}: {line.strip()}")
    assert not found, "\n".join(found)


def test_the_hard_coded_sentence_check_can_fail() -> None:
    assert _words_in_literal('x.textContent = "Saved.";', len("x.textContent = "))
    assert _words_in_literal('say(`Done: ${n} rows`)', len("say("))
    assert not _words_in_literal('say(`${msg("done")} ✓`)', len("say("))
