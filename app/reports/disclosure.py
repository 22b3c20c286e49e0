"""Disclosure control for tables that leave an organisation (DOMAIN.md, Disclosure control).

A two-way table of counts is published with its row totals, column totals and grand total.
Primary suppression hides every count from 1 to k-1 (shown as "fewer than k"); secondary
suppression hides more cells until no hidden value can be worked out from the published ones
by the additivity equations (row sums, column sums, grand total). Whether a hidden value is
determined is decided exactly: it is, when its unit vector lies in the row space of the
equations restricted to the hidden unknowns (Gaussian elimination over the rationals).

No Flask here; pure functions on lists of ints.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

MIN_K = 3

# A position in the extended table: (row, column); row == rows means the column-totals row,
# column == cols the row-totals column, (rows, cols) the grand total.
Pos = tuple[int, int]


@dataclass(frozen=True)
class Protected:
    """The published table: `cells[r][c]` is the count, or None when hidden."""

    k: int
    cells: list[list[int | None]]
    row_totals: list[int | None]
    col_totals: list[int | None]
    total: int | None
    primary: frozenset[Pos]  # hidden because small ("fewer than k")
    secondary: frozenset[Pos]  # hidden only so the small ones cannot be worked out

    def hidden(self) -> frozenset[Pos]:
        return self.primary | self.secondary


def _extended(table: list[list[int]]) -> list[list[int]]:
    rows = [[*row, sum(row)] for row in table]
    columns = [sum(col) for col in zip(*rows, strict=True)] if rows else [0]
    return [*rows, columns]


def _equations(rows: int, cols: int) -> list[dict[Pos, int]]:
    """Additivity of the extended table: each row and each column sums to its total."""
    eqs: list[dict[Pos, int]] = []
    for r in range(rows + 1):
        eq = {(r, c): 1 for c in range(cols)}
        eq[(r, cols)] = -1
        eqs.append(eq)
    for c in range(cols + 1):
        eq = {(r, c): 1 for r in range(rows)}
        eq[(rows, c)] = -1
        eqs.append(eq)
    return eqs


def _reduced(matrix: list[list[Fraction]]) -> list[list[Fraction]]:
    """The reduced row echelon form of `matrix`, without its zero rows."""
    rows = [row[:] for row in matrix if any(row)]
    rank, width = 0, len(rows[0]) if rows else 0
    for col in range(width):
        pivot = next((i for i in range(rank, len(rows)) if rows[i][col] != 0), None)
        if pivot is None:
            continue
        rows[rank], rows[pivot] = rows[pivot], rows[rank]
        lead = rows[rank][col]
        rows[rank] = [a / lead for a in rows[rank]]
        for i in range(len(rows)):
            if i != rank and rows[i][col] != 0:
                factor = rows[i][col]
                rows[i] = [a - factor * b for a, b in zip(rows[i], rows[rank], strict=True)]
        rank += 1
    return rows[:rank]


def solvable(equations: list[dict[Any, int]], hidden: set[Any]) -> set[Any]:
    """The hidden unknowns whose value follows from the published values by the equations
    (each a map of position -> coefficient, summing to zero).

    An unknown is determined when its unit vector lies in the row space of the system. In
    reduced row echelon form that happens exactly when some row is that unit vector: a
    combination of the rows equals e_i only if it uses the row whose pivot is i and no other
    (every other pivot coefficient must be 0), so that row must have no other non-zero entry.
    One elimination answers for every unknown at once."""
    unknowns = sorted(hidden)
    index = {pos: i for i, pos in enumerate(unknowns)}
    system = []
    for eq in equations:
        row = [Fraction(0)] * len(unknowns)
        for pos, coefficient in eq.items():
            if pos in index:
                row[index[pos]] = Fraction(coefficient)
        if any(row):
            system.append(row)
    out = set()
    for row in _reduced(system):
        nonzero = [i for i, value in enumerate(row) if value != 0]
        if len(nonzero) == 1:
            out.add(unknowns[nonzero[0]])
    return out


def determined(rows: int, cols: int, hidden: set[Pos]) -> set[Pos]:
    """The hidden positions of a two-way table whose value follows from the published ones."""
    return solvable(_equations(rows, cols), hidden)


def _check(k: int, values: Iterable[int]) -> None:
    if k < MIN_K:
        raise ValueError(f"the threshold k is never below {MIN_K}")
    if any(v < 0 for v in values):
        raise ValueError("counts are never negative")


def protect(table: list[list[int]], k: int = 5, forced: Iterable[Pos] = ()) -> Protected:
    """Suppress small cells (primary) and enough others (secondary) that none is determined.
    `forced` are positions hidden already elsewhere (a linked table), kept hidden here."""
    _check(k, (v for row in table for v in row))
    rows = len(table)
    cols = len(table[0]) if table else 0
    ext = _extended(table)
    primary = {(r, c) for r in range(rows + 1) for c in range(cols + 1)
               if 0 < ext[r][c] < k} | set(forced)
    hidden = set(primary)
    while True:
        exposed = determined(rows, cols, hidden)
        if not exposed:
            break
        hidden.add(_complement(ext, rows, cols, hidden, min(exposed)))
    secondary = hidden - primary

    def show(r: int, c: int) -> int | None:
        return None if (r, c) in hidden else ext[r][c]

    return Protected(
        k=k, cells=[[show(r, c) for c in range(cols)] for r in range(rows)],
        row_totals=[show(r, cols) for r in range(rows)],
        col_totals=[show(rows, c) for c in range(cols)], total=show(rows, cols),
        primary=frozenset(primary), secondary=frozenset(secondary))


def _complement(ext: list[list[int]], rows: int, cols: int, hidden: set[Pos],
                exposed: Pos) -> Pos:
    """The cell to hide next so `exposed` is no longer determined: the smallest published
    non-zero interior cell in its row or column (least information lost), else a total."""
    r, c = exposed
    line = [(r, j) for j in range(cols)] if r < rows else []
    line += [(i, c) for i in range(rows)] if c < cols else []
    candidates = [p for p in line if p not in hidden and ext[p[0]][p[1]] > 0]
    if not candidates:
        candidates = [p for p in line if p not in hidden]
    if not candidates:  # the exposed value is a total: hide another total of the same kind
        totals = ([(i, cols) for i in range(rows + 1)] if c == cols else
                  [(rows, j) for j in range(cols + 1)])
        candidates = [p for p in totals if p not in hidden]
    if not candidates:
        candidates = [(i, j) for i in range(rows + 1) for j in range(cols + 1)
                      if (i, j) not in hidden]
    return min(candidates, key=lambda p: (ext[p[0]][p[1]], p))


@dataclass(frozen=True)
class Line:
    """A published one-way table: `cells[i]` is a count or None when hidden; `total` is the
    number they add up to (None when hidden)."""

    k: int
    cells: list[int | None]
    total: int | None
    primary: frozenset[int]
    secondary: frozenset[int]

    def hidden(self) -> frozenset[int]:
        return self.primary | self.secondary


TOTAL = -1  # the position of a line's total


def line_equation(n: int) -> dict[int, int]:
    return {**dict.fromkeys(range(n), 1), TOTAL: -1}


def protect_line(counts: list[int], k: int = 5, forced: Iterable[int] = (),
                 with_total: bool = True) -> Line:
    """A one-way table (counts by kind, by month, ...) and the total it adds up to.
    Without a published total (`with_total=False`) no cell can be worked out from the others,
    so only the small cells are hidden. `forced` may include TOTAL."""
    _check(k, counts)
    total = sum(counts)
    primary = {i for i, v in enumerate(counts) if 0 < v < k} | set(forced)
    if with_total and 0 < total < k:
        primary.add(TOTAL)
    hidden = set(primary)
    equations = [line_equation(len(counts))] if with_total else []
    while solvable(equations, hidden):
        shown = [i for i in range(len(counts)) if i not in hidden]
        # The smallest published non-zero count loses least; then a zero; then the total.
        pick = (min((i for i in shown if counts[i] > 0), key=lambda i: (counts[i], i),
                    default=None)
                if shown else None)
        if pick is None:
            pick = shown[0] if shown else TOTAL
        hidden.add(pick)
    return Line(k=k, cells=[None if i in hidden else v for i, v in enumerate(counts)],
                total=None if not with_total or TOTAL in hidden else total,
                primary=frozenset(primary), secondary=frozenset(hidden - primary))
