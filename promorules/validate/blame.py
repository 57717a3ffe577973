"""Where a floor is not proven: which promotions' bounds make it fail, and what would
make it hold.

This module reads the per-promotion terms :class:`~promorules.validate.bounds.Bounds`
composes (each promotion's depth on a unit of each sku, its lane, its group, its gift
cost and threshold) and changes none of them. For a unit that the composed bound lets
fall below the floor, the promotions touching it are the ones the proof fails on. For
one of them alone, with every other term as it is:

- the largest per-line share (a percent) that keeps the floor on every unit it touches,
  in every slot and channel, solved exactly from ``p * prod(1 - d_lane) - n`` (see
  docs/validate.md); stated only when every failing unit is one the promotion touches,
  so that lowering it alone is enough;
- for a gift whose cost the order's margin cannot carry, the smallest threshold from
  which the margin left on the cheapest order reaching it covers its cost (when its
  kind's bound ties the cost to a threshold, ``min_base``).

Figures are rounded towards the safe side: a percent down, a threshold up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import attrs

from promorules.money import format_amount, format_percent
from promorules.validate.bounds import Bounds, FloorSpec
from promorules.validate.rounding import SCALE

_ONE = Fraction(1)


@attrs.frozen
class Blame:
    """The promotions a floor fails on, and the changes that would make it hold."""

    culprits: tuple[str, ...] = ()
    """Promotion ids whose bounds let a unit fall below the floor (or add a gift cost
    the order cannot carry), the deepest first (the largest share of a failing unit its
    bound allows; ruleset order among equals)."""
    fixes: tuple[str, ...] = ()
    """One change per promotion that alone would make the bound hold the floor."""


@attrs.frozen
class _Terms:
    lanes: tuple[Fraction, ...]
    """Per lane, the summed per-line depth of the promotions counted."""
    slack: Fraction
    """The rounding allowance in minor units: each promotion's (an exclusive group's
    once, by its largest)."""
    used: frozenset[int]


def unit_terms(
    bounds: Bounds, k: int, active: frozenset[int], skip: frozenset[int] = frozenset()
) -> _Terms:
    """The lane depths of one unit of item ``k``, composed by the bound itself
    (:meth:`Bounds.lane_depths <promorules.validate.bounds.Bounds.lane_depths>`)."""
    lanes, slack, used = bounds.lane_depths(k, active, skip)
    return _Terms(tuple(lanes), slack, frozenset(used))


def factor(terms: _Terms) -> Fraction:
    out = _ONE
    for depth in terms.lanes:
        out *= 1 - min(depth, _ONE)
    return out


def floor_items(bounds: Bounds, floor: FloorSpec) -> list[int]:
    """The items a floor speaks of, as :meth:`Bounds.claim` picks them."""
    return sorted(k for _, population in bounds.populations(floor) for k in population.items)


class _Scan:
    """The terms of every item in every slot and channel, worked out once per group of
    items that share their promotions' depths (the bound's groups: a catalogue of
    100,000 skus has a few dozen), so the exact arithmetic runs per group, not per sku;
    the extremes over a group's skus are the bound's own (:mod:`.extremes`)."""

    def __init__(self, bounds: Bounds, floor: FloorSpec) -> None:
        self.bounds = bounds
        self.floor = floor
        self.keep = 1 - floor.floor
        self.contexts = [frozenset(c.active) for c in bounds.contexts]
        found = bounds.populations(floor)
        self.ids = [g for g, _ in found]
        """Per group of the scan, the bound's group."""
        self.populations = [population for _, population in found]
        self.groups = [population.items for population in self.populations]
        self._terms: dict[tuple[int, int, int], tuple[_Terms, Fraction]] = {}
        self._most: dict[tuple[int, Fraction, bool], Fraction | None] = {}

    def most(self, group: int, slack: Fraction, costly: bool) -> Fraction | None:
        """``max((cost / (1 - f) + slack) / price)`` over the group's items (with a cost
        only, when ``costly``): a unit of item ``k`` falls below the floor exactly when
        its lanes leave it less than that share of its price (``factor < most``), and the
        figure depends on the slot and channel only through ``slack``. The steepest
        point ``(price, cost)`` seen from ``(0, -slack * (1 - f))``."""
        key = (group, slack, costly)
        if key in self._most:
            return self._most[key]
        keep = self.keep
        population = self.populations[group]
        if costly:
            population = population.costly()
        found: Fraction | None = None
        if len(population):
            y = slack * keep * population.cost_den
            at = population.steepest(0, len(population), (0, 1), (-y.numerator, y.denominator))
            cost = Fraction(population.costs[at], population.cost_den)
            found = (cost / keep + slack) / population.prices[at]
        self._most[key] = found
        return found

    def terms(self, group: int, context: int, skip: int = -1) -> tuple[_Terms, Fraction]:
        key = (group, context, skip)
        found = self._terms.get(key)
        if found is None:
            k = self.groups[group][0]
            skipped = frozenset({skip}) if skip >= 0 else frozenset()
            terms = unit_terms(self.bounds, k, self.contexts[context], skipped)
            found = self._terms[key] = (terms, factor(terms))
        return found


