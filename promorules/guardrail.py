"""The runtime margin guardrail: floors checked after stacking, and the clamp.

A floor ``m`` on revenue ``R`` and cost ``C`` holds when ``(R - C) / R >= m``, that is
``R >= C / (1 - m)``: the smallest revenue that holds it is computed in integers and
rounded up, so a held floor is never held by rounding. Revenue is what the customer
pays for the goods (shipping excluded); cost includes gifts.

Clamp order (documented for planners): discounts are taken back from the promotion
with the lowest ``priority`` first; among equal priorities, from the lane applied last
(platform before store before item before price); among those, from the promotion
declared last. Line floors are restored first, then category floors, then the order
floor; taking a discount back only raises revenue, so a floor once held stays held.

Gifts: a gift's cost counts against the order floor. When the order floor could not
hold even with every discount taken back, but could without some gifts, the clamp
first drops gifts, from the lowest-ranked promotion first (last added first within a
promotion), just enough that taking discounts back can hold it; then it clamps as
above. Gifts are never dropped when their cost is not what breaks the floor.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

import attrs

from promorules.money import allocate
from promorules.quote import Floor
from promorules.ruleset import Guardrails

ORDER = "order"
_LINE = operator.itemgetter(1)  # an adjustment's line index


def minimum_revenue(cost: int, floor: Fraction) -> int:
    """The least revenue (minor units) whose margin over ``cost`` is at least ``floor``."""
    num, den = floor.numerator, floor.denominator
    return -((-cost * den) // (den - num))


@attrs.frozen
class Floors:
    line: Fraction | None
    order: Fraction | None
    categories: dict[str, Fraction]
    # (denominator, denominator - numerator) of the line and order floors, read on every
    # quote: minimum_revenue's integers without Fraction attribute lookups
    _line: tuple[int, int] | None = attrs.field(init=False, repr=False, eq=False)
    _order: tuple[int, int] | None = attrs.field(init=False, repr=False, eq=False)
    any: bool = attrs.field(init=False, repr=False, eq=False)
    """True when some floor is set."""

    def __attrs_post_init__(self) -> None:
        for name, floor in (("_line", self.line), ("_order", self.order)):
            ratio = (
                None if floor is None else (floor.denominator, floor.denominator - floor.numerator)
            )
            object.__setattr__(self, name, ratio)
        has_any = self.line is not None or self.order is not None or bool(self.categories)
        object.__setattr__(self, "any", has_any)

    @classmethod
    def from_guardrails(cls, guardrails: Guardrails) -> Floors:
        return cls(
            guardrails.min_line_margin, guardrails.min_order_margin, dict(guardrails.categories)
        )


@attrs.define
class Breach:
    name: str
    lines: list[int]
    minimum: Fraction
    need: int
    """Revenue missing to hold the floor."""


class Work:
    """The mutable working figures of one pricing call that the guardrail reads and trims."""

    __slots__ = (
        "_by_line",
        "adjustments",
        "amounts",
        "categories",
        "costs",
        "dropped",
        "extra_cost",
        "gifts",
        "settled",
    )

    def __init__(
        self,
        amounts: list[int],
        costs: list[int],
        categories: Sequence[str],
        adjustments: list[list[Any]],
        extra_cost: int,
        gifts: Sequence[tuple[int, int]] = (),
    ) -> None:
        self.amounts = amounts
        self.costs = costs
        self.categories = categories
        self.adjustments = adjustments
        self.extra_cost = extra_cost
        # (promotion index, cost) of each gift in the order, in the order they were added
        self.gifts = list(gifts)
        self.dropped: list[int] = []
        """Positions in ``gifts`` the clamp dropped (their cost is out of ``extra_cost``)."""
        self._by_line: list[list[list[Any]]] | None = None
        self.settled = False
        """Set by the clamp when its last check found every floor held."""

    @property
    def by_line(self) -> list[list[list[Any]]]:
        """The adjustments of each line; worked out when the clamp first needs them (most
        quotes break no floor)."""
        if self._by_line is None:
            self._by_line = [[] for _ in self.amounts]
            for adjustment in self.adjustments:
                if adjustment[1] >= 0:
                    self._by_line[adjustment[1]].append(adjustment)
        return self._by_line


def breaches(work: Work, floors: Floors) -> list[Breach]:
    """Every floor the working figures break, line floors first."""
    found: list[Breach] = []
    if floors.line is not None:
        for i, need in _line_needs(work, floors).items():
            found.append(Breach(f"line[{i}]", [i], floors.line, need))
    for category, floor in floors.categories.items():
        lines, need = _category_need(work, category, floor)
        if need > 0:
            found.append(Breach(f"category:{category}", lines, floor, need))
    if floors.order is not None:
        need = _order_need(work, floors)
        if need > 0:
            found.append(Breach(ORDER, list(range(len(work.amounts))), floors.order, need))
    return found


def _line_needs(work: Work, floors: Floors) -> dict[int, int]:
    """The lines below the line floor, ascending, and the revenue each misses."""
    needs: dict[int, int] = {}
    if floors._line is not None:
        den, gap = floors._line
        amounts = work.amounts
        for i, cost in enumerate(work.costs):
            need = -((-cost * den) // gap) - amounts[i]
            if need > 0:
                needs[i] = need
    return needs


def _order_need(work: Work, floors: Floors) -> int:
    """The revenue the order floor misses (<= 0: none; 0 for an order of no lines)."""
    if floors._order is None or not work.amounts:
        return 0
    den, gap = floors._order
    return -((-(sum(work.costs) + work.extra_cost) * den) // gap) - sum(work.amounts)


def _category_need(work: Work, category: str, floor: Fraction) -> tuple[list[int], int]:
    """The lines of ``category`` and the revenue their floor misses (<= 0: none)."""
    lines = [i for i, c in enumerate(work.categories) if c == category]
    if not lines:
        return lines, 0
    cost = sum(work.costs[i] for i in lines)
    return lines, minimum_revenue(cost, floor) - sum(work.amounts[i] for i in lines)


def clamp(
    work: Work,
    floors: Floors,
    trim_order: Sequence[int],
    rank: Mapping[int, int] | None = None,
) -> tuple[dict[int, int], dict[str, int]]:
    """Take discounts back, in ``trim_order`` (promotion indexes), until floors hold.

    Returns what was taken per promotion index and per floor name (a floor that held
    from the start has no entry). Floors that cannot be held even with every discount
    taken back stay broken (the caller reports them); ``work.settled`` says whether
    every floor holds at the end.
    ``rank``: the position of each index in ``trim_order``, when the caller keeps it.
    """
    if rank is None:
        rank = {index: position for position, index in enumerate(trim_order)}
    if floors.order is not None and work.gifts:
        drop_gifts(work, floors.order, rank)
    taken: dict[int, int] = {}
    per_floor: dict[str, int] = {}
    settled = True
    # one pass, line floors first, then categories, then the order, each need worked out
    # on the figures as they stand: taking back only raises revenue, so a floor held stays
    # held, and a floor still broken after its turn has nothing left to take on its lines
    needs = _line_needs(work, floors)
    if needs:
        got_per_line = _restore_lines(work, needs, rank, taken)
        for i, need in needs.items():
            got = got_per_line[i]
            per_floor[f"line[{i}]"] = got
            settled = settled and got == need
    for category, floor in floors.categories.items():
        lines, need = _category_need(work, category, floor)
        if need > 0:
            got = _take(work, lines, need, rank, taken)
            per_floor[f"category:{category}"] = got
            settled = settled and got == need
    need = _order_need(work, floors)
    if need > 0:
        count = len(work.amounts)
        if count == 1:  # a one-line order: its line's discounts, as a line floor
            got = _restore_lines(work, {0: need}, rank, taken)[0]
        else:
            got = _take(work, list(range(count)), need, rank, taken)
        per_floor[ORDER] = got
        settled = settled and got == need
    work.settled = settled
    return taken, per_floor


def _restore_lines(
    work: Work, needs: dict[int, int], rank: Mapping[int, int], taken: dict[int, int]
) -> dict[int, int]:
    """Take back what the line floors ``needs`` (line -> revenue missing, lines in
    ascending order) from each line's own discounts, lowest-ranked promotion first;
    returns what was taken per line."""
    adjustments = work.adjustments
    if len(needs) == 1:  # the common case: one line below its floor
        only = next(iter(needs))
        mine = {only: [a for a in adjustments if a[1] == only and a[2] > 0]}
    else:
        mine = {i: [] for i in needs}
        for adjustment in adjustments:  # one pass, in the order they were made
            found = mine.get(adjustment[1])
            if found is not None and adjustment[2] > 0:
                found.append(adjustment)
    amounts = work.amounts
    out: dict[int, int] = {}
    for line, need in needs.items():
        on_line = mine[line]
        if len(on_line) > 1:
            # lowest-ranked first; ranks are distinct per promotion, so keyed by rank
            # the list loses an entry exactly when a promotion has several on the line
            by_rank = {rank.get(a[0], -1): a for a in on_line}
            if len(by_rank) < len(on_line):
                # a promotion with several adjustments on the line: taken in proportion
                out[line] = _take(work, [line], need, rank, taken)
                continue
            on_line = [by_rank[r] for r in sorted(by_rank)]
        got = 0
        for adjustment in on_line:
            take = need - got
            if take <= 0:
                break
            if take > adjustment[2]:
                take = adjustment[2]
            adjustment[2] -= take
            amounts[line] += take
            index = adjustment[0]
            taken[index] = taken.get(index, 0) + take
            got += take
        out[line] = got
    return out


def drop_gifts(work: Work, floor: Fraction, rank: Mapping[int, int]) -> None:
    """Drop gifts (lowest-ranked promotion first) while the order floor could not hold
    even with every discount taken back; only when dropping them can make it hold."""
    goods_cost = sum(work.costs)
    least = minimum_revenue(goods_cost + work.extra_cost, floor)
    revenue = sum(work.amounts)
    if least <= revenue:
        return  # the floor holds with the gifts as it is
    most = revenue + sum(a[2] for a in work.adjustments if a[1] >= 0 and a[2] > 0)
    if least <= most:
        return
    if minimum_revenue(goods_cost, floor) > most:
        return  # the goods alone break the floor: dropping gifts would not hold it
    order = sorted(range(len(work.gifts)), key=lambda k: (rank.get(work.gifts[k][0], -1), -k))
    for k in order:
        if minimum_revenue(goods_cost + work.extra_cost, floor) <= most:
            break
        work.extra_cost -= work.gifts[k][1]
        work.dropped.append(k)


def gift_givers(work: Work, floors: Floors) -> set[int]:
    """Promotions whose gifts break the order floor at the current figures: the floor
    is broken, and would hold without the gifts' cost (for ``on_breach = reject``)."""
    if floors.order is None or not work.gifts or not work.amounts:
        return set()
    revenue, goods_cost = sum(work.amounts), sum(work.costs)
    if minimum_revenue(goods_cost + work.extra_cost, floors.order) <= revenue:
        return set()
    if minimum_revenue(goods_cost, floors.order) > revenue:
        return set()
    return {index for index, _ in work.gifts}


