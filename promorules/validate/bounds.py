"""Stage 2: compose the plugins' discount bounds and check them against each floor.

Every kind states, through :meth:`promorules.kind.Kind.bound`, the most one of its
promotions can take (:class:`promorules.kind.Bound`). This module composes those
bounds along the lanes for every sku of the space, in every slot of time and channel,
and proves a floor when the composed worst case still holds it. The maths, in short
(docs/validate.md has it in full):

- within a lane, promotions measure on the same base, so their shares add up (an
  exclusive group counts once, by its deepest member), capped at 1; lanes compound on
  what is left: a unit of list price ``p`` pays at least ``p * prod(1 - d_lane) - n``,
  where ``n`` is the rounding allowance of the promotions touching it
  (:mod:`promorules.validate.rounding`);
- a line floor ``f`` holds when ``paid * (1 - f) >= cost`` for every unit;
- the order floor also sets gift costs (``extra_cost``) against the least order that
  can carry them (``min_base``), and may count a capped promotion as its cap instead
  of its share. Where a kind promises no per-line share (``line_rate``), a line may
  lose all of it; the order is then bounded by the pooled shares of every lane.

Nothing is PROVEN unless this arithmetic, done exactly, shows it. Skus that share every
term (category, promotions in scope, depths) form a group whose terms are composed
once per slot, as whole numbers; what a floor asks of a group's skus is found on the
convex hull of their (price, cost) points (:mod:`promorules.validate.extremes`), so the
work per sku is reading it into its group.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from fractions import Fraction

import attrs

from promorules.engine import Engine
from promorules.kind import Bound, CompileEnv, Lane
from promorules.money import format_percent
from promorules.ruleset import Promotion, Ruleset
from promorules.validate.extremes import Population
from promorules.validate.rounding import SCALE, allowance
from promorules.validate.space import Item, Space


@attrs.frozen
class FloorSpec:
    """One guardrail floor the validator reports on."""

    name: str
    """``order``, ``line`` or ``category:<name>`` (stable, for scripts)."""
    label: str
    floor: Fraction
    path: tuple[str, ...]
    category: str | None = None


def floors_of(ruleset: Ruleset) -> list[FloorSpec]:
    g = ruleset.guardrails
    out = []
    if g.min_order_margin is not None:
        out.append(
            FloorSpec(
                "order",
                "order margin",
                Fraction(g.min_order_margin),
                ("guardrails", "min_order_margin"),
            )
        )
    if g.min_line_margin is not None:
        out.append(
            FloorSpec(
                "line",
                "line margin",
                Fraction(g.min_line_margin),
                ("guardrails", "min_line_margin"),
            )
        )
    for category, rate in g.categories.items():
        out.append(
            FloorSpec(
                f"category:{category}",
                f"category {category} margin",
                Fraction(rate),
                ("guardrails", "categories", category),
                category,
            )
        )
    return out


@attrs.frozen
class Claim:
    """What the bound says about one floor."""

    floor: FloorSpec
    proven: bool
    worst_margin: Fraction | None
    """The lowest margin the composed bound allows (``None``: it allows a payable of zero
    on a line with a cost)."""
    worst: str
    """Where the worst case sits: a sku (or category) and a moment."""
    rests_on: tuple[str, ...]
    """The promotions whose bounds the claim composes, with their notes."""
    reason: str

    @property
    def gap(self) -> Fraction | None:
        """How far the bound's worst margin falls below the floor (``None``: unbounded)."""
        if self.worst_margin is None:
            return None
        return max(self.floor.floor - self.worst_margin, Fraction(0))