def blame(bounds: Bounds, floor: FloorSpec) -> Blame:
    """The promotions ``floor`` fails on under ``bounds``, and what would make it hold."""
    f = floor.floor
    if f >= 1:
        return Blame()
    scan = _Scan(bounds, floor)
    failing: list[tuple[int, int]] = []
    """(group, context) pairs in which some unit falls below the floor."""
    culprits: set[int] = set()
    deepest: dict[int, Fraction] = {}
    for c in range(len(scan.contexts)):
        for g, group in enumerate(scan.groups):
            terms, whole = scan.terms(g, c)
            most = scan.most(g, terms.slack, costly=True)
            if most is None or whole >= most:
                continue
            failing.append((g, c))
            for i in terms.used:
                price_part, depth = bounds.depth[group[0]][i]
                if price_part > 0 or depth > 0:
                    culprits.add(i)
                    deepest[i] = max(deepest.get(i, Fraction(0)), price_part + depth)
    fixes: list[str] = []
    # on the order floor a gift's cost is carried by the margin the units keep, so a
    # share that only keeps every unit at the floor would not be enough to state
    gifts = floor.name == "order" and any(p.bound.extra_cost > 0 for p in bounds.promos)
    for i in sorted(culprits) if not gifts else ():
        share = _largest_share(scan, failing, i)
        if share is not None:
            fixes.append(
                f"{bounds.promos[i].promotion.id}: a per-line share of at most "
                f"{_pct_down(share)} keeps the floor"
            )
    if floor.name == "order" and not failing:
        gift_culprits, gift_fixes = _gifts(scan, floor)
        culprits.update(gift_culprits)
        fixes += gift_fixes
    return Blame(
        tuple(
            bounds.promos[i].promotion.id
            for i in sorted(culprits, key=lambda i: (-deepest.get(i, Fraction(0)), i))
        ),
        tuple(fixes),
    )


def _takes(bounds: Bounds, i: int, k: int) -> bool:
    price_part, depth = bounds.depth[k].get(i, (Fraction(0), Fraction(0)))
    return price_part > 0 or depth > 0


