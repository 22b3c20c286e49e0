"""A report as readers see it: labelled tables, charts and the methodology, shared by the
HTML page, the PDF, the CSV and the XLSX so that all four say exactly the same thing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext, pgettext

from app import i18n
from app.incidents import choices
from app.labels import field_label
from app.reports import charts
from app.reports.build import Cell, Counts, Report, TableRow, rows
from app.reports.params import Window

LIST_NAMES = {"four_p": "four_p", "kinds": "kinds", "actors": "actors",
              "instrument": "instruments", "work_setting": "work_settings", "groups": "groups"}


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    header: str  # what the rows are
    columns: list[str]  # one per window (+ "change" when comparing)
    rows: list[tuple[str, list[Cell], int | None]]
    total: tuple[str, list[Cell]] | None = None
    note: str = ""


def month_label(month: str) -> str:
    return i18n.format_month(month, "short")


def window_label(window: Window) -> str:
    if window.start == window.end:
        return month_label(window.start)
    return str(_("%(start)s to %(end)s", start=month_label(window.start),
                 end=month_label(window.end)))


def label(report: Report, key: str, code: Any) -> str:
    if code is None:
        return str(_("none recorded") if key == "groups" else _("not recorded"))
    if key == "country":
        return str(choices.country_name(code))
    if key == "region":
        country, region = code
        # Extraction does not look inside f-strings: the phrase is marked on its own.
        shown = region or str(_("region not recorded"))
        return f"{choices.country_name(country)} — {shown}"
    if key in ("kind_by_p", "pairs"):
        first, second = code
        return f"{label(report, 'kinds', first)} — {label(report, 'four_p' if key == 'kind_by_p' else 'kinds', second)}"  # noqa: E501
    if key == "month":
        return str(month_label(code))
    list_name = LIST_NAMES[key]
    own = report.term_labels.get((list_name, code))
    if own:
        return own
    if list_name not in report.labels:  # one translated list per report, not per label
        report.labels[list_name] = dict(choices.vocab_choices(list_name))
    return str(report.labels[list_name].get(code, code))


def number(value: int | float) -> str:
    return i18n.format_number(value)


def filter_text(report: Report, name: str, code: str) -> str:
    """One filter of the report, such as "Kind of harm: Raid"."""
    shown = label(report, name, code) if name in LIST_NAMES or name == "country" else code
    return str(_("%(field)s: %(value)s", field=field_label(name), value=shown))


def cell_text(cell: Cell, k: int | None) -> str:
    if cell.hidden == "small":
        return str(_("fewer than %(k)d", k=k or 0))
    if cell.hidden:
        return str(_("withheld"))
    return number(cell.value or 0)


def change_text(change: int | None) -> str:
    if change is None:
        return ""
    return f"+{number(change)}" if change > 0 else number(change)


def change_heading() -> str:
    return str(pgettext("the difference between two periods", "Change"))


def _columns(report: Report) -> list[str]:
    cols = [window_label(w) for w in report.windows]
    return [*cols, change_heading()] if len(cols) > 1 else cols


def _line(report: Report, key: str, title: str, header: str,
          pick: Callable[[Counts], dict[Any, Cell]], note: str = "",
          with_total: bool = False) -> Table:
    found: list[TableRow] = rows(report, pick)
    total = None
    if with_total:
        total = (_("All incidents"), [c.total(key) for c in report.counts])
    return Table(key, title, header, _columns(report),
                 [(label(report, key, r.key), r.cells, r.change) for r in found], total, note)


def tables(report: Report) -> list[Table]:
    several = _("An incident can record more than one; it counts once in each, so this "
                "column adds up to more than the number of incidents.")
    out = [
        _line(report, "four_p", _("By policy area (4P)"), _("Area"),
              lambda c: c.lines.get("four_p", {}), several),
        _line(report, "kinds", _("By kind of harm"), _("Kind of harm"),
              lambda c: c.lines.get("kinds", {}), several),
        _line(report, "kind_by_p", _("Kind of harm by policy area"), _("Kind — area"),
              lambda c: {key: cell for key, cell in c.kind_by_p.items()
                         if cell.value != 0}),
        _line(report, "actors", _("By actor"), _("Actor"), lambda c: c.lines.get("actors", {}),
              several),
        _line(report, "instrument", _("By measure or law"), _("Measure or law"),
              lambda c: c.lines.get("instrument", {}), with_total=True),
        _line(report, "country", _("By country"), _("Country"),
              lambda c: c.lines.get("country", {}), with_total=True),
        _line(report, "region", _("By region"), _("Country — region"), lambda c: c.regions),
        _line(report, "work_setting", _("By work setting"), _("Work setting"),
              lambda c: c.lines.get("work_setting", {}), with_total=True),
        _line(report, "groups", _("By group affected"), _("Group"),
              lambda c: c.lines.get("groups", {}), several),
        _line(report, "pairs", _("Kinds of harm recorded together in one incident"),
              _("Kind — kind"), lambda c: c.pairs),
    ]
    if len(report.windows) == 1:
        out.append(_line(report, "month", _("By month"), _("Month"), lambda c: c.months,
                         with_total=True))
    else:  # months of two windows are different rows: one table per window
        for i, window in enumerate(report.windows):
            counts = report.counts[i]
            out.append(Table(f"month{i}", _("By month, %(window)s", window=window_label(window)),
                             _("Month"), [window_label(window)],
                             [(month_label(m), [cell], None) for m, cell in counts.months.items()]))
    return [t for t in out if t.rows]


def amounts(report: Report) -> list[dict[str, Any]]:
    """Amounts taken, per currency (never added across currencies), for the report's window."""
    counts = report.counts[0]
    return [{"currency": currency, "count": cell, "sum": total, "median": median}
            for currency, (cell, total, median) in counts.amounts.items()]


