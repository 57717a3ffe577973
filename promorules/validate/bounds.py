"""Stage 2: compose the plugins' discount bounds and check them against each floor.

Every kind states, through :meth:`promorules.kind.Kind.bound`, the most one of its
promotions can take (:class:`promorules.kind.Bound`). This module composes those
bounds along the lanes for every sku of the space, in every slot of time and channel,
and proves a floor when the composed worst case still holds it. The maths, in short
(docs/validate.md has it in full):

- within a lane, promotions measure on the same base, so their shares add up (an
  exclusive group counts once, by its deepest member), capped at 1; lanes compound on
  what is left: a unit of list price ``p`` pays at least ``p * prod(1 - d_lane) - n``,
  where ``n`` allows one minor unit of rounding per promotion touching it;
- a line floor ``f`` holds when ``paid * (1 - f) >= cost`` for every unit;
- the order floor also sets gift costs (``extra_cost``) against the least order that
  can carry them (``min_base``), and may count a capped promotion as its cap instead
  of its share. Where a kind promises no per-line share (``line_rate``), a line may
  lose all of it; the order is then bounded by the pooled shares of every lane.

Nothing is PROVEN unless this arithmetic, done in exact fractions, shows it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fractions import Fraction

import attrs

from promorules.engine import Engine
from promorules.kind import Bound, Lane
from promorules.money import format_percent
from promorules.ruleset import Promotion, Ruleset
from promorules.validate.space import Item, Space, may_touch, scope_filter


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
    __slots__ = ("absolute", "bound", "channels", "group", "index", "lane", "promotion")

    def __init__(self, index: int, promotion: Promotion, bound: Bound, lane: int) -> None:
        self.index = index
        self.promotion = promotion
        self.bound = bound
        self.lane = lane
        self.group = promotion.group
        self.channels = frozenset(promotion.channels)
        # only the kind's own cap bounds an order: a budget is a ledger counter that
        # `ledger adjust` may raise at any time, so no proof may rest on it
        self.absolute: int | None = bound.cap


def _unit_depth(promo: _Promo, item: Item, price_lane: bool) -> tuple[Fraction, Fraction]:
    """The most ``promo`` takes from one unit (or line) of ``item``, as shares of it:
    ``(price part, the rest)``. The price part, a unit price of the price lane, competes
    with the lane's other unit prices (each unit pays one); the rest adds up."""
    bound = promo.bound
    if bound.rate <= 0 or promo.absolute == 0:
        return Fraction(0), Fraction(0)
    if price_lane:
        # price-lane offers are unit prices: per unit by construction. A Bound that
        # refines the depth per sku (unit prices, a credit per unit) is used when it
        # has one and the sku's list price is known.
        if bound.refined and not item.synthetic:
            price_part, credit = bound.unit_parts(item.sku, item.price)
            return min(price_part, Fraction(1)), min(credit, Fraction(1))
        return Fraction(0), min(Fraction(bound.rate), Fraction(1))
    if bound.line_rate is None:
        return Fraction(0), Fraction(1)
    return Fraction(0), min(Fraction(bound.line_rate), Fraction(1))


@attrs.frozen
class _Context:
    """A slot of time and a channel: which promotions can be live together."""

    label: str
    active: tuple[int, ...]