class _Promo:
    __slots__ = (
        "absolute",
        "allowance",
        "bound",
        "channels",
        "fixed",
        "group",
        "index",
        "lane",
        "promotion",
        "rate",
        "unlisted",
    )

    def __init__(
        self,
        index: int,
        promotion: Promotion,
        bound: Bound,
        lane: int,
        allowance: int,
        price_lane: bool,
    ) -> None:
        self.index = index
        self.promotion = promotion
        self.bound = bound
        self.lane = lane
        self.group = promotion.group
        self.channels = frozenset(promotion.channels)
        # only the kind's own cap bounds an order: a budget is a ledger counter that
        # `ledger adjust` may raise at any time, so no proof may rest on it
        self.absolute: int | None = bound.cap
        self.allowance = allowance
        """The rounding allowance on one line, in :data:`SCALE`-ths of a minor unit."""
        self.rate = Fraction(bound.rate)
        """The most it takes from its pool, as a share of it (a bound by the dearest unit
        in scope is refined once the space is known, :meth:`refine_by_dearest`)."""
        self.fixed = _fixed_depth(self, price_lane)
        """What it takes from a unit of any sku it touches (see :func:`_unit_depth`);
        ``None`` where that depends on the sku (a price-lane bound refined per sku)."""
        self.unlisted: tuple[Fraction, Fraction] | None = None
        """Where ``fixed`` is ``None``: what it takes from a unit of a sku its bound
        lists no unit price for, when that does not depend on the sku either."""
        if self.fixed is None and "*" not in bound.unit_prices and bound.unit_off == 0:
            self.unlisted = (min(bound.other_rate or Fraction(0), Fraction(1)), Fraction(0))

    def refine_by_dearest(self, dearest: int | None) -> None:
        """Refine a ``group_price`` bound (a bundle) by the highest list price a unit in
        its scope can have (``None``: unknown): every unit it touches loses at most
        :meth:`Bound.group_depth <promorules.kind.Bound.group_depth>` of its amount,
        and so does its pool; ``max_groups`` caps an order (``Bound.group_cap``)."""
        bound = self.bound
        depth = min(bound.group_depth(dearest), Fraction(1))
        self.rate = depth
        self.absolute = bound.group_cap(dearest)
        self.fixed = (Fraction(0), Fraction(0) if self.absolute == 0 else depth)
        self.unlisted = None


def _fixed_depth(promo: _Promo, price_lane: bool) -> tuple[Fraction, Fraction] | None:
    bound = promo.bound
    if bound.rate <= 0 or promo.absolute == 0:
        return Fraction(0), Fraction(0)
    if bound.group_price is not None:
        return Fraction(0), Fraction(1)  # until refined by the dearest unit in scope
    if price_lane:
        # price-lane offers are unit prices: per unit by construction. A Bound that
        # refines the depth per sku (unit prices, a credit per unit) is used when it
        # has one and the sku's list price is known.
        if bound.refined:
            return None
        return Fraction(0), min(Fraction(bound.rate), Fraction(1))
    if bound.line_rate is None:
        return Fraction(0), Fraction(1)
    return Fraction(0), min(Fraction(bound.line_rate), Fraction(1))


def _unit_depth(promo: _Promo, item: Item) -> tuple[Fraction, Fraction]:
    """The most ``promo`` takes from one unit (or line) of ``item``, as shares of it:
    ``(price part, the rest)``. The price part, a unit price of the price lane, competes
    with the lane's other unit prices (each unit pays one); the rest adds up."""
    if promo.fixed is not None:
        return promo.fixed
    if item.synthetic:
        return Fraction(0), min(Fraction(promo.bound.rate), Fraction(1))
    if promo.unlisted is not None and item.sku not in promo.bound.unit_prices:
        return promo.unlisted
    price_part, credit = promo.bound.unit_parts(item.sku, item.price)
    return min(price_part, Fraction(1)), min(credit, Fraction(1))


@attrs.frozen
class _Context:
    """A slot of time and a channel: which promotions can be live together."""

    label: str
    active: tuple[int, ...]


class _Group:
    """Items the composition cannot tell apart: the same category, the same promotions
    in scope, the same depth of each on a unit. Everything but a sku's list price and
    cost is worked out once per group."""

    __slots__ = ("category", "depth", "items", "touch")

    def __init__(
        self, touch: frozenset[int], category: str, depth: dict[int, tuple[Fraction, Fraction]]
    ) -> None:
        self.touch = touch
        self.category = category
        self.depth = depth
        self.items: list[int] = []