def headline_figures(report: Report) -> list[tuple[str, Any, str]]:
    """The headline figures as (label, value for a spreadsheet cell, text for a reader);
    none for a protected report of fewer than k incidents (even their number singles out)."""
    if report.too_small:
        return []
    counts = report.counts[0]
    out: list[tuple[str, Any, str]] = [
        (_("Incidents"), counts.incidents, number(counts.incidents)),
        (_("People affected"), counts.people or 0, number(counts.people or 0))]
    if counts.detention.value:
        out.append((_("Days in detention"), counts.days or 0, number(counts.days or 0)))
        out.append((_("Incidents with detention"), counts.detention.value,
                    number(counts.detention.value)))
    elif counts.detention.hidden:
        hidden = cell_text(counts.detention, report.k)
        out.append((_("Incidents with detention"), hidden, hidden))
    for item in amounts(report):
        if item["sum"] is not None:
            out.append((_("Taken (%(currency)s)", currency=item["currency"]), item["sum"],
                        i18n.format_money(item["sum"], item["currency"])))
    return out


def headline(report: Report) -> list[tuple[str, str]]:
    """The headline figures for the page and the PDF."""
    counts = report.counts[0]
    out = [(name, text) for name, _value, text in headline_figures(report)]
    if counts.detention.value:  # one line: the days, and in how many incidents
        out[2:4] = [(_("Days in detention"), ngettext(
            "%(days)s, in %(count)s incident", "%(days)s, in %(count)s incidents",
            counts.detention.value, days=number(counts.days or 0),
            count=number(counts.detention.value)))]
    return out


def included(report: Report) -> str:
    """Which organisations the figures come from: names only with their consent."""
    if report.params.collective is None:
        return report.scope_label
    others = report.org_count - len(report.named_orgs)
    if not report.named_orgs:
        return str(ngettext("%(num)d organisation", "%(num)d organisations", report.org_count))
    names = ", ".join(report.named_orgs)
    if others:
        return str(_("%(names)s and %(others)s", names=names, others=ngettext(
            "%(num)d other organisation", "%(num)d other organisations", others)))
    return names


def report_charts(report: Report) -> list[charts.Chart]:
    counts = report.counts[0]
    out = [charts.horizontal(_("Incidents by policy area (4P)"),
                             [(label(report, "four_p", code), cell)
                              for code, cell in counts.lines.get("four_p", {}).items()],
                             table="four_p"),
           charts.horizontal(_("Incidents by kind of harm"),
                             [(label(report, "kinds", code), cell)
                              for code, cell in counts.lines.get("kinds", {}).items()
                              if cell.value != 0], table="kinds")]
    if counts.months:
        out.append(charts.columns(_("Incidents per month"),
                                  [(month_label(m), cell) for m, cell in counts.months.items()],
                                  table="month" if len(report.windows) == 1 else "month0"))
    return out


def methodology(report: Report) -> list[str]:
    p = report.params
    filters = "; ".join(filter_text(report, name, code)
                        for name, code in sorted(p.filters.items())) or _("none")
    # Two whole sentences rather than one nested in another: extraction skips a _() inside
    # another's arguments, and translators need the sentence whole.
    scope = (_("Scope: the collective %(name)s — organisations included: %(orgs)s.",
               name=report.scope_label, orgs=included(report))
             if p.collective else _("Scope: %(scope)s.", scope=report.scope_label))
    out = [
        scope,
        _("Window: %(window)s.", window=window_label(p.window))
        + (" " + _("Compared with: %(window)s.", window=window_label(p.compare))
           if p.compare else ""),
        _("Filters: %(filters)s.", filters=filters),
        _("Counted: complete incidents whose month falls in the window; drafts are never "
          "counted. An incident counts once in each kind, area, actor and group it records."),
    ]
    if report.protected:
        out += [
            _("Consent: only incidents whose consent allows aggregate use (aggregate or "
              "research)."),
            _("Disclosure control: a count from 1 to %(k1)d is shown as \"fewer than %(k)d\"; "
              "further counts are withheld where needed so that no hidden count can be "
              "worked out from the others and the totals. Sums and medians are given only for "
              "counts that are shown, and never added across currencies. The window is made "
              "of whole calendar quarters.", k=report.k or 0, k1=(report.k or 0) - 1),
        ]
    else:
        out.append(_("This is the organisation's internal report: exact counts of all its "
                     "complete incidents, whatever their consent. Mark a report for "
                     "publication before it leaves the organisation."))
    out += [_("Vocabulary version %(v)d.", v=report.vocab_version),
            _("Generated %(when)s (UTC).", when=i18n.format_when(report.generated_at))]
    return out