def _largest_share(scan: _Scan, failing: Sequence[tuple[int, int]], i: int) -> Fraction | None:
    """The largest per-line depth of promotion ``i`` (others as they are) that keeps
    every unit it touches at the floor; ``None`` when lowering it alone is not enough
    (a failing unit it does not touch, a price-lane offer, or no share at all)."""
    bounds = scan.bounds
    promo = bounds.promos[i]
    if promo.lane == bounds.price_position:
        return None  # a unit price, not a share: its own bound says what it charges
    if any(
        not (i in scan.contexts[c] and _takes(bounds, i, scan.groups[g][0])) for g, c in failing
    ):
        return None
    best: Fraction | None = None
    for c, active in enumerate(scan.contexts):
        if i not in active:
            continue
        for g, group in enumerate(scan.groups):
            if not _takes(bounds, i, group[0]):
                continue
            rest, _ = scan.terms(g, c, i)
            other = Fraction(1)
            for lane, depth in enumerate(rest.lanes):
                if lane != promo.lane:
                    other *= 1 - min(depth, _ONE)
            if other <= 0:
                return None
            # a unit of k holds while its lanes leave at least most(k) of its price:
            # (1 - rest - share) * other >= (cost / (1 - f) + slack) / price, and ``i``
            # keeps its rounding allowance whatever its share
            most = scan.most(g, rest.slack + Fraction(promo.allowance, SCALE), costly=False)
            assert most is not None  # every group holds an item
            share = 1 - rest.lanes[promo.lane] - most / other
            best = share if best is None else min(best, share)
    if best is None or best <= 0:
        return None
    return min(best, _ONE)


def _gifts(scan: _Scan, floor: FloorSpec) -> tuple[set[int], list[str]]:
    """Gifts whose cost the margin the order keeps cannot carry from their threshold
    (no unit falls below the floor, yet the order does): each one's smallest threshold
    that keeps it, the other gifts as they are."""
    f = floor.floor
    culprits: set[int] = set()
    needed: dict[int, int | None] = {}
    bounds = scan.bounds
    keep = 1 - f
    touched = frozenset().union(*(bounds.groups[g].touch for g in scan.ids))
    lowest = min(population.prices[0] for population in scan.populations)
    for active in scan.contexts:
        ratio: Fraction | None = None
        for g, population in zip(scan.ids, scan.populations, strict=True):
            # the least margin a unit keeps above the floor, per unit of list
            terms = bounds.terms(g, active)
            least, _ = bounds.least_share(population, terms.num, terms.den, terms.slack, keep)
            ratio = least if ratio is None else min(ratio, least)
        if ratio is None:
            continue
        gifts = [
            (bounds.promos[i].bound.min_base, bounds.promos[i].bound.extra_cost, i)
            for i in sorted(active)
            if bounds.promos[i].bound.extra_cost > 0 and (i in bounds.without_lines or i in touched)
        ]
        for base, cost, i in gifts:
            total = max(base, lowest)
            carried = sum(c for m, c, _ in gifts if max(m, lowest) <= total)
            if ratio * total >= carried:
                continue
            culprits.add(i)
            if base <= 0:
                # the kind ties no threshold to the gift's cost in its bound: raising its
                # threshold would not show in the proof, so no figure is stated
                needed[i] = None
                continue
            needed.setdefault(i, 0)
            threshold = _smallest_threshold(ratio, cost, [(m, c) for m, c, j in gifts if j != i])
            current = needed[i]
            needed[i] = None if threshold is None or current is None else max(current, threshold)
    fixes = [
        f"{bounds.promos[i].promotion.id}: a threshold of at least "
        f"{format_amount(amount, bounds.currency)} keeps the floor"
        for i, amount in sorted(needed.items())
        if amount is not None
    ]
    return culprits, fixes


def _smallest_threshold(
    ratio: Fraction, cost: int, others: Sequence[tuple[int, int]]
) -> int | None:
    """The least order total ``M`` with ``ratio * M >= cost + (gift costs of the others
    with a threshold up to M)``: the margin the cheapest order reaching ``M`` keeps
    covers every gift it brings. ``None`` when the margin grows with nothing to carry
    it (``ratio <= 0``) or another gift fails at its own threshold."""
    if ratio <= 0:
        return None
    for base, _ in others:
        if ratio * base < sum(c for m, c in others if m <= base):
            return None
    threshold = 0
    while True:
        carried = cost + sum(c for m, c in others if m <= threshold)
        wanted = math.ceil(carried / ratio)
        if wanted <= threshold:
            return threshold
        threshold = wanted


def _pct_down(rate: Fraction) -> str:
    return format_percent(Fraction(math.floor(rate * 10000), 10000))
