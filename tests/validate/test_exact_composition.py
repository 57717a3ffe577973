"""The bound's composition, done per group of skus in whole numbers (Bounds), claims
exactly what a plain composition in fractions, sku by sku, claims: the same verdict,
worst margin, worst sku, reason and promotions for every floor, over random rulesets,
random bounds and catalogues with repeated prices and margins (ties, collinear points).

The model below is deliberately the naive one: every unit of every sku in every slot
and channel, each figure an exact Fraction."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import attrs
import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings

from promorules.cartfile import CatalogItem
from promorules.engine import Engine
from promorules.kind import Bound
from promorules.money import format_amount
from promorules.validate.bounds import Bounds, FloorSpec, floors_of
from promorules.validate.extremes import Population
from promorules.validate.rounding import SCALE
from promorules.validate.space import Item, build_space, may_touch
from tests.property.strategies import catalogues, wide_rulesets
from tests.property.test_soundness import declared
from tests.validate.test_blame import PLUGINS

ONE = Fraction(1)


class Model:
    """The composed bound of docs/validate.md, sku by sku, in fractions."""

    def __init__(self, bounds: Bounds) -> None:
        self.b = bounds
        items = bounds.space.items
        facts = bounds.categories
        # a bound by the dearest unit in scope (a bundle): the highest list price of a
        # sku it may touch, a declared category's max_price (None: not declared)
        self.dearest: dict[int, int | None] = {}
        for p in bounds.promos:
            highs: list[int | None] = [
                facts[item.category].max_price if item.synthetic else item.price
                for item in items
                if may_touch(p.promotion, item)
            ]
            known = [high for high in highs if high is not None]
            self.dearest[p.index] = None if len(known) < len(highs) else max(known, default=0)
        self.depth = [
            {
                p.index: _depth(
                    p.bound, p.lane == bounds.price_position, item, self.dearest[p.index]
                )
                for p in bounds.promos
                if may_touch(p.promotion, item)
            }
            for item in items
        ]

    def rate(self, i: int) -> Fraction:
        return min(Fraction(self.b.promos[i].bound.group_depth(self.dearest[i])), ONE)

    def cap(self, i: int) -> int | None:
        return self.b.promos[i].bound.group_cap(self.dearest[i])

    def unit(
        self, k: int, active: frozenset[int], skip: frozenset[int] = frozenset()
    ) -> tuple[Fraction, Fraction, set[int]]:
        b = self.b
        lanes = [Fraction(0)] * b.lane_count
        groups: dict[tuple[int, str], tuple[Fraction, int]] = {}
        used: set[int] = set()
        slack = 0
        deepest = Fraction(0)
        for i, (price_part, depth) in self.depth[k].items():
            if i not in active or i in skip or (depth <= 0 and price_part <= 0):
                continue
            used.add(i)
            deepest = max(deepest, price_part)
            promo = b.promos[i]
            if promo.group is None:
                lanes[promo.lane] += depth
                slack += promo.allowance
            else:
                d, a = groups.get((promo.lane, promo.group), (Fraction(0), 0))
                groups[(promo.lane, promo.group)] = (max(d, depth), max(a, promo.allowance))
        for (lane, _), (d, a) in groups.items():
            lanes[lane] += d
            slack += a
        lanes[b.price_position] += deepest
        factor = ONE
        for depth in lanes:
            factor *= 1 - min(depth, ONE)
        return factor, Fraction(slack, SCALE), used

    def pooled(self, active: frozenset[int], skip: frozenset[int]) -> Fraction:
        b = self.b
        worst = [Fraction(0)] * b.lane_count
        for depths in self.depth:
            lanes = [Fraction(0)] * b.lane_count
            groups: dict[tuple[int, str], Fraction] = {}
            for i in depths:
                promo = b.promos[i]
                if i not in active or i in skip or self.rate(i) <= 0:
                    continue
                rate = self.rate(i)
                if promo.group is None:
                    lanes[promo.lane] += rate
                else:
                    key = (promo.lane, promo.group)
                    groups[key] = max(groups.get(key, Fraction(0)), rate)
            for (lane, _), rate in groups.items():
                lanes[lane] += rate
            worst = [max(x, y) for x, y in zip(worst, lanes, strict=True)]
        factor = ONE
        for depth in worst:
            factor *= 1 - min(depth, ONE)
        return factor

    def claim(self, floor: FloorSpec) -> tuple[Any, ...]:
        b, items, f = self.b, self.b.space.items, floor.floor
        keep = 1 - f
        chosen = [
            k
            for k, item in enumerate(items)
            if (floor.category is None or item.category == floor.category)
            and not (floor.name == "line" and not item.synthetic and item.price * keep < item.cost)
        ]
        if not chosen:
            return (True, None, "", (), "")
        proven, worst, where, rests, reasons = True, Fraction(1), "", set(), []
        worst_m: Fraction | None = worst
        for context in b.contexts:
            active = frozenset(context.active)
            if floor.name == "order":
                ok, m, w, why, used = self.order(chosen, active, f)
            else:
                ok, m, w, why, used = self.lines(chosen, active, f, floor.name == "line")
            rests |= used
            if _lower(m, worst_m):
                worst_m, where = m, f"{w} at {context.label}"
            if not ok:
                proven = False
                reasons.append(why)
        return (proven, worst_m, where, tuple(sorted(rests)), reasons[0] if reasons else "")

    def lines(
        self, chosen: list[int], active: frozenset[int], f: Fraction, line: bool
    ) -> tuple[bool, Fraction | None, str, str, set[int]]:
        items, keep = self.b.space.items, 1 - f
        ok, worst, where, why, used_all = True, Fraction(1), "", "", set()
        worst_m: Fraction | None = worst
        for k in chosen:
            item = items[k]
            factor, slack, used = self.unit(k, active)
            used_all |= used
            paid = max(item.price * factor - slack, Fraction(0))
            cost = min(item.cost, item.price * keep) if line and item.synthetic else item.cost
            m = _margin(paid, cost)
            if _lower(m, worst_m):
                worst_m, where = m, _name(item)
            if paid * keep < cost:
                ok = False
                why = why or f"{_name(item)} may pay {_money(paid)} per unit"
        return ok, worst_m, where, why, used_all

    def order(
        self, chosen: list[int], active: frozenset[int], f: Fraction
    ) -> tuple[bool, Fraction | None, str, str, set[int]]:
        b, items, keep = self.b, self.b.space.items, 1 - f
        capped = frozenset(i for i in active if self.cap(i) is not None and self.rate(i) > 0)
        gifts = sorted(
            (b.promos[i].bound.min_base, b.promos[i].bound.extra_cost, i)
            for i in active
            if b.promos[i].bound.extra_cost > 0
            and (i in b.without_lines or any(i in self.depth[k] for k in chosen))
        )
        used_all = {i for _, _, i in gifts}
        lowest = min(items[k].price for k in chosen)
        best = None
        for skip in [frozenset(), capped] if capped else [frozenset()]:
            absolute = sum(self.cap(i) or 0 for i in skip)
            pooled = self.pooled(active, skip)
            for per_line in (True, False):
                ratio, worst_m, where, why = None, Fraction(1), "", ""
                worst: Fraction | None = worst_m
                for k in chosen:
                    item = items[k]
                    factor, slack, used = self.unit(k, active, skip)
                    paid = max(item.price * (factor if per_line else pooled) - slack, Fraction(0))
                    used_all |= used | {i for i in skip if i in self.depth[k]}
                    m = _margin(paid, item.cost)
                    if _lower(m, worst):
                        worst, where = m, _name(item)
                    share = (paid * keep - item.cost) / item.price
                    if ratio is None or share < ratio:
                        ratio = share
                        if share < 0:
                            why = f"{_name(item)} may pay {_money(paid)} per unit"
                assert ratio is not None
                ok = ratio >= 0
                if ok:
                    for total in sorted({lowest, *(max(m, lowest) for m, _, _ in gifts)}):
                        need = absolute * keep + sum(c for m, c, _ in gifts if m <= total)
                        if ratio * total < need:
                            ok, why = False, f"on an order listed at {_money(total)}"
                            break
                case = (ok, worst, where, why)
                proves = ok and (best is None or not best[0] or _lower(best[1], worst))
                plain = not skip and (best is None or (not best[0] and _lower(best[1], worst)))
                if proves or plain:
                    best = case
        assert best is not None
        return (*best, used_all)


def _depth(
    bound: Bound, price_lane: bool, item: Item, dearest: int | None
) -> tuple[Fraction, Fraction]:
    if bound.rate <= 0 or bound.group_cap(dearest) == 0:
        return Fraction(0), Fraction(0)
    if bound.group_price is not None:
        # every unit in scope loses the same share: 1 - price / (n x the dearest unit)
        return Fraction(0), min(bound.group_depth(dearest), ONE)
    if price_lane:
        if bound.refined and not item.synthetic:
            part, credit = bound.unit_parts(item.sku, item.price)
            return min(part, ONE), min(credit, ONE)
        return Fraction(0), min(Fraction(bound.rate), ONE)
    if bound.line_rate is None:
        return Fraction(0), ONE
    return Fraction(0), min(Fraction(bound.line_rate), ONE)


def _margin(paid: Fraction, cost: Fraction) -> Fraction | None:
    if paid <= 0:
        return None if cost > 0 else ONE
    return (paid - cost) / paid


def _lower(a: Fraction | None, b: Fraction | None) -> bool:
    return b is not None if a is None else (b is not None and a < b)


def _name(item: Item) -> str:
    return f"any {item.category} sku" if item.synthetic else f"sku {item.sku}"


def _money(amount: Fraction | int) -> str:
    return format_amount(int(Fraction(amount)), "CNY")


@st.composite
def repeated(draw: st.DrawFn) -> dict[str, Any]:
    """A catalogue whose skus share prices and margins: many equal and collinear points."""
    base = draw(catalogues(max_items=4))
    out = dict(base)
    prices = draw(st.lists(st.integers(1, 5_000), min_size=1, max_size=4))
    for n in range(draw(st.integers(0, 30))):
        model = draw(st.sampled_from(sorted(base)))
        price = draw(st.sampled_from(prices))
        margin = draw(st.sampled_from([0, 10, 25, 50, 100]))
        sku = f"{model}-{n}"
        out[sku] = attrs.evolve(
            base[model], sku=sku, price=price, cost=price - price * margin // 100
        )
    return out


@st.composite
def random_bounds(draw: st.DrawFn, skus: list[str]) -> Bound:
    rate = draw(st.fractions(0, 1, max_denominator=400))
    refined = draw(st.booleans())
    bound = Bound(
        rate=rate,
        line_rate=draw(st.none() | st.fractions(0, 1, max_denominator=400)),
        cap=draw(st.none() | st.integers(0, 5_000)),
        extra_cost=draw(st.sampled_from([0, 0, 300])),
        min_base=draw(st.integers(0, 20_000)),
        unit_prices=(
            {sku: draw(st.integers(0, 5_000)) for sku in skus if draw(st.booleans())}
            | ({"*": 900} if draw(st.booleans()) else {})
        )
        if refined
        else {},
        other_rate=draw(st.none() | st.fractions(0, 1, max_denominator=50)) if refined else None,
        unit_off=draw(st.sampled_from([0, 0, 7])) if refined else 0,
    )
    if draw(st.integers(0, 3)) == 0:  # a bundle's: refined by the dearest unit in scope
        size = draw(st.integers(2, 4))
        price = draw(st.integers(0, 4 * 5_000))
        max_groups = draw(st.none() | st.integers(1, 3))
        bound = attrs.evolve(bound, group_price=(size, price), max_groups=max_groups)
    return bound


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_the_composition_in_whole_numbers_claims_what_the_fractions_claim(
    data: st.DataObject,
) -> None:
    ruleset = data.draw(wide_rulesets())
    synthetic = data.draw(st.booleans())  # every sku a declared category allows
    if synthetic:
        ruleset["catalog"] = data.draw(declared())
    engine = Engine.from_dict(ruleset, plugins=PLUGINS)
    catalog: dict[str, CatalogItem] = data.draw(repeated())
    if data.draw(st.booleans()):
        drawn = [data.draw(random_bounds(sorted(catalog))) for _ in engine.ruleset.promotions]
        engine.bound = drawn.__getitem__  # type: ignore[assignment,method-assign]
    space = build_space(engine, None if synthetic else catalog, max_lines=4, max_quantity=4)
    if not space.items:
        return
    bounds = Bounds(engine, space)
    model = Model(bounds)
    for floor in floors_of(engine.ruleset):
        claim = bounds.claim(floor)
        proven, worst, where, rests, why = model.claim(floor)
        assert claim.proven == proven, (floor.name, claim.reason)
        assert claim.worst_margin == worst, floor.name
        assert claim.worst == where, floor.name
        ids = tuple(bounds.promos[i].promotion.id for i in rests)
        assert tuple(r.split(" (")[0] for r in claim.rests_on) == ids
        # the first reason names the same sku and payable (or order total)
        assert claim.reason.startswith(why), (claim.reason, why)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 40), st.integers(0, 40)), min_size=1, max_size=30),
    st.integers(0, 3),
    st.integers(-40, 40),
    st.integers(1, 5),
)
def test_the_steepest_point_is_the_first_a_scan_finds(
    points: list[tuple[int, int]], qx: int, qy: int, qd: int
) -> None:
    points.sort(key=lambda p: p[0])
    prices = [p for p, _ in points]
    costs = [c for _, c in points]
    x = Fraction(qx, qd)
    start = next((k for k, p in enumerate(prices) if p > x), None)
    if start is None:
        return
    population = Population(list(range(len(points))), prices, costs, 1)
    found = population.steepest(start, len(points), (qx, qd), (qy, qd))
    slopes = [(Fraction(c) - Fraction(qy, qd)) / (p - x) for p, c in points[start:]]
    best = max(slopes)
    assert found == start + slopes.index(best)


def test_a_declared_category_below_the_line_floor_is_costed_at_the_floor() -> None:
    # any sku of the category at 10.00 with a declared margin of 0%: the line floor of
    # 10% leaves out skus that break it at list, so its worst sku costs 9.00; 5% off
    # leaves 9.50 less a minor unit of rounding: a margin of 1 - 900 / 949
    engine = Engine.from_dict(
        {
            "campaign": {"name": "D", "currency": "CNY", "timezone": "Asia/Shanghai"},
            "catalog": {"categories": {"beauty": {"margin": "0%", "min_price": "10.00"}}},
            "guardrails": {"min_line_margin": "10%"},
            "promotion": [{"id": "five", "kind": "discount", "percent": "5%"}],
        }
    )
    space = build_space(engine, None, max_lines=4, max_quantity=4)
    (line,) = floors_of(engine.ruleset)
    claim = Bounds(engine, space).claim(line)
    assert claim.worst_margin == 1 - Fraction(900, 949)
    assert not claim.proven  # 949 * 0.9 < 900
    assert claim.reason.startswith("any beauty sku may pay 9.49 per unit against a cost of 9.00")
