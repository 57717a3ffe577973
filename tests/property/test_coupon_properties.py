"""Properties of quotes with coupons, over random rulesets, carts and presented codes."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import attrs
from hypothesis import given
from hypothesis import strategies as st

from promorules.cart import Cart, Context
from promorules.coupon_codes import normalise
from promorules.engine import Engine
from promorules.money import Rounding
from promorules.quote import GuardrailStatus, Status
from promorules_plugins import coupon, tiered
from tests.property.checks import check_books
from tests.property.strategies import carts, contexts, coupon_rulesets, presented_codes

PLUGINS: list[object] = [tiered, coupon]


def build(data: dict[str, Any]) -> Engine:
    return Engine.from_dict(data, plugins=PLUGINS)


def with_codes(context: Context, codes: tuple[str, ...]) -> Context:
    return attrs.evolve(context, coupons=codes)


@given(coupon_rulesets(), carts(), contexts(), presented_codes())
def test_books_balance_and_every_code_is_accounted_for(
    data: dict[str, Any], cart: Cart, context: Context, codes: tuple[str, ...]
) -> None:
    engine = build(data)
    quote = engine.price(cart, with_codes(context, codes))
    check_books(quote, cart)
    expected = list(dict.fromkeys(c for c in (normalise(code) for code in codes) if c))
    assert [f.code for f in quote.codes] == expected
    for found in quote.codes:
        assert found.code.isascii() and found.code.isalnum()
        if found.status is not Status.NOT_APPLIED:
            assert found.promotion is not None
            assert found.amount == quote.discounts_by_promotion.get(found.promotion, 0)
        else:
            assert found.reason


@given(coupon_rulesets(guarded=False), carts(), contexts(), presented_codes())
def test_a_coupon_never_gives_more_than_its_base_or_its_bound(
    data: dict[str, Any], cart: Cart, context: Context, codes: tuple[str, ...]
) -> None:
    engine = build(data)
    quote = engine.price(cart, with_codes(context, codes))
    for explanation in quote.explanations:
        if explanation.kind != "coupon" or explanation.status is Status.NOT_APPLIED:
            continue
        promotion = engine.ruleset.promotion(explanation.promotion)
        bound = engine.bound(engine.ruleset.promotions.index(promotion))
        assert 0 < explanation.amount <= explanation.base
        assert bound.cap is None or explanation.amount <= bound.cap
        # a percent rounded half-up may land up to half a minor unit above its rate
        slack = Fraction(0) if engine.rounding is Rounding.DOWN else Fraction(1, 2)
        assert explanation.amount <= bound.rate * explanation.base + slack
        # only lines in its scope carry it
        for ql, line in zip(quote.lines, cart.lines, strict=False):
            if any(a.promotion == promotion.id for a in ql.adjustments):
                assert not promotion.merchants or line.merchant in promotion.merchants
                assert not promotion.categories or line.category in promotion.categories


@given(coupon_rulesets(), carts(), contexts(), presented_codes())
def test_deterministic_and_indifferent_to_case_and_dashes(
    data: dict[str, Any], cart: Cart, context: Context, codes: tuple[str, ...]
) -> None:
    engine = build(data)
    first = engine.price(cart, with_codes(context, codes)).to_dict()
    assert engine.price(cart, with_codes(context, codes)).to_dict() == first
    retyped = tuple(f"-{code.lower()}-" for code in codes)
    assert build(data).price(cart, with_codes(context, retyped)).to_dict() == first


@given(
    st.sampled_from(["clamp", "reject"]).flatmap(
        lambda mode: st.tuples(
            coupon_rulesets(on_breach=mode, guarded=True), carts(), contexts(), presented_codes()
        )
    )
)
def test_guardrails_hold_with_coupons(
    case: tuple[dict[str, Any], Cart, Context, tuple[str, ...]],
) -> None:
    data, cart, context, codes = case
    quote = build(data).price(cart, with_codes(context, codes))
    check_books(quote, cart)
    report = quote.guardrail
    for floor in report.floors:
        if not floor.held:
            # only where list prices alone break the floor: then the status says so
            assert report.status is GuardrailStatus.BREACHED
        else:
            assert floor.margin is None or floor.margin >= floor.minimum
