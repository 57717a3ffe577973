"""Units of cart lines, for kinds that pick units across lines (bxgy, bundle).

A line's current amount need not divide by its quantity. Split exactly (largest
remainder, as :func:`promorules.money.allocate` does with equal weights), a line of
amount ``a`` and quantity ``q`` holds ``a % q`` units worth ``a // q + 1`` and the rest
worth ``a // q``. A :class:`Run` is such a group of equal units, so picking units costs
time in the number of lines, not in the number of units.
"""

from __future__ import annotations

from collections.abc import Sequence

Run = tuple[int, int, int]
"""``(value, line, units)``: ``units`` units of line ``line``, each worth ``value`` minor
units (a plain tuple: runs are built for every cart, and sort by value, then line)."""


def runs(amounts: Sequence[int], qty: Sequence[int], lines: Sequence[int]) -> list[Run]:
    """The units of ``lines`` as runs of equal value (unordered)."""
    out: list[Run] = []
    for i in lines:
        q = qty[i]
        low, high_count = divmod(max(amounts[i], 0), q)
        if high_count:
            out.append((low + 1, i, high_count))
        if q - high_count:
            out.append((low, i, q - high_count))
    return out


def take(units: list[Run], count: int, dearest: bool = False) -> list[tuple[int, int, int]]:
    """The ``count`` cheapest (``dearest``: dearest) units as ``(line, value, units)``
    runs, in the order taken (ties: lower line first)."""
    out: list[tuple[int, int, int]] = []
    left = count
    ordered = sorted(units, key=lambda r: (-r[0], r[1])) if dearest else sorted(units)
    for value, line, units_left in ordered:
        if left <= 0:
            break
        taken = min(units_left, left)
        out.append((line, value, taken))
        left -= taken
    return out


def take_cheapest(units: list[Run], count: int) -> dict[int, int]:
    """The amount, per line, of the ``count`` cheapest units (ties: lower line first)."""
    chosen: dict[int, int] = {}
    left = count
    for value, line, units_left in sorted(units):  # no two runs share value and line
        if left <= 0:
            break
        take = min(units_left, left)
        chosen[line] = chosen.get(line, 0) + take * value
        left -= take
    return chosen