class Bounds:
    """The composed bounds of one engine over one space; :meth:`claim` per floor."""

    def __init__(self, engine: Engine, space: Space) -> None:
        ruleset = engine.ruleset
        self.space = space
        self.currency = engine.currency
        lanes = engine.lanes
        price_position = lanes.index(Lane.PRICE)
        self.lane_count = len(lanes)
        self.promos: list[_Promo] = []
        for index, promotion in enumerate(ruleset.promotions):
            kind = engine.kinds[promotion.kind]
            lane = lanes.index(promotion.effective_lane(kind))
            self.promos.append(_Promo(index, promotion, engine.bound(index), lane))
        self.without_lines = {
            i for i, p in enumerate(ruleset.promotions) if engine.kinds[p.kind].without_lines
        }
        items = space.items
        filters = [scope_filter(p.promotion) for p in self.promos]
        self.touch: list[frozenset[int]] = [
            frozenset(
                p.index for p in self.promos if may_touch(p.promotion, item, filters[p.index])
            )
            for item in items
        ]
        # per item: each touching promotion's (price part, rest) of a unit
        self.depth: list[dict[int, tuple[Fraction, Fraction]]] = [
            {
                i: _unit_depth(self.promos[i], item, self.promos[i].lane == price_position)
                for i in touched
            }
            for item, touched in zip(items, self.touch, strict=True)
        ]
        self.price_position = price_position
        self.contexts = self._contexts(ruleset)

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

    # -- per item ----------------------------------------------------------------------
    def _factor(
        self, item_index: int, active: frozenset[int], skip: frozenset[int] = frozenset()
    ) -> tuple[Fraction, int, list[int]]:
        """``prod(1 - d_lane)`` for one unit of the item, the rounding allowance ``n``,
        and the promotions that contributed (see :meth:`lane_depths`)."""
        lanes, slack, used = self.lane_depths(item_index, active, skip)
        factor = Fraction(1)
        for depth in lanes:
            factor *= 1 - min(depth, Fraction(1))
        return factor, slack, used

    def lane_depths(
        self, item_index: int, active: frozenset[int], skip: frozenset[int] = frozenset()
    ) -> tuple[list[Fraction], int, list[int]]:
        """Per lane, the depth one unit of the item may lose; the rounding allowance
        ``n`` (one minor unit per promotion, an exclusive group once); and the promotions
        that contributed. A unit pays one unit price of the price lane, so the lane's
        price parts count by the deepest; everything else adds up (an exclusive group
        once, by its deepest member)."""
        depths = self.depth[item_index]
        lanes: list[Fraction] = [Fraction(0)] * self.lane_count
        groups: dict[tuple[int, str], Fraction] = {}
        used: list[int] = []
        deepest_price = Fraction(0)
        for i, (price_part, depth) in depths.items():
            if i not in active or i in skip or (depth <= 0 and price_part <= 0):
                continue
            used.append(i)
            deepest_price = max(deepest_price, price_part)
            promo = self.promos[i]
            if promo.group is not None:
                key = (promo.lane, promo.group)
                groups[key] = max(groups.get(key, Fraction(0)), depth)
            else:
                lanes[promo.lane] += depth
        for (lane, _group), depth in groups.items():
            lanes[lane] += depth
        lanes[self.price_position] += deepest_price
        slack = len(used) - sum(1 for i in used if self.promos[i].group is not None) + len(groups)
        return lanes, slack, used

    def _pooled(self, active: frozenset[int], skip: frozenset[int]) -> Fraction:
        """A cart-independent factor from the promotions' pooled shares: in each lane the
        deepest sum any one sku can meet, compounded over the lanes."""
        worst = [Fraction(0)] * self.lane_count
        for item_index in range(len(self.space.items)):
            lanes = [Fraction(0)] * self.lane_count
            groups: dict[tuple[int, str], Fraction] = {}
            for i in self.touch[item_index]:
                promo = self.promos[i]
                if i not in active or i in skip or promo.bound.rate <= 0:
                    continue
                rate = min(Fraction(promo.bound.rate), Fraction(1))
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

    def risk(self) -> list[Fraction]:
        """Per item, the least ``(paid - cost) / price`` any context allows a unit: the
        lower, the likelier a breach (the search tries those skus first)."""
        out = []
        for k, item in enumerate(self.space.items):
            worst = min(
                (self._unit(k, frozenset(c.active))[0] - item.cost for c in self.contexts),
                default=item.price - item.cost,
            )
            out.append(worst / item.price)
        return out

    # -- claims ------------------------------------------------------------------------
    def claim(self, floor: FloorSpec) -> Claim:
        items = [
            k
            for k, item in enumerate(self.space.items)
            if (floor.category is None or item.category == floor.category)
            # a line already below the line floor at list price is not the ruleset's doing;
            # a synthetic item stands for every cost up to its declared one, so it stays
            # (its worst sku holding the floor at list is costed in _lines)
            and not (
                floor.name == "line"
                and not item.synthetic
                and item.price * (1 - floor.floor) < item.cost
            )
        ]
        if not items:
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
                ok, margin, where, why, used = self._order(items, active, floor.floor)
            else:
                ok, margin, where, why, used = self._lines(
                    items, active, floor.floor, line_floor=floor.name == "line"
                )
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

    def _unit(
        self, k: int, active: frozenset[int], skip: frozenset[int] = frozenset()
    ) -> tuple[Fraction, list[int]]:
        """The least a unit of item ``k`` pays (never below 0) and the promotions used."""
        item = self.space.items[k]
        factor, slack, used = self._factor(k, active, skip)
        return max(item.price * factor - slack, Fraction(0)), used

    def _lines(
        self,
        items: Sequence[int],
        active: frozenset[int],
        floor: Fraction,
        line_floor: bool = False,
    ) -> tuple[bool, Fraction | None, str, str, set[int]]:
        """Line and category floors: every unit must hold the floor on its own (a
        category's margin is a revenue-weighted mean of its lines' margins)."""
        ok = True
        worst: Fraction | None = Fraction(1)
        where, why = "", ""
        used_all: set[int] = set()
        for k in items:
            paid, used = self._unit(k, active)
            used_all.update(used)
            item = self.space.items[k]
            cost = item.cost
            if line_floor and item.synthetic:
                # the costliest sku of the declaration that still holds the floor at list
                # price: dearer ones are loss leaders the line floor leaves out
                cost = min(cost, item.price * (1 - floor))
            margin = _margin(paid, cost)
            if _lower(margin, worst):
                worst, where = margin, _name(item)
            if paid * (1 - floor) < cost:
                ok = False
                if not why:
                    why = (
                        f"{_name(item)} may pay {self._money(paid)} per unit against a cost of "
                        f"{self._money(cost)}" + self._hint(item)
                    )
        return ok, worst, where, why, used_all

    def _order(
        self, items: Sequence[int], active: frozenset[int], floor: Fraction
    ) -> tuple[bool, Fraction | None, str, str, set[int]]:
        capped = frozenset(
            i
            for i in active
            if self.promos[i].absolute is not None and self.promos[i].bound.rate > 0
        )
        gifts = sorted(
            (self.promos[i].bound.min_base, self.promos[i].bound.extra_cost, i)
            for i in active
            if self.promos[i].bound.extra_cost > 0
            and (i in self.without_lines or any(i in self.touch[k] for k in items))
        )
        used_all: set[int] = {i for _, _, i in gifts}
        lowest_list = min(self.space.items[k].price for k in items)
        best: tuple[bool, Fraction | None, str, str] | None = None
        variants: list[frozenset[int]] = [frozenset()]
        if capped:
            variants.append(capped)
        for skip in variants:
            absolute = sum(self.promos[i].absolute or 0 for i in skip)
            pooled = self._pooled(active, skip)
            for per_line in (True, False):
                ok, worst, where, why = self._order_case(
                    items,
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
        items: Sequence[int],
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
        ratio: Fraction | None = None
        worst: Fraction | None = Fraction(1)
        where, why = "", ""
        for k in items:
            item = self.space.items[k]
            if per_line:
                paid, used = self._unit(k, active, skip)
            else:
                _factor, slack, used = self._factor(k, active, skip)
                paid = max(item.price * pooled - slack, Fraction(0))
            used_all.update(used)
            used_all.update(i for i in skip if i in self.touch[k])
            margin = _margin(paid, item.cost)
            if _lower(margin, worst):
                worst, where = margin, _name(item)
            share = (paid * (1 - floor) - item.cost) / item.price
            if ratio is None or share < ratio:
                ratio = share
                if share < 0:
                    why = (
                        f"{_name(item)} may pay {self._money(paid)} per unit against a cost "
                        f"of {self._money(item.cost)}" + self._hint(item)
                    )
        assert ratio is not None
        if ratio < 0:
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
