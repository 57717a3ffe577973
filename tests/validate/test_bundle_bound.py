"""A bundle's bound, refined by the dearest unit in its scope: worked by hand on 618's
"any 3 mugs or bowls for 99", held against the engine on random bundles and carts.

A bundle pays ``price`` for every ``quantity`` units and spreads the whole saving over
the bundled units in proportion to their amounts (largest remainder), so each bundled
unit loses the same share of its amount, ``1 - price * bundles / (their amount)``: at
most ``1 - price / (quantity x the dearest unit in scope)``, the units' amounts being at
most their list prices, plus a minor unit of the split per line. With ``max_repeats``,
an order loses at most ``max_repeats * (quantity x dearest - price)``."""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from promorules.cart import Cart, Context, Customer, Line
from promorules.cartfile import load_catalog
from promorules.engine import Engine
from promorules.kind import Bound
from promorules.validate.bounds import Bounds
from promorules.validate.space import build_space
from tests.helpers import SHANGHAI

ROOT = Path(__file__).resolve().parents[2]
RULESETS = ROOT / "rulesets"
SALES = datetime(2026, 6, 1, 12, 0, tzinfo=SHANGHAI)
EXPLOSION = datetime(2026, 6, 18, 12, 0, tzinfo=SHANGHAI)


def elm_line(sku: str, quantity: int) -> Line:
    price, cost = {"ELM-MUG": (3900, 1400), "ELM-BOWL": (3500, 1300)}[sku]
    return Line(sku, quantity, price, cost, "home", "Elm", "elm-home")


def price_618(*lines: Line, at: datetime = SALES) -> Any:
    engine = Engine.from_toml(RULESETS / "618.toml")
    cart = Cart(lines, Customer("c1"), "CNY")
    return engine.price(cart, Context(at))


def test_618_two_mugs_and_a_bowl_for_99_by_hand() -> None:
    # 2 x 39.00 + 35.00 = 113.00 for 99.00: a saving of 14.00, split 78 : 35 by largest
    # remainder: 1400 * 78 / 113 = 966.37 and 1400 * 35 / 113 = 433.63, the spare minor
    # unit to the larger remainder (the bowl's): 9.66 off the mugs, 4.34 off the bowl.
    # Nothing else reaches 99.00 of Elm in the sales phase (every 200 off 15).
    quote = price_618(elm_line("ELM-MUG", 2), elm_line("ELM-BOWL", 1))
    mugs, bowl = quote.lines
    assert (mugs.discount, bowl.discount) == (966, 434)
    assert (mugs.payable, bowl.payable) == (6834, 3066)
    assert quote.discounts_by_promotion == {"elm-stoneware-3-for-99": 1400}
    # the order: 99.00 paid against 2 x 14.00 + 13.00 = 41.00 of cost, 58.59% margin,
    # far above the 8% floor; the lines keep 59.03% and 57.60%
    assert quote.cost_total == 4100
    assert Fraction(quote.payable - quote.cost_total, quote.payable) == Fraction(58, 99)
    assert mugs.margin == Fraction(6834 - 2800, 6834)
    assert bowl.margin == Fraction(3066 - 1300, 3066)
    assert f"{float(mugs.margin):.4f}, {float(bowl.margin):.4f}" == "0.5903, 0.5760"


def test_three_mugs_reach_the_bound_and_a_bowl_bundled_after_them_loses_more() -> None:
    # 3 mugs: each pays 33.00, a loss of 18.00 / 117.00 = 2/13, the bound's share
    quote = price_618(elm_line("ELM-MUG", 3))
    assert quote.lines[0].discount * 13 == quote.lines[0].list_amount * 2
    # 8 mugs and a bowl: 3 + 3 mugs save 18.00 each, then 2 mugs and the bowl 14.00;
    # the 50.00 is spread over 312.00 of mugs and 35.00 of bowl, so the bowl loses
    # 5000 * 35 / 347 = 504.3 minor units: 14.41%, more than its own bundle's 12.39%
    # (14 / 113), never more than 2/13 of it plus a minor unit: the bound has to be
    # taken at the dearest unit in scope, not at the unit's own bundle
    # (the 297.00 left also earns Elm's 15.00 off, in the store lane after it)
    quote = price_618(elm_line("ELM-MUG", 8), elm_line("ELM-BOWL", 1))
    (off,) = [a.amount for a in quote.lines[1].adjustments if a.lane.value == "item"]
    assert off == 504
    assert Fraction(off, 3500) > Fraction(14, 113)
    assert off <= Fraction(2, 13) * 3500 + 1


