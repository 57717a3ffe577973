"""Properties every quote must have, over random rulesets, carts and moments."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
from hypothesis import given
from hypothesis import strategies as st

from promorules.cart import Cart, Context
from promorules.counters import CounterKey, CounterKind, Snapshot
from promorules.engine import Engine
from promorules.kind import Lane
from promorules.quote import GuardrailStatus, Status
from promorules.ruleset import dump_ruleset, parse_ruleset
from tests.helpers import PLUGINS
from tests.property.checks import check_books, check_pure_and_deterministic
from tests.property.strategies import carts, contexts, rulesets


def build(data: dict[str, Any]) -> Engine:
    return Engine.from_dict(data, plugins=PLUGINS)


@given(rulesets(), carts(), contexts())
def test_books_balance_and_nothing_goes_negative(
    data: dict[str, Any], cart: Cart, context: Context
) -> None:
    check_books(build(data).price(cart, context), cart)


@given(rulesets(), carts(), contexts())
def test_pricing_is_deterministic_and_pure(
    data: dict[str, Any], cart: Cart, context: Context
) -> None:
    check_pure_and_deterministic(build, data, cart, context)


@given(rulesets(), carts(), contexts())
def test_a_ruleset_written_back_prices_identically(
    data: dict[str, Any], cart: Cart, context: Context
) -> None:
    engine = build(data)
    text = dump_ruleset(engine.ruleset)
    again = Engine(parse_ruleset(text, engine.kinds), engine.kinds)
    assert again.ruleset == engine.ruleset
    assert again.price(cart, context).to_dict() == engine.price(cart, context).to_dict()


@given(
    st.sampled_from(["clamp", "reject"]).flatmap(
        lambda mode: st.tuples(rulesets(on_breach=mode, guarded=True), carts(), contexts())
    )
)
def test_clamp_and_reject_never_leave_a_discount_on_a_broken_floor(
    case: tuple[dict[str, Any], Cart, Context],
) -> None:
    data, cart, context = case
    quote = build(data).price(cart, context)
    check_books(quote, cart)
    report = quote.guardrail
    assert report.status is not GuardrailStatus.OK or all(f.held for f in report.floors)
    for floor in report.floors:
        if floor.held:
            assert floor.margin is None or floor.margin >= floor.minimum
            continue
        # a floor may stay broken only where the list price itself breaks it: then no
        # discount at all is left on the lines it covers
        if floor.name == "order":
            covered: Sequence[int] = range(len(cart.lines))
        elif floor.name.startswith("line["):
            covered = [int(floor.name[5:-1])]
        else:
            category = floor.name.split(":", 1)[1]
            covered = [i for i, ln in enumerate(cart.lines) if ln.category == category]
        assert all(not quote.lines[i].adjustments for i in covered), floor


@given(rulesets(guarded=False), carts(), contexts())
def test_each_lane_measures_on_what_the_lanes_before_it_left(
    data: dict[str, Any], cart: Cart, context: Context
) -> None:
    # the base a pooled, untargeted promotion reports is the cart after earlier lanes
    engine = build(data)
    quote = engine.price(cart, context)
    order = list(engine.lanes)
    for explanation in quote.explanations:
        promotion = engine.ruleset.promotion(explanation.promotion)
        pooled = (
            promotion.config.scope is not None and promotion.config.scope.value == ("cross-store")
        ) or (promotion.config.scope is None and explanation.lane is Lane.PLATFORM)
        untargeted = not (promotion.categories or promotion.segments)
        if explanation.status is Status.NOT_APPLIED or not (pooled and untargeted):
            continue
        position = order.index(explanation.lane)
        earlier = sum(
            a.amount for ql in quote.lines for a in ql.adjustments if order.index(a.lane) < position
        )
        assert explanation.base == quote.list_total - earlier


@given(
    rulesets(),
    carts(),
    contexts(),
    st.integers(0, 50_000),
    st.integers(0, 50_000),
    st.sampled_from(["trim", "refuse"]),
)
def test_no_funder_is_ever_charged_past_what_is_left_of_its_budget(
    data: dict[str, Any],
    cart: Cart,
    context: Context,
    platform_left: int,
    merchant_left: int,
    policy: str,
) -> None:
    data = {
        **data,
        "budgets": {"platform": "100000.00", "merchant": "100000.00"},
        "stacking": {"funder_budget_policy": policy},
    }
    left = {
        CounterKey(CounterKind.FUNDER_BUDGET, "platform"): platform_left,
        CounterKey(CounterKind.FUNDER_BUDGET, "merchant"): merchant_left,
    }
    quote = build(data).price(cart, attrs.evolve(context, availability=Snapshot(left)))
    check_books(quote, cart)
    by_funder = {f.value: v for f, v in quote.discounts_by_funder.items()}
    assert by_funder.get("platform", 0) <= platform_left
    assert by_funder.get("merchant", 0) <= merchant_left
