"""The extremes a floor's claim needs over many skus that share their composed terms,
found without visiting every sku.

Within a group of items the composition gives every unit the same factor ``F`` and
rounding allowance ``n``, so a unit listed at ``p`` with cost ``c`` pays
``max(p * F - n, 0)``. What a claim asks of the group then only depends on the points
``(p, c)``:

- the worst margin, ``1 - c / (p * F - n)``: the largest ``c / (p - x0)`` with
  ``x0 = n / F``, over the items that pay more than nothing;
- the least order slack per unit of list, ``(paid * (1 - f) - c) / p``: over the items
  that pay something, ``F * (1 - f)`` less the largest ``(c + n * (1 - f)) / p``.

Both are the steepest line from a point left of every item to an item: it touches the
upper convex hull of the points, along which the slope from that point rises and then
falls (once it stops rising it never rises again, and it only stays level at the top),
so a binary search finds it. Hulls are built once per range of items and kept, in
whole numbers: costs are scaled by one denominator, every comparison cross-multiplied.
Ties go to the earliest item, as a scan in item order would find them.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence


class Population:
    """Items of one group under one floor, in the bound's item order (list price
    ascending): their list prices and their costs as whole multiples of
    ``1 / cost_den``."""

    __slots__ = ("_costly", "_costly_only", "_hulls", "cost_den", "costs", "items", "prices")

    def __init__(
        self, items: Sequence[int], prices: Sequence[int], costs: Sequence[int], cost_den: int
    ) -> None:
        self.items = items
        self.prices = prices
        self.costs = costs
        self.cost_den = cost_den
        self._hulls: dict[tuple[int, int], list[int]] = {}
        self._costly: list[int] | None = None
        self._costly_only: Population | None = None

    def __len__(self) -> int:
        return len(self.items)

    def paying(self, qn: int, qd: int) -> int:
        """The first position listed above ``qn / qd`` (``qd > 0``): from there on every
        unit pays something when ``qn / qd`` is ``n / F``."""
        return bisect_right(self.prices, qn // qd)

    def _costly_positions(self) -> list[int]:
        if self._costly is None:
            self._costly = [k for k, c in enumerate(self.costs) if c > 0]
        return self._costly

    def first_costly(self, end: int) -> int | None:
        """The first position before ``end`` whose cost is above zero."""
        costly = self._costly_positions()
        if costly and costly[0] < end:
            return costly[0]
        return None

    def costly(self) -> Population:
        """The items with a cost above zero."""
        if self._costly_only is None:
            at = self._costly_positions()
            self._costly_only = (
                self
                if len(at) == len(self.costs)
                else Population(
                    [self.items[k] for k in at],
                    [self.prices[k] for k in at],
                    [self.costs[k] for k in at],
                    self.cost_den,
                )
            )
        return self._costly_only

    def steepest(self, start: int, end: int, qx: tuple[int, int], qy: tuple[int, int]) -> int:
        """The earliest position in ``[start, end)`` (not empty) whose point ``(p, c)`` is
        seen at the steepest slope ``(c - y) / (p - x)`` from ``(x, y)``, where ``x =
        qx[0] / qx[1]`` lies left of every price in the range and ``y = qy[0] / qy[1]``
        (denominators positive, ``y`` in units of ``1 / cost_den``)."""
        hull = self._hull(start, end)
        prices, costs = self.prices, self.costs
        xn, xd = qx
        yn, yd = qy

        def steeper(a: int, b: int) -> int:
            """The sign of slope(b) - slope(a)."""
            left = (costs[b] * yd - yn) * (prices[a] * xd - xn)
            right = (costs[a] * yd - yn) * (prices[b] * xd - xn)
            return (left > right) - (left < right)

        lo, hi = 0, len(hull) - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if steeper(hull[mid], hull[mid + 1]) <= 0:
                hi = mid
            else:
                lo = mid + 1
        best = hull[lo]
        k = lo + 1
        while k < len(hull) and steeper(hull[lo], hull[k]) == 0:
            best = min(best, hull[k])
            k += 1
        return best

    def _hull(self, start: int, end: int) -> list[int]:
        """The upper hull of the points in ``[start, end)``, left to right, keeping the
        points on its edges (they may tie) and, of equal points, the earliest."""
        key = (start, end)
        found = self._hulls.get(key)
        if found is not None:
            return found
        prices, costs = self.prices, self.costs
        hull: list[int] = []
        for k in range(start, end):
            p, c = prices[k], costs[k]
            if hull and prices[hull[-1]] == p:
                if costs[hull[-1]] >= c:
                    continue  # seen from the left, the dearer cost at a price is steeper
                hull.pop()
            while len(hull) >= 2:
                a, b = hull[-2], hull[-1]
                pa, ca = prices[a], costs[a]
                # b strictly below the segment from a to k: never the steepest
                if (prices[b] - pa) * (c - ca) > (costs[b] - ca) * (p - pa):
                    hull.pop()
                else:
                    break
            hull.append(k)
        self._hulls[key] = hull
        return hull
