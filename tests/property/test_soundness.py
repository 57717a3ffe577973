"""Soundness of the validator, as properties over random rulesets of every kind.

- A floor the bound calls PROVEN has no breaching cart in a random search of the same
  space (catalogue skus, any moment, segment and wallet), guardrails off.
- A cart that breaches with guardrails off is never inside a PROVEN claim.
- The same for rulesets validated without a catalogue, against random skus that
  honour the declared category margins and price floors.

The carts here are drawn independently of the validator's own search strategy.
"""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from promorules.cart import Cart, Context, Customer, Line
from promorules.engine import Engine
from promorules.quote import Quote
from promorules.validate.bounds import Bounds, FloorSpec, floors_of
from promorules.validate.search import unguarded
from promorules.validate.space import Item, Space, build_space
from tests import kinds
from tests.helpers import ALL_KINDS
from tests.property.strategies import (
    CATEGORIES,
    MERCHANTS,
    SEGMENTS,
    START,
    catalogues,
    deposit_paid,
    wallets,
    wide_rulesets,
)

PLUGINS: list[object] = [*ALL_KINDS, kinds]
SEARCH = 25
"""Carts priced per random ruleset."""


def moments(space: Space) -> st.SearchStrategy[Any]:
    # the slots' own moments reach every activation plan; random instants check between
    return st.one_of(
        st.sampled_from(space.moments),
        st.integers(-3600, 4 * 24 * 3600).map(lambda s: START + timedelta(seconds=s)),
    )


@st.composite
def catalogue_carts(draw: st.DrawFn, space: Space) -> tuple[Cart, Context]:
    items = draw(
        st.lists(
            st.sampled_from(space.items),
            min_size=1,
            max_size=space.max_lines,
            unique_by=lambda i: i.sku,
        )
    )
    lines = tuple(
        Line(
            i.sku,
            draw(st.integers(1, space.max_quantity)),
            i.price,
            int(i.cost),
            i.category,
            i.brand,
            i.merchant,
            i.tags,
        )
        for i in items
    )
    return _cart(draw, lines, space)


def _cart(draw: st.DrawFn, lines: tuple[Line, ...], space: Space) -> tuple[Cart, Context]:
    lines = tuple(deposit_paid(draw, line) for line in lines)
    segments = frozenset(draw(st.lists(st.sampled_from(SEGMENTS), max_size=2)))
    context = Context(draw(moments(space)), None, draw(wallets()))
    return Cart(lines, Customer("c", segments), "CNY"), context


def breaks(quote: Quote, cart: Cart, floor: FloorSpec) -> bool:
    """Whether promotions push a part of the cart that holds ``floor`` at list price
    below it (worked out here again, independently of the validator's search)."""
    f = floor.floor

    def below(revenue: int, cost: int) -> bool:
        return revenue * (1 - f) < cost

    lines = list(enumerate(cart.lines))
    if floor.name == "line":
        return any(
            not below(ln.amount, ln.unit_cost * ln.quantity)
            and below(quote.lines[i].payable, ln.unit_cost * ln.quantity)
            for i, ln in lines
        )
    picked = [(i, ln) for i, ln in lines if floor.category in (None, ln.category)]
    if not picked:
        return False
    cost = sum(ln.unit_cost * ln.quantity for _, ln in picked)
    if below(sum(ln.amount for _, ln in picked), cost):
        return False
    paid = sum(quote.lines[i].payable for i, _ in picked)
    if floor.name == "order":
        cost = quote.cost_total
    return below(paid, cost)


def check(engine: Engine, space: Space, draw: Any, carts: Any) -> None:
    floors = floors_of(engine.ruleset)
    if not space.items:
        return
    bounds = Bounds(engine, space)
    proven = [f for f in floors if bounds.claim(f).proven]
    loose = unguarded(engine)
    for _ in range(SEARCH):
        cart, context = draw(carts(space))
        quote = loose.price(cart, context)
        for floor in floors:
            breached = breaks(quote, cart, floor)
            # a breaching cart is never inside a PROVEN claim (and vice versa)
            assert not (breached and floor in proven), (floor, cart, context)


@given(st.data())
def test_proven_floors_have_no_breaching_cart_in_the_catalogue(data: st.DataObject) -> None:
    engine = Engine.from_dict(data.draw(wide_rulesets()), plugins=PLUGINS)
    catalog = data.draw(catalogues())
    space = build_space(engine, catalog, max_lines=4, max_quantity=4)
    check(engine, space, data.draw, catalogue_carts)


@st.composite
def declared(draw: st.DrawFn) -> dict[str, Any]:
    categories = draw(st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=3, unique=True))
    facts = {}
    for category in categories:
        low = draw(st.integers(1, 50_000))
        facts[category] = {
            "margin": f"{draw(st.integers(0, 90))}%",
            "min_price": f"{low // 100}.{low % 100:02d}",
            "max_price": f"{(low * 20) // 100}.{(low * 20) % 100:02d}",
        }
    return {"categories": facts}


@st.composite
def declared_carts(draw: st.DrawFn, space: Space) -> tuple[Cart, Context]:
    lines = []
    for n in range(draw(st.integers(1, space.max_lines))):
        item: Item = draw(st.sampled_from(space.items))
        price = draw(st.integers(item.price, item.max_price))
        margin = item.margin if item.margin is not None else Fraction(0)
        cost = draw(st.integers(0, int((1 - margin) * price)))
        lines.append(
            Line(
                f"sku{n}",
                draw(st.integers(1, space.max_quantity)),
                price,
                cost,
                item.category,
                "",
                draw(st.sampled_from(MERCHANTS)),
            )
        )
    return _cart(draw, tuple(lines), space)


@settings(max_examples=40)
@given(st.data())
def test_proven_floors_hold_for_any_sku_the_declared_margins_allow(
    data: st.DataObject,
) -> None:
    ruleset = data.draw(wide_rulesets())
    ruleset["catalog"] = data.draw(declared())
    engine = Engine.from_dict(ruleset, plugins=PLUGINS)
    space = build_space(engine, None, max_lines=4, max_quantity=4)
    check(engine, space, data.draw, declared_carts)


def test_the_properties_are_not_vacuous() -> None:
    # a ruleset these strategies can draw, proven by hand: 10% off on 50% margins
    engine = Engine.from_dict(
        {
            "campaign": {"name": "x", "currency": "CNY", "timezone": "Asia/Shanghai"},
            "guardrails": {"min_order_margin": "5%"},
            "promotion": [{"id": "p0", "kind": "test_price", "percent": "10%"}],
        },
        plugins=PLUGINS,
    )
    from promorules.cartfile import CatalogItem

    space = build_space(
        engine, {"a": CatalogItem("a", 10_000, 5_000, "home")}, max_lines=4, max_quantity=4
    )
    (claim,) = [Bounds(engine, space).claim(f) for f in floors_of(engine.ruleset)]
    # 100.00 * 0.9 - 0.01 rounding = 89.99 paid, cost 50.00: margin 44.44%
    assert claim.proven
    assert claim.worst_margin == Fraction(8999 - 5000, 8999)