def test_the_618_bound_of_a_mug_in_the_explosion_by_hand() -> None:
    # a mug on 18 June: the bundle (item lane, 1 - 99 / (3 x 39) = 2/13), Elm's every
    # 200 off 15 (store, at most 15 / 200), every 300 off 25 and the 500-off-25 coupon
    # (platform, 25 / 300 + 25 / 500 = 2/15); a minor unit of rounding each. It pays at
    # least 39.00 x 11/13 x 37/40 x 13/15 - 0.04 = 26.415: a margin of 1 - 14 / 26.415
    engine = Engine.from_toml(RULESETS / "618.toml")
    items = load_catalog(RULESETS / "618-catalog.csv", engine.currency)
    space = build_space(engine, items, max_lines=6, max_quantity=5)
    bounds = Bounds(engine, space)
    ids = [p.id for p in engine.ruleset.promotions]
    live = frozenset(
        ids.index(i)
        for i in ("elm-stoneware-3-for-99", "elm-every-200", "every-300-off-25", "plat-coupon")
    )
    mug = next(k for k, item in enumerate(space.items) if item.sku == "ELM-MUG")
    lanes, slack, used = bounds.lane_depths(mug, live)
    by_lane = dict(zip([lane.value for lane in engine.lanes], lanes, strict=True))
    assert by_lane == {
        "price": 0,
        "item": Fraction(2, 13),
        "store": Fraction(15, 200),
        "platform": Fraction(2, 15),
    }
    assert slack == 4 and sorted(used) == sorted(live)
    paid = 3900 * Fraction(11, 13) * Fraction(37, 40) * Fraction(13, 15) - 4
    assert paid == Fraction(5283, 2)  # 2641.5 minor units: 26.415
    assert f"{float(1 - 1400 / paid):.4f}" == "0.4700"
    # the bowl shares the mugs' share: the dearest unit in scope sets it
    bowl = next(k for k, item in enumerate(space.items) if item.sku == "ELM-BOWL")
    assert bounds.lane_depths(bowl, live)[0] == lanes


def test_a_bundle_bound_is_refined_by_the_dearest_unit_in_scope() -> None:
    bound = Bound(group_price=(3, 9900), max_groups=2)
    assert bound.group_depth(3900) == Fraction(2, 13)
    assert bound.group_depth(3300) == 0  # 3 x 33.00 already costs 99.00: no saving
    assert bound.group_depth(None) == 1  # no dearest unit known: the whole unit
    assert bound.group_cap(3900) == 2 * 1800
    assert Bound(group_price=(3, 9900)).group_cap(3900) is None
    assert Bound(rate=Fraction(1, 10), group_price=(3, 0)).group_depth(3900) == Fraction(1, 10)


# -- the bound against the engine, on random bundles and carts ---------------------------


@st.composite
def bundle_carts(draw: st.DrawFn) -> tuple[dict[str, Any], list[Line], int]:
    """A bundle over skus a0..a3 (any lane, price, repeats, rounding) and a cart of them
    at list prices no higher than ``dearest``, now and then cut by an earlier lane."""
    dearest = draw(st.integers(1, 50_000))
    prices = draw(st.lists(st.integers(0, dearest), min_size=1, max_size=4))
    prices[draw(st.integers(0, len(prices) - 1))] = dearest
    quantity = draw(st.integers(2, 4))
    promotion: dict[str, Any] = {
        "id": "b",
        "kind": "bundle",
        "lane": draw(st.sampled_from(["item", "store", "platform"])),
        "quantity": quantity,
        "price": f"{(p := draw(st.integers(0, quantity * dearest))) // 100}.{p % 100:02d}",
    }
    if draw(st.booleans()):
        promotion["max_repeats"] = draw(st.integers(1, 3))
    promotions = [promotion]
    if draw(st.booleans()):  # an earlier lane lowers the amounts the bundle measures on
        promotions.insert(0, {"id": "d", "kind": "discount", "lane": "item", "percent": "7%"})
        promotion["lane"] = draw(st.sampled_from(["store", "platform"]))
    ruleset = {
        "campaign": {
            "name": "B",
            "currency": "CNY",
            "timezone": "Asia/Shanghai",
            "rounding": draw(st.sampled_from(["down", "half-up", "half-even"])),
        },
        "promotion": promotions,
    }
    lines = [
        Line(f"a{i}", draw(st.integers(1, 12)), price, 0, "home") for i, price in enumerate(prices)
    ]
    return ruleset, lines, dearest


@settings(max_examples=300, deadline=None)
@given(bundle_carts())
def test_no_cart_takes_more_from_a_line_or_an_order_than_the_bundle_bound(
    drawn: tuple[dict[str, Any], list[Line], int],
) -> None:
    ruleset, lines, dearest = drawn
    engine = Engine.from_dict(ruleset)
    bound = engine.bound(len(ruleset["promotion"]) - 1)
    depth, cap = bound.group_depth(dearest), bound.group_cap(dearest)
    quote = engine.price(Cart(tuple(lines), Customer("c"), "CNY"), Context(SALES))
    explanations = {e.promotion: e for e in quote.explanations}
    taken = explanations["b"].amount if "b" in explanations else 0
    before = {}  # what each line measured on when the bundle priced it
    for i, line in enumerate(quote.lines):
        off = sum(a.amount for a in line.adjustments if a.promotion == "b")
        base = line.list_amount - sum(a.amount for a in line.adjustments if a.promotion == "d")
        before[i] = base
        # a line loses at most the share of what it measured on, plus a minor unit
        assert off <= depth * base + 1, (off, base, depth)
    assert taken <= depth * sum(before.values()) + 0  # the pool: exactly the share
    if cap is not None:
        assert taken <= cap
