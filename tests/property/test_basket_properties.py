"""Properties of quotes under the basket kinds (bxgy, bundle, gift, free_shipping),
mixed with tiered promotions, random floors, gift stock and customer choices."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from promorules.cart import Cart, Context
from promorules.counters import CounterKind
from promorules.engine import Engine
from promorules.guardrail import minimum_revenue
from promorules.quote import GuardrailStatus, Quote, Status
from promorules_plugins import bundle, bxgy, free_shipping, gift, tiered
from tests.property.checks import check_books, check_pure_and_deterministic
from tests.property.strategies import basket_carts, basket_contexts, basket_rulesets

PLUGINS: list[object] = [tiered, gift, bxgy, bundle, free_shipping]


def build(data: dict[str, Any]) -> Engine:
    return Engine.from_dict(data, plugins=PLUGINS)


def check_gifts(quote: Quote, context: Context) -> None:
    """A gift sku twice only when every promotion giving it says stackable; stock used
    only for gifts given, never more than is left."""
    # the engine's (promotion, Gift) pairs: the public lines do not carry stackable
    given_gifts = quote._gifts
    by_sku: dict[str, list[bool]] = {}
    for _, g in given_gifts:
        by_sku.setdefault(g.sku, []).append(g.stackable)
    for flags in by_sku.values():
        assert len(flags) == 1 or all(flags)
    used = [(k, n) for k, n in quote.consumption if k.kind is CounterKind.GIFT_STOCK]
    expected = [(g.counter, g.quantity) for _, g in given_gifts if g.counter is not None]
    assert sorted(used) == sorted(expected)
    for key, amount in used:
        left = context.availability.remaining(key)
        assert left is None or amount <= left
    assert quote.cost_total == sum(ln.unit_cost * ln.quantity for ln in quote._lines) + sum(
        g.unit_cost * g.quantity for _, g in given_gifts
    )


def check_bounds(engine: Engine, quote: Quote, cart: Cart) -> None:
    """No promotion gives more than the bound its kind states."""
    for explanation in quote.explanations:
        if explanation.status is Status.NOT_APPLIED:
            continue
        promotion = engine.ruleset.promotion(explanation.promotion)
        bound = engine.bound(engine.ruleset.promotions.index(promotion))
        if promotion.kind == "free_shipping":
            assert bound.cap is None or explanation.amount <= bound.cap
            assert explanation.amount <= cart.shipping
        elif promotion.kind == "gift":
            index = [p.id for p in engine.ruleset.promotions].index(promotion.id)
            cost = sum(g.unit_cost * g.quantity for i, g in quote._gifts if i == index)
            assert cost <= bound.extra_cost
        elif promotion.kind in ("bxgy", "bundle"):
            # half-up rounding may add under one minor unit per line
            slack = len(cart.lines) if promotion.kind == "bxgy" else 0
            assert explanation.amount <= bound.rate * explanation.base + slack
            if bound.cap is not None:
                assert explanation.amount <= bound.cap


@given(basket_rulesets(), basket_carts(), basket_contexts())
def test_books_balance_gifts_are_never_duplicated_and_bounds_hold(
    data: dict[str, Any], cart: Cart, context: Context
) -> None:
    engine = build(data)
    quote = engine.price(cart, context)
    check_books(quote, cart)
    check_gifts(quote, context)
    check_bounds(engine, quote, cart)


@given(basket_rulesets(), basket_carts(), basket_contexts())
def test_basket_pricing_is_deterministic_and_pure(
    data: dict[str, Any], cart: Cart, context: Context
) -> None:
    check_pure_and_deterministic(build, data, cart, context)


@given(
    st.sampled_from(["clamp", "reject"]).flatmap(
        lambda mode: st.tuples(
            basket_rulesets(on_breach=mode, guarded=True), basket_carts(), basket_contexts()
        )
    )
)
def test_guardrails_hold_with_gifts_under_clamp_and_reject(
    case: tuple[dict[str, Any], Cart, Context],
) -> None:
    data, cart, context = case
    engine = build(data)
    quote = engine.price(cart, context)
    check_books(quote, cart)
    check_gifts(quote, context)
    report = quote.guardrail
    assert report.status is not GuardrailStatus.OK or all(f.held for f in report.floors)
    for floor in report.floors:
        if floor.held:
            assert floor.margin is None or floor.margin >= floor.minimum
            continue
        if floor.name == "order":
            covered: Sequence[int] = range(len(cart.lines))
            # broken only if no discount is left and the gifts left are not the cause
            goods_cost = sum(ln.unit_cost * ln.quantity for ln in cart.lines)
            if quote._gifts:
                revenue = quote.goods_payable
                assert minimum_revenue(goods_cost, Fraction(floor.minimum)) > revenue
        elif floor.name.startswith("line["):
            covered = [int(floor.name[5:-1])]
        else:
            category = floor.name.split(":", 1)[1]
            covered = [i for i, ln in enumerate(cart.lines) if ln.category == category]
        assert all(not quote.lines[i].adjustments for i in covered), floor
