"""What a report is asked for: its scope, window(s), filters and whether it leaves the
organisation; parsed from a query string (or a saved report) with a clear refusal for each
kind of bad input. No database here: the caller says which codes exist in the scope."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date

import pycountry
from flask_babel import gettext as _

from app.payload import BadInput
from app.vocab import load

# ASCII digits only (\d would take other scripts' digits) and fullmatch (a $ lets "\n" through).
MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")
EARLIEST_YEAR = 1990
# Filter name -> the vocabulary list its codes come from (None: an ISO list).
FILTERS: dict[str, str | None] = {
    "country": None, "region": None, "four_p": "four_p", "kinds": "kinds",
    "actors": "actors", "instrument": "instruments", "work_setting": "work_settings",
    "groups": "groups"}
EXTENSIBLE = ("actors", "instrument")  # organisations add their own codes to these


def _month_index(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:]) - 1


def _month_of(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


@dataclass(frozen=True)
class Window:
    """Whole months from `start` to `end` inclusive (YYYY-MM)."""

    start: str
    end: str

    def months(self) -> list[str]:
        return [_month_of(i) for i in range(_month_index(self.start),
                                            _month_index(self.end) + 1)]

    def whole_quarters(self) -> bool:
        return (_month_index(self.start) % 3 == 0 and _month_index(self.end) % 3 == 2)

    def overlaps(self, other: Window) -> bool:
        return self.start <= other.end and other.start <= self.end

    def before(self) -> Window:
        """The window of the same length just before this one (the default comparison)."""
        length = _month_index(self.end) - _month_index(self.start) + 1
        start = _month_index(self.start) - length
        return Window(_month_of(start), _month_of(start + length - 1))


def last_four_quarters(today: date) -> Window:
    """The default window: the last four complete calendar quarters."""
    this_quarter = (today.year * 12 + today.month - 1) // 3 * 3
    return Window(_month_of(this_quarter - 12), _month_of(this_quarter - 1))


@dataclass(frozen=True)
class ReportParams:
    scope: str  # "org", or the public id of a collective
    window: Window
    compare: Window | None = None
    filters: dict[str, str] = field(default_factory=dict)
    publish: bool = False  # an organisation's report marked for publication

    @property
    def collective(self) -> str | None:
        return None if self.scope == "org" else self.scope

    @property
    def leaves_org(self) -> bool:
        """Disclosure control applies: a collective report or one marked for publication."""
        return self.collective is not None or self.publish

    def to_args(self) -> dict[str, str]:
        """The query string (and the saved form) of these parameters."""
        args = {"scope": self.scope, "from": self.window.start, "to": self.window.end}
        if self.compare:
            args |= {"compare_from": self.compare.start, "compare_to": self.compare.end}
        if self.publish:
            args["publish"] = "1"
        return args | dict(sorted(self.filters.items()))


def _month(args: Mapping[str, str], name: str, label: str) -> str | None:
    value = (args.get(name) or "").strip()
    if not value:
        return None
    if not MONTH.fullmatch(value) or int(value[:4]) < EARLIEST_YEAR:
        raise BadInput(_("%(label)s: write the month as YYYY-MM, for example 2026-03.",
                         label=label), name)
    return value


def _window(args: Mapping[str, str], start_name: str, end_name: str) -> Window | None:
    start = _month(args, start_name, _("From"))
    end = _month(args, end_name, _("To"))
    if start is None and end is None:
        return None
    if start is None or end is None:
        raise BadInput(_("Give both the first and the last month of the window."),
                       start_name if start is None else end_name)
    if end < start:
        raise BadInput(_("The window ends (%(end)s) before it starts (%(start)s).",
                         end=end, start=start), end_name)
    return Window(start, end)


def parse(args: Mapping[str, str], *, extra_codes: Mapping[str, Collection[str]],
          today: date) -> ReportParams:
    """ReportParams from a query string. `extra_codes` are the organisations' own codes
    (actors, instruments) valid in this scope. Raises BadInput naming the field."""
    scope = (args.get("scope") or "org").strip()
    window = _window(args, "from", "to") or last_four_quarters(today)
    compare = _window(args, "compare_from", "compare_to")
    if compare is None and args.get("compare") == "previous":
        compare = window.before()
    publish = args.get("publish") in ("1", "on", "true", "y")
    if publish and scope != "org":
        publish = False  # a collective report is always protected; the flag adds nothing
    filters: dict[str, str] = {}
    vocab = load()
    for name, list_name in FILTERS.items():
        code = (args.get(name) or "").strip()
        if not code:
            continue
        if name == "country":
            code = code.upper()
            known = pycountry.countries.get(alpha_2=code) is not None
        elif name == "region":
            code = code.upper()
            known = pycountry.subdivisions.get(code=code) is not None  # type: ignore[no-untyped-call]
        else:
            assert list_name is not None
            known = code in vocab.codes(list_name) or code in extra_codes.get(name, ())
        if not known:
            raise BadInput(_("Unknown code %(code)r for the filter %(name)s.",
                             code=code[:40], name=name), name)
        filters[name] = code
    params = ReportParams(scope, window, compare, filters, publish)
    _check_windows(params)
    return params


def _check_windows(params: ReportParams) -> None:
    if params.compare is not None and params.compare.overlaps(params.window):
        raise BadInput(_("The comparison window overlaps the report's window; choose windows "
                         "that do not share a month."), "compare_from")
    if not params.leaves_org:
        return
    for window, name in ((params.window, "from"), (params.compare, "compare_from")):
        if window is not None and not window.whole_quarters():
            raise BadInput(_(
                "A report that leaves the organisation covers whole calendar quarters, so "
                "that one month cannot be worked out by comparing two reports: start in "
                "January, April, July or October and end in March, June, September or "
                "December."), name)
