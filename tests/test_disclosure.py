"""Disclosure control: no hidden cell of a published table can be recovered from the rest.

The attacker here is independent of the module: it sets up the additivity equations with
the published values as knowns, and asks numpy whether each hidden cell's value is pinned
down (the least-squares solution space has no freedom in that coordinate)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.reports.disclosure import Protected, protect


def _attack(p: Protected) -> list[tuple[int, int]]:
    """Hidden positions an attacker can compute exactly from the published table."""
    rows, cols = len(p.cells), len(p.cells[0])
    grid = [[*row, p.row_totals[r]] for r, row in enumerate(p.cells)]
    grid.append([*p.col_totals, p.total])
    unknowns = [(r, c) for r in range(rows + 1) for c in range(cols + 1) if grid[r][c] is None]
    if not unknowns:
        return []
    col = {pos: i for i, pos in enumerate(unknowns)}
    lines = [[(r, c) for c in range(cols)] + [(r, cols)] for r in range(rows + 1)]
    lines += [[(r, c) for r in range(rows)] + [(rows, c)] for c in range(cols + 1)]
    a = []
    for line in lines:
        coefficients = np.zeros(len(unknowns))
        for i, pos in enumerate(line):
            sign = -1.0 if i == len(line) - 1 else 1.0
            if pos in col:
                coefficients[col[pos]] += sign
        a.append(coefficients)
    matrix = np.array(a)
    # A coordinate is determined iff it is constant on the null space of the system.
    _, s, vt = np.linalg.svd(matrix)
    rank = int((s > 1e-9).sum())
    null = vt[rank:]
    return [pos for pos, i in col.items() if np.allclose(null[:, i], 0, atol=1e-9)]


def test_small_cells_hidden_and_not_recoverable() -> None:
    table = [[12, 2, 30], [8, 15, 1], [20, 9, 14]]
    p = protect(table, k=5)
    assert p.cells[0][1] is None and p.cells[1][2] is None  # the primaries
    assert _attack(p) == []
    # Everything shown is the true value.
    for r, row in enumerate(table):
        for c, value in enumerate(row):
            assert p.cells[r][c] in (None, value)


def test_a_lone_small_cell_in_a_row_gets_a_partner() -> None:
    p = protect([[2, 40, 50], [30, 30, 30]], k=5)
    assert len(p.secondary) >= 1
    assert _attack(p) == []


def test_threshold_never_below_three() -> None:
    with pytest.raises(ValueError):
        protect([[1]], k=2)


def test_zero_cells_are_shown() -> None:
    p = protect([[0, 20], [20, 20]], k=5)
    assert p.cells[0][0] == 0 and not p.hidden()


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 5).flatmap(lambda r: st.integers(1, 5).flatmap(
    lambda c: st.lists(st.lists(st.integers(0, 30), min_size=c, max_size=c),
                       min_size=r, max_size=r))), st.integers(3, 8))
def test_no_hidden_cell_is_ever_determined(table: list[list[int]], k: int) -> None:
    p = protect(table, k=k)
    assert _attack(p) == []
    for r, row in enumerate(table):
        for c, value in enumerate(row):
            if 0 < value < k:
                assert p.cells[r][c] is None
            else:
                assert p.cells[r][c] in (None, value)