@attrs.frozen
class _Terms:
    """The composed terms of a group's unit in one slot and channel: its factor
    ``prod(1 - d_lane)`` as ``num / den``, its rounding allowance in :data:`SCALE`-ths
    of a minor unit, the lane depths and the promotions that contributed."""

    num: int
    den: int
    slack: int
    lanes: tuple[Fraction, ...]
    used: tuple[int, ...]


class Bounds:
    """The composed bounds of one engine over one space; :meth:`claim` per floor."""

    def __init__(self, engine: Engine, space: Space) -> None:
        ruleset = engine.ruleset
        self.space = space
        self.currency = engine.currency
        lanes = engine.lanes
        price_position = lanes.index(Lane.PRICE)
        self.lane_count = len(lanes)
        self.price_position = price_position
        env = CompileEnv(ruleset, engine.rounding, engine.currency)
        self.promos: list[_Promo] = []
        for index, promotion in enumerate(ruleset.promotions):
            kind = engine.kinds[promotion.kind]
            lane = lanes.index(promotion.effective_lane(kind))
            bound = engine.bound(index)
            slack = allowance(kind.rule(promotion, env), engine.rounding)
            self.promos.append(_Promo(index, promotion, bound, lane, slack, lane == price_position))
        self.without_lines = {
            i for i, p in enumerate(ruleset.promotions) if engine.kinds[p.kind].without_lines
        }
        self.categories = ruleset.catalog.categories
        self.ruleset = ruleset
        self.groups: list[_Group] = []
        self.group_of = self._group(space.items)
        """Per item, its group (an index into :attr:`groups`)."""
        self.touch: list[frozenset[int]] = [self.groups[g].touch for g in self.group_of]
        """Per item, the promotions that may touch it."""
        self.depth: list[dict[int, tuple[Fraction, Fraction]]] = [
            self.groups[g].depth for g in self.group_of
        ]
        """Per item: each touching promotion's (price part, rest) of a unit."""
        # list prices and costs as whole numbers, read once
        items = space.items
        self._prices = [item.price for item in items]
        self._cost_num = [item.cost.numerator for item in items]
        self._cost_den = [item.cost.denominator for item in items]
        self.contexts = self._contexts(ruleset)
        self._terms: dict[tuple[int, frozenset[int], frozenset[int]], _Terms] = {}
        self._populations: dict[tuple[int, Fraction | None], Population] = {}

    def _group(self, items: Sequence[Item]) -> list[int]:
        """Sort the items into groups (:class:`_Group`) by the promotions that may touch
        them (:meth:`Space.scopes <promorules.validate.space.Space.scopes>`) and what
        each takes from a unit."""
        promos = self.promos
        touches = self.space.scopes(self.ruleset.promotions).touch
        self._refine_by_dearest(items, touches)
        refined = [p for p in promos if p.fixed is None]
        seen: dict[tuple[object, ...], int] = {}
        out = []
        for k, item in enumerate(items):
            touch = touches[k]
            parts = tuple((p.index, _unit_depth(p, item)) for p in refined if p.index in touch)
            key = (touch, item.category, item.synthetic, parts)
            g = seen.get(key)
            if g is None:
                g = seen[key] = len(self.groups)
                depth = {i: _unit_depth(promos[i], item) for i in sorted(touch)}
                self.groups.append(_Group(touch, item.category, depth))
            self.groups[g].items.append(k)
            out.append(g)
        return out

    def _refine_by_dearest(self, items: Sequence[Item], touches: Sequence[frozenset[int]]) -> None:
        """Refine every ``group_price`` bound (a bundle) by the highest list price of a
        unit in its scope: a catalogue sku's price, a declared category's ``max_price``
        (unknown when it declares none)."""
        grouped = [p for p in self.promos if p.bound.group_price is not None]
        if not grouped:
            return
        categories = self.categories
        dearest: dict[int, int | None] = {p.index: 0 for p in grouped}
        seen: dict[frozenset[int], int | None] = {}
        for item, touch in zip(items, touches, strict=True):
            high: int | None = item.price
            if item.synthetic:
                facts = categories.get(item.category)
                high = facts.max_price if facts is not None else None
            if touch not in seen:
                seen[touch] = high
            elif (known := seen[touch]) is not None:
                seen[touch] = None if high is None else max(known, high)
        for touch, high in seen.items():
            for i in touch:
                if i in dearest:
                    known = dearest[i]
                    dearest[i] = None if high is None or known is None else max(known, high)
        for promo in grouped:
            most = dearest[promo.index]
            promo.refine_by_dearest(most)
            said = (
                "no dearest unit known in scope: the whole unit"
                if most is None
                else f"the dearest unit in scope listed at {self._money(most)}: "
                f"at most about {_pct(promo.rate)} of a unit"
                + (
                    f", {self._money(promo.absolute)} an order"
                    if promo.absolute is not None
                    else ""
                )
            )
            promo.bound = attrs.evolve(promo.bound, note=f"{promo.bound.note}; {said}")

    def _contexts(self, ruleset: Ruleset) -> list[_Context]:
        seen: dict[tuple[int, ...], str] = {}
        channels: list[str | None] = [None, *self.space.channels]
        for slot in self.space.slots:
            for channel in channels:
                active = tuple(
                    i
                    for i in sorted(slot.live)
                    if not self.promos[i].channels or channel in self.promos[i].channels
                )
                when = slot.moments[0].isoformat() if slot.moments else "any time"
                label = when + (f" on channel {channel}" if channel else "")
                seen.setdefault(active, label)
        return [_Context(label, active) for active, label in seen.items()]

    # -- per group -----------------------------------------------------------------------
    def terms(
        self, group: int, active: frozenset[int], skip: frozenset[int] = frozenset()
    ) -> _Terms:
        """The composed terms of one unit of the group's items (worked out once).

        Per lane, the depth one unit may lose; the rounding allowance ``n`` (each
        promotion's, an exclusive group's once, by its largest); and the promotions
        that contributed. A unit pays one unit price of the price lane, so the lane's
        price parts count by the deepest; everything else adds up (an exclusive group
        once, by its deepest member)."""
        key = (group, active, skip)
        found = self._terms.get(key)
        if found is not None:
            return found
        lanes: list[Fraction] = [Fraction(0)] * self.lane_count
        groups: dict[tuple[int, str], tuple[Fraction, int]] = {}
        used: list[int] = []
        slack = 0
        deepest_price = Fraction(0)
        for i, (price_part, depth) in self.groups[group].depth.items():
            if i not in active or i in skip or (depth <= 0 and price_part <= 0):
                continue
            used.append(i)
            deepest_price = max(deepest_price, price_part)
            promo = self.promos[i]
            if promo.group is not None:
                key_ = (promo.lane, promo.group)
                deepest, most = groups.get(key_, (Fraction(0), 0))
                groups[key_] = (max(deepest, depth), max(most, promo.allowance))
            else:
                lanes[promo.lane] += depth
                slack += promo.allowance
        for (lane, _group), (depth, most) in groups.items():
            lanes[lane] += depth
            slack += most
        lanes[self.price_position] += deepest_price
        num, den = 1, 1
        for depth in lanes:
            left = 1 - min(depth, Fraction(1))
            num *= left.numerator
            den *= left.denominator
        found = self._terms[key] = _Terms(num, den, slack, tuple(lanes), tuple(used))
        return found

    def lane_depths(
        self, item_index: int, active: frozenset[int], skip: frozenset[int] = frozenset()
    ) -> tuple[list[Fraction], Fraction, list[int]]:
        """Per lane, the depth one unit of the item may lose; its rounding allowance in
        minor units; and the promotions that contributed (see :meth:`terms`)."""
        terms = self.terms(self.group_of[item_index], active, skip)
        return list(terms.lanes), Fraction(terms.slack, SCALE), list(terms.used)

    def _population(self, group: int, floor: FloorSpec) -> Population:
        """The group's items a floor speaks of, with the costs it sets against them: a
        line already below the line floor at list price is not the ruleset's doing, and
        a synthetic item stands for every cost up to its declared one (its worst sku
        holding the line floor at list is costed)."""
        line = floor.name == "line"
        key = (group, floor.floor if line else None)
        found = self._populations.get(key)
        if found is not None:
            return found
        members = self.groups[group].items
        prices, nums, dens = self._prices, self._cost_num, self._cost_den
        if line:
            keep = 1 - floor.floor
            kn, kd = keep.numerator, keep.denominator
            chosen: list[int] = []
            costs: list[Fraction] = []
            for k in members:
                item = self.space.items[k]
                if item.synthetic:
                    chosen.append(k)
                    costs.append(min(item.cost, item.price * keep))
                elif prices[k] * kn * dens[k] >= nums[k] * kd:
                    chosen.append(k)
                    costs.append(item.cost)
            cost_den = math.lcm(*(c.denominator for c in costs))
            scaled = [c.numerator * (cost_den // c.denominator) for c in costs]
        else:
            chosen = members
            cost_den = math.lcm(*(dens[k] for k in members))
            scaled = [nums[k] * (cost_den // dens[k]) for k in members]
        found = Population(chosen, [prices[k] for k in chosen], scaled, cost_den)
        self._populations[key] = found
        return found

    def _pooled(self, active: frozenset[int], skip: frozenset[int]) -> Fraction:
        """A cart-independent factor from the promotions' pooled shares: in each lane the
        deepest sum any one sku can meet, compounded over the lanes."""
        worst = [Fraction(0)] * self.lane_count
        for group in self.groups:
            lanes = [Fraction(0)] * self.lane_count
            groups: dict[tuple[int, str], Fraction] = {}
            for i in group.touch:
                promo = self.promos[i]
                if i not in active or i in skip or promo.rate <= 0:
                    continue
                rate = min(promo.rate, Fraction(1))
                if promo.group is not None:
                    key = (promo.lane, promo.group)
                    groups[key] = max(groups.get(key, Fraction(0)), rate)
                else:
                    lanes[promo.lane] += rate
            for (lane, _group), rate in groups.items():
                lanes[lane] += rate
            worst = [max(a, b) for a, b in zip(worst, lanes, strict=True)]
        factor = Fraction(1)
        for depth in worst:
            factor *= 1 - min(depth, Fraction(1))
        return factor

    def riskiest_first(self) -> list[int]:
        """The items, the likeliest to breach first (the search tries them in this
        order): by the least ``(paid - cost) / price`` any context allows a unit, then
        by list price.

        Exact: each item's figure is a fraction of whole numbers; items are sorted by
        its nearest float (correctly rounded, so never out of order) and only items
        whose floats tie are put in order by the fractions themselves."""
        contexts = [frozenset(c.active) for c in self.contexts]
        prices, nums, dens = self._prices, self._cost_num, self._cost_den
        exact: list[tuple[int, int]] = [(0, 1)] * len(prices)
        for g, group in enumerate(self.groups):
            factors = {
                (t.num, t.den, t.slack) for t in (self.terms(g, active) for active in contexts)
            }
            for k in group.items:
                p, cn, cd = prices[k], nums[k], dens[k]
                if not factors:
                    exact[k] = (p * cd - cn, cd * p)
                    continue
                best: tuple[int, int] | None = None
                for fn, fd, n in factors:
                    # paid = max(p * fn / fd - n / SCALE, 0): over SCALE * fd
                    paid = max(SCALE * fn * p - n * fd, 0)
                    value = (paid * cd - SCALE * fd * cn, SCALE * fd * cd * p)
                    if best is None or value[0] * best[1] < best[0] * value[1]:
                        best = value
                assert best is not None
                exact[k] = best
        rough = [num / den for num, den in exact]
        order = sorted(range(len(prices)), key=lambda k: (rough[k], prices[k]))
        out: list[int] = []
        start = 0
        while start < len(order):
            end = start + 1
            while end < len(order) and rough[order[end]] == rough[order[start]]:
                end += 1
            run = order[start:end]
            if len(run) > 1:
                run.sort(key=lambda k: (Fraction(*exact[k]), prices[k]))
            out.extend(run)
            start = end
        return out

    # -- claims ------------------------------------------------------------------------
    def populations(self, floor: FloorSpec) -> list[tuple[int, Population]]:
        """The items ``floor`` speaks of, by group: ``(group, its items under the
        floor)`` for every group with one."""
        return [
            (g, population)
            for g, group in enumerate(self.groups)
            if floor.category is None or group.category == floor.category
            if len(population := self._population(g, floor))
        ]

    def claim(self, floor: FloorSpec) -> Claim:
        populations = self.populations(floor)
        if not populations:
            return Claim(
                floor,
                True,
                None,
                "",
                (),
                "no sku of the space falls under this floor"
                if floor.category is None
                else f"no sku of category {floor.category!r} in the space",
            )
        rests: set[int] = set()
        worst_margin: Fraction | None = Fraction(1)
        worst_where = ""
        reasons: list[str] = []
        proven = True
        for context in self.contexts:
            active = frozenset(context.active)
            if floor.name == "order":
                ok, margin, where, why, used = self._order(populations, active, floor.floor)
            else:
                ok, margin, where, why, used = self._lines(populations, active, floor.floor)
            rests |= used
            if _lower(margin, worst_margin):
                worst_margin, worst_where = margin, f"{where} at {context.label}"
            if not ok:
                proven = False
                if why and why not in reasons:
                    reasons.append(f"{why} (at {context.label})")
        rests_on = tuple(
            f"{self.promos[i].promotion.id} ({self.promos[i].bound.note or 'no note'})"
            for i in sorted(rests)
        )
        if proven:
            reason = (
                f"every sku keeps at least {_pct(worst_margin)} under the composed bound"
                if worst_margin is not None
                else "proven"
            )
        else:
            reason = "; ".join(reasons[:3]) + (" ..." if len(reasons) > 3 else "")
        return Claim(floor, proven, worst_margin, worst_where, rests_on, reason)

    def _worst(
        self, population: Population, num: int, den: int, slack: int
    ) -> tuple[Fraction | None, int]:
        """The lowest margin a unit of the population keeps when it pays ``max(p * F -
        n, 0)`` (``F = num / den``, ``n = slack / SCALE``), and the first item keeping
        it (``None``: a payable of zero on a unit with a cost)."""
        size = len(population)
        # a unit listed at or below n / F pays nothing
        start = size if num == 0 else population.paying(slack * den, SCALE * num)
        if start:
            costly = population.first_costly(start)
            if costly is not None:
                return None, population.items[costly]
            if start == size:
                return Fraction(1), population.items[0]
        # the margin is 1 - c / (F * (p - n / F)): the steepest (p, c) seen from (n / F, 0)
        at = population.steepest(start, size, (slack * den, SCALE * num), (0, 1))
        k = population.items[at]
        cost = Fraction(population.costs[at], population.cost_den)
        return _margin(self._paid(k, num, den, slack), cost), k

    def least_share(
        self, population: Population, num: int, den: int, slack: int, keep: Fraction
    ) -> tuple[Fraction, int]:
        """The least ``(paid * keep - c) / p`` over the population, paying ``max(p * F -
        n, 0)``, and the first item with it."""
        size = len(population)
        start = size if num == 0 else population.paying(slack * den, SCALE * num)
        found: list[tuple[Fraction, int]] = []
        if start:
            # paying nothing: -c / p, least at the steepest (p, c) seen from (0, 0)
            at = population.steepest(0, start, (0, 1), (0, 1))
            found.append((self._share(population, at, Fraction(0), keep), at))
        if start < size:
            # F * keep - (c + n * keep) / p: the steepest seen from (0, -n * keep)
            y = slack * keep * population.cost_den
            at = population.steepest(start, size, (0, 1), (-y.numerator, SCALE * y.denominator))
            k = population.items[at]
            found.append((self._share(population, at, self._paid(k, num, den, slack), keep), at))
        value, at = min(found)
        return value, population.items[at]

    def _share(self, population: Population, at: int, paid: Fraction, keep: Fraction) -> Fraction:
        item = self.space.items[population.items[at]]
        return (paid * keep - Fraction(population.costs[at], population.cost_den)) / item.price

    def _paid(self, k: int, num: int, den: int, slack: int) -> Fraction:
        """What a unit of item ``k`` pays at least under factor ``num / den`` and
        allowance ``slack``."""
        return max(Fraction(SCALE * num * self._prices[k] - slack * den, SCALE * den), Fraction(0))

    def _first_breaking(
        self, population: Population, num: int, den: int, slack: int, keep: Fraction
    ) -> int:
        """The first position of the population whose unit breaks the floor (one does)."""
        kn, kd = keep.numerator, keep.denominator
        prices, costs, cost_den = population.prices, population.costs, population.cost_den
        for at, p in enumerate(prices):
            paid = max(SCALE * num * p - slack * den, 0)
            # paid / (SCALE * den) * keep < cost / cost_den, cross-multiplied
            if paid * kn * cost_den < costs[at] * SCALE * den * kd:
                return at
        raise AssertionError("no unit breaks the floor")

    def _lines(
        self,
        populations: Sequence[tuple[int, Population]],
        active: frozenset[int],
        floor: Fraction,
    ) -> tuple[bool, Fraction | None, str, str, set[int]]:
        """Line and category floors: every unit must hold the floor on its own (a
        category's margin is a revenue-weighted mean of its lines' margins). A unit
        breaks the floor exactly when its margin is below it."""
        keep = 1 - floor
        worst: Fraction | None = Fraction(1)
        worst_at = -1
        breaking: tuple[int, int, Population] | None = None
        used_all: set[int] = set()
        for g, population in populations:
            terms = self.terms(g, active)
            used_all.update(terms.used)
            margin, k = self._worst(population, terms.num, terms.den, terms.slack)
            if _lower(margin, worst) or (margin == worst and margin != 1 and k < worst_at):
                worst, worst_at = margin, k
            if margin is None or margin < floor:
                at = self._first_breaking(population, terms.num, terms.den, terms.slack, keep)
                k = population.items[at]
                if breaking is None or k < breaking[0]:
                    breaking = (k, at, population)
        where = _name(self.space.items[worst_at]) if worst_at >= 0 else ""
        if breaking is None:
            return True, worst, where, "", used_all
        k, at, population = breaking
        item = self.space.items[k]
        terms = self.terms(self.group_of[k], active)
        paid = self._paid(k, terms.num, terms.den, terms.slack)
        cost = Fraction(population.costs[at], population.cost_den)
        why = (
            f"{_name(item)} may pay {self._money(paid)} per unit against a cost of "
            f"{self._money(cost)}" + self._hint(item)
        )
        return False, worst, where, why, used_all

    def _order(
        self,
        populations: Sequence[tuple[int, Population]],
        active: frozenset[int],
        floor: Fraction,
    ) -> tuple[bool, Fraction | None, str, str, set[int]]:
        capped = frozenset(
            i for i in active if self.promos[i].absolute is not None and self.promos[i].rate > 0
        )
        touched = frozenset().union(*(self.groups[g].touch for g, _ in populations))
        gifts = sorted(
            (self.promos[i].bound.min_base, self.promos[i].bound.extra_cost, i)
            for i in active
            if self.promos[i].bound.extra_cost > 0 and (i in self.without_lines or i in touched)
        )
        used_all: set[int] = {i for _, _, i in gifts}
        lowest_list = min(population.prices[0] for _, population in populations)
        best: tuple[bool, Fraction | None, str, str] | None = None
        variants: list[frozenset[int]] = [frozenset()]
        if capped:
            variants.append(capped)
        for skip in variants:
            absolute = sum(self.promos[i].absolute or 0 for i in skip)
            pooled = self._pooled(active, skip)
            for per_line in (True, False):
                ok, worst, where, why = self._order_case(
                    populations,
                    active,
                    skip,
                    per_line,
                    pooled,
                    absolute,
                    gifts,
                    lowest_list,
                    floor,
                    used_all,
                )
                case = (ok, worst, where, why)
                # report the proof that works; failing that, the bound with every discount
                # counted as a share (margins with a capped discount left out would flatter)
                proves = ok and (best is None or not best[0] or _lower(best[1], worst))
                plain = not skip and (best is None or (not best[0] and _lower(best[1], worst)))
                if proves or plain:
                    best = case
        assert best is not None
        return (*best, used_all)

    def _order_case(
        self,
        populations: Sequence[tuple[int, Population]],
        active: frozenset[int],
        skip: frozenset[int],
        per_line: bool,
        pooled: Fraction,
        absolute: int,
        gifts: Sequence[tuple[int, int, int]],
        lowest_list: int,
        floor: Fraction,
        used_all: set[int],
    ) -> tuple[bool, Fraction | None, str, str]:
        """One way of bounding the order: per-line depths or pooled shares, capped
        promotions as shares or as their caps. Slack per unit is ``paid * (1 - f) -
        cost``; the order holds when the least slack per unit of list price, times the
        least list total that carries each gift, covers the gifts and the caps."""
        keep = 1 - floor
        ratio: Fraction | None = None
        ratio_at = -1
        worst: Fraction | None = Fraction(1)
        worst_at = -1
        for g, population in populations:
            terms = self.terms(g, active, skip)
            if per_line:
                num, den = terms.num, terms.den
            else:
                num, den = pooled.numerator, pooled.denominator
            used_all.update(terms.used)
            used_all.update(skip & self.groups[g].touch)
            margin, k = self._worst(population, num, den, terms.slack)
            if _lower(margin, worst) or (margin == worst and margin != 1 and k < worst_at):
                worst, worst_at = margin, k
            share, k = self.least_share(population, num, den, terms.slack, keep)
            if ratio is None or share < ratio or (share == ratio and k < ratio_at):
                ratio, ratio_at = share, k
        assert ratio is not None
        where = _name(self.space.items[worst_at]) if worst_at >= 0 else ""
        if ratio < 0:
            item = self.space.items[ratio_at]
            terms = self.terms(self.group_of[ratio_at], active, skip)
            factor = Fraction(terms.num, terms.den) if per_line else pooled
            paid = self._paid(ratio_at, factor.numerator, factor.denominator, terms.slack)
            why = (
                f"{_name(item)} may pay {self._money(paid)} per unit against a cost "
                f"of {self._money(item.cost)}" + self._hint(item)
            )
            return False, worst, where, why
        # the cart's list total L is at least the cheapest unit and, for a gift to come,
        # at least its min_base; slack >= ratio * L must cover caps and gifts by then
        checkpoints = sorted({lowest_list, *(max(m, lowest_list) for m, _, _ in gifts)})
        for total in checkpoints:
            gift_cost = sum(cost for m, cost, _ in gifts if m <= total)
            need = absolute * (1 - floor) + gift_cost
            if ratio * total < need:
                parts = []
                if gift_cost:
                    parts.append(f"gift costs of {self._money(gift_cost)}")
                if absolute:
                    parts.append(f"capped discounts of up to {self._money(absolute)}")
                why = (
                    f"on an order listed at {self._money(total)}, "
                    + " and ".join(parts)
                    + f" exceed the {self._money(ratio * total)} of margin the bound leaves"
                )
                return False, worst, where, why
        return True, worst, where, ""

    def _money(self, amount: Fraction | int) -> str:
        from promorules.money import format_amount

        return format_amount(int(Fraction(amount)), self.currency)

    def _hint(self, item: Item) -> str:
        if item.synthetic and not item.priced_low:
            return (
                f" (category {item.category!r} declares no min_price, so a unit may be "
                "too cheap for any absolute amount)"
            )
        return ""


def _margin(paid: Fraction, cost: Fraction) -> Fraction | None:
    if paid <= 0:
        return None if cost > 0 else Fraction(1)
    return (paid - cost) / paid


def _lower(a: Fraction | None, b: Fraction | None) -> bool:
    """``a < b`` where ``None`` is minus infinity."""
    if a is None:
        return b is not None
    return b is not None and a < b


def _name(item: Item) -> str:
    if item.synthetic:
        return f"any {item.category} sku"
    return f"sku {item.sku}"


def _pct(rate: Fraction | None) -> str:
    if rate is None:
        return "nothing (a payable of zero)"
    return format_percent(Fraction(round(rate * 10000), 10000))


def compose(engine: Engine, space: Space, floors: Iterable[FloorSpec]) -> list[Claim]:
    """Stage 2 for every floor."""
    bounds = Bounds(engine, space)
    return [bounds.claim(floor) for floor in floors]
