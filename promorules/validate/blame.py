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
from collections.abc import Callable, Sequence
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
    return [
        k
        for k, item in enumerate(bounds.space.items)
        if (floor.category is None or item.category == floor.category)
        and not (
            floor.name == "line"
            and not item.synthetic
            and item.price * (1 - floor.floor) < item.cost
        )
    ]


def _cost(bounds: Bounds, k: int, floor: FloorSpec) -> Fraction:
    item = bounds.space.items[k]
    if floor.name == "line" and item.synthetic:
        return min(item.cost, item.price * (1 - floor.floor))
    return item.cost


class _Scan:
    """The terms of every item in every slot and channel, worked out once per group of
    items that share their promotions' depths (a catalogue of 100,000 skus has a few
    dozen such groups), so the exact arithmetic runs per group, not per sku. Floats
    only pick which items to check exactly: every decision is made in fractions."""

    def __init__(
        self, bounds: Bounds, items: Sequence[int], floor: FloorSpec, kinds: Sequence[int]
    ) -> None:
        self.bounds = bounds
        self.floor = floor
        self.keep = 1 - floor.floor
        self.contexts = [frozenset(c.active) for c in bounds.contexts]
        groups: dict[int, list[int]] = {}
        for k in items:
            groups.setdefault(kinds[k], []).append(k)
        self.groups = list(groups.values())
        self._terms: dict[tuple[int, int, int], tuple[_Terms, Fraction]] = {}
        self._most: dict[tuple[int, Fraction, bool], Fraction | None] = {}

    def most(self, group: int, slack: Fraction, costly: bool) -> Fraction | None:
        """``max((cost / (1 - f) + slack) / price)`` over the group's items (with a cost
        only, when ``costly``): a unit of item ``k`` falls below the floor exactly when
        its lanes leave it less than that share of its price (``factor < most``), and the
        figure depends on the slot and channel only through ``slack``."""
        key = (group, slack, costly)
        if key in self._most:
            return self._most[key]
        bounds, floor, keep = self.bounds, self.floor, self.keep
        rough_keep = float(keep)
        ks = [k for k in self.groups[group] if not costly or _cost(bounds, k, floor) > 0]
        found: Fraction | None = None
        if ks:
            rough = [
                (float(_cost(bounds, k, floor)) / rough_keep + slack) / bounds.space.items[k].price
                for k in ks
            ]
            top = max(rough)
            found = max(
                (_cost(bounds, k, floor) / keep + slack) / bounds.space.items[k].price
                for k, r in zip(ks, rough, strict=True)
                if r >= top - 1e-9
            )
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


def _least(
    items: Sequence[int], rough: Callable[[int], float], exact: Callable[[int], Fraction]
) -> Fraction:
    """``min(exact(k))`` over ``items``, evaluated exactly only where ``rough`` (the same
    figure in floats, off by far less than 1e-9) comes within 1e-9 of its least."""
    values = [rough(k) for k in items]
    low = min(values)
    return min(exact(k) for k, v in zip(items, values, strict=True) if v <= low + 1e-9)


def groups_of(bounds: Bounds) -> list[int]:
    """Per item, a number shared by items whose promotions' depths are the same: the
    bound's own groups (:attr:`Bounds.group_of`)."""
    return bounds.group_of


def blame(bounds: Bounds, floor: FloorSpec, groups: Sequence[int] | None = None) -> Blame:
    """The promotions ``floor`` fails on under ``bounds``, and what would make it hold.
    ``groups``: :func:`groups_of` ``bounds``, when blaming several floors."""
    f = floor.floor
    if f >= 1:
        return Blame()
    items = floor_items(bounds, floor)
    scan = _Scan(bounds, items, floor, groups_of(bounds) if groups is None else groups)
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
        gift_culprits, gift_fixes = _gifts(scan, floor, items)
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


def _gifts(scan: _Scan, floor: FloorSpec, items: Sequence[int]) -> tuple[set[int], list[str]]:
    """Gifts whose cost the margin the order keeps cannot carry from their threshold
    (no unit falls below the floor, yet the order does): each one's smallest threshold
    that keeps it, the other gifts as they are."""
    f = floor.floor
    culprits: set[int] = set()
    needed: dict[int, int | None] = {}
    bounds = scan.bounds
    keep = 1 - f
    for c, active in enumerate(scan.contexts):
        ratio: Fraction | None = None
        for g, group in enumerate(scan.groups):
            terms, whole = scan.terms(g, c)

            def slack(k: int, terms: _Terms = terms, whole: Fraction = whole) -> Fraction:
                """The margin a unit of ``k`` keeps above the floor, per unit of list."""
                item = bounds.space.items[k]
                paid = max(item.price * whole - terms.slack, Fraction(0))
                return (paid * keep - item.cost) / item.price

            def rough(k: int, n: float = float(terms.slack), w: float = float(whole)) -> float:
                item = bounds.space.items[k]
                paid = max(item.price * w - n, 0.0)
                return (paid * float(keep) - float(item.cost)) / item.price

            least = _least(group, rough, slack)
            ratio = least if ratio is None else min(ratio, least)
        if ratio is None:
            continue
        lowest = min(bounds.space.items[k].price for k in items)
        gifts = [
            (bounds.promos[i].bound.min_base, bounds.promos[i].bound.extra_cost, i)
            for i in sorted(active)
            if bounds.promos[i].bound.extra_cost > 0
            and (i in bounds.without_lines or any(i in bounds.touch[k] for k in items))
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