def _take(
    work: Work, lines: list[int], need: int, rank: Mapping[int, int], taken: dict[int, int]
) -> int:
    """Take up to ``need`` back from adjustments on ``lines``, lowest-ranked promotion
    first; a promotion's share is taken from its lines in proportion (largest remainder)."""
    by_promotion: dict[int, list[list[Any]]] = {}
    whole = len(lines) == len(work.amounts)  # the order floor: every line, ascending
    if whole:
        # straight from the adjustments, put in line order below for the promotions
        # actually trimmed: the order by_line gives, without building it
        for adjustment in work.adjustments:
            if adjustment[1] >= 0 and adjustment[2] > 0:
                found = by_promotion.get(adjustment[0])
                if found is None:
                    by_promotion[adjustment[0]] = [adjustment]
                else:
                    found.append(adjustment)
    else:
        by_line = work.by_line
        for i in lines:
            for adjustment in by_line[i]:
                if adjustment[2] > 0:
                    by_promotion.setdefault(adjustment[0], []).append(adjustment)
    got = 0
    for index in sorted(by_promotion, key=lambda p: rank.get(p, -1)):
        if got >= need:
            break
        adjustments = by_promotion[index]
        if whole:
            adjustments.sort(key=_LINE)  # stable: ties keep the order they were made
        available = sum(a[2] for a in adjustments)
        take = min(need - got, available)
        parts = allocate(take, [a[2] for a in adjustments])
        for adjustment, part in zip(adjustments, parts, strict=True):
            adjustment[2] -= part
            work.amounts[adjustment[1]] += part
        taken[index] = taken.get(index, 0) + take
        got += take
    return got


def report(work: Work, floors: Floors, trimmed: dict[str, int]) -> tuple[Floor, ...]:
    """The floors as they stand on the final figures."""
    out: list[Floor] = []
    broken = {b.name for b in breaches(work, floors)}

    def add(name: str, minimum: Fraction, revenue: int, cost: int) -> None:
        margin = Fraction(revenue - cost, revenue) if revenue > 0 else None
        out.append(Floor(name, minimum, margin, name not in broken, trimmed.get(name, 0)))

    amounts, costs = work.amounts, work.costs
    if floors.order is not None and amounts:
        add(ORDER, floors.order, sum(amounts), sum(costs) + work.extra_cost)
    for category, floor in floors.categories.items():
        lines = [i for i, c in enumerate(work.categories) if c == category]
        if lines:
            add(
                f"category:{category}",
                floor,
                sum(amounts[i] for i in lines),
                sum(costs[i] for i in lines),
            )
    if floors.line is not None:
        for i in range(len(amounts)):
            name = f"line[{i}]"
            if name in broken or name in trimmed:
                add(name, floors.line, amounts[i], costs[i])
    return tuple(out)
