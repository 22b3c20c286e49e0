"""A report as files: CSV and XLSX (the tables, with the same suppression as the page) and
PDF (the page itself, rendered by WeasyPrint with the fonts `make` installs)."""

from __future__ import annotations

import csv
import io
import mimetypes
from pathlib import Path
from typing import Any

from flask import current_app, render_template
from flask_babel import gettext as _

from app.reports import present
from app.reports.build import Report

# A cell that starts like a formula is written as text, so a spreadsheet never runs it.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe(value: str) -> str:
    if value.lstrip("+-").isdigit():
        return value  # a count or a change, such as -3
    return "'" + value if value.startswith(FORMULA_START) else value


def _records(report: Report) -> list[list[str]]:
    """Long format: one line per table, category and window."""
    out = [[_("table"), _("category"), _("window"), _("count"), _("note")]]
    for table in present.tables(report):
        for label, cells, change in table.rows:
            for window, cell in zip(table.columns, cells, strict=False):
                out.append([table.title, label, window,
                            "" if cell.value is None else str(cell.value),
                            present.cell_text(cell, report.k) if cell.hidden else ""])
            if change is not None:
                out.append([table.title, label, present.change_heading(), str(change), ""])
    for item in present.amounts(report):
        cell = item["count"]
        out.append([_("Amounts taken"), item["currency"], present.window_label(
            report.windows[0]), "" if cell.value is None else str(cell.value),
            present.cell_text(cell, report.k) if cell.hidden else
            _("sum %(sum)s, median %(median)s", sum=item["sum"], median=item["median"])])
    return out


def csv_bytes(report: Report) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if report.empty or report.too_small:
        writer.writerow([_("note")])
        writer.writerow([_("No figures: the selection is empty or too small to publish.")])
    else:
        writer.writerows([[_safe(v) for v in row] for row in _records(report)])
    writer.writerow([])
    for line in present.methodology(report):
        writer.writerow([_safe(line)])
    return buffer.getvalue().encode("utf-8-sig")  # the BOM makes Excel read UTF-8


def xlsx(report: Report) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = _("Summary")[:31]
    sheet.append([report.scope_label])
    sheet["A1"].font = Font(bold=True, size=14)
    for name, value, _text in present.headline_figures(report):
        sheet.append([name, value])  # numbers stay numbers (machine-readable cells)
    sheet.append([])
    for line in present.methodology(report):
        sheet.append([_safe(line)])
    if not (report.empty or report.too_small):
        for table in present.tables(report):
            ws = book.create_sheet(_title(table.title, book))
            ws.append([table.header, *table.columns])
            for cell in ws[1]:
                cell.font = Font(bold=True)
            for label, cells, change in table.rows:
                ws.append([_safe(label), *(_value(c, report) for c in cells),
                           *([change] if len(table.columns) > len(cells) else [])])
            if table.note:
                ws.append([])
                ws.append([table.note])
            ws.column_dimensions["A"].width = 48
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _value(cell: Any, report: Report) -> Any:
    return cell.value if cell.value is not None else present.cell_text(cell, report.k)


def _title(title: str, book: Any) -> str:
    name = "".join(ch for ch in title if ch not in "[]:*?/\\")[:28]
    while name in book.sheetnames:
        name = name[:26] + str(len(book.sheetnames))
    return name


def pdf(report: Report) -> bytes:
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    static = Path(current_app.static_folder or "static").resolve()
    prefix = static.as_uri() + "/"

    class StaticOnly(URLFetcher):  # type: ignore[misc]
        """Only our own stylesheets and images, read from disk: nothing leaves the machine
        while a PDF is made."""

        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            path = (static / url.removeprefix(prefix).split("?")[0]).resolve()
            if not url.startswith(prefix) or not path.is_relative_to(static) \
                    or not path.is_file():
                raise ValueError(f"refusing to fetch {url!r} while making a PDF")
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": kind})

    html = render_template("reports/pdf.html", report=report)
    document = HTML(string=html, base_url=prefix, url_fetcher=StaticOnly())
    return bytes(document.write_pdf())
