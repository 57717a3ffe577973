"""Invariants every quote must satisfy, shared by the property suites."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from promorules.cart import Cart, Context
from promorules.engine import Engine
from promorules.quote import Quote, Status


def check_books(quote: Quote, cart: Cart) -> None:
    """Nothing negative, shipping within [0, fee], every amount and split adds up exactly."""
    assert 0 <= quote.shipping_payable <= cart.shipping
    assert quote.payable == quote.goods_payable + quote.shipping_payable >= 0
    on_lines = 0
    per_funder: dict[Any, int] = {}
    for ql in quote.lines:
        assert ql.payable >= 0
        assert ql.list_amount - sum(a.amount for a in ql.adjustments) == ql.payable
        for adjustment in ql.adjustments:
            assert adjustment.amount > 0
            assert sum(adjustment.funding.values()) == adjustment.amount
            for funder, part in adjustment.funding.items():
                assert part >= 0
                per_funder[funder] = per_funder.get(funder, 0) + part
        on_lines += sum(a.amount for a in ql.adjustments)
    shipping_off = cart.shipping - quote.shipping_payable
    assert quote.discount_total == on_lines + shipping_off
    assert sum(quote.discounts_by_promotion.values()) == quote.discount_total
    assert sum(quote.discounts_by_funder.values()) == quote.discount_total
    by_funder = {f: v for f, v in quote.discounts_by_funder.items() if v}
    if shipping_off == 0:
        # per line the funder parts add up to the funder totals, exactly
        assert {f: v for f, v in per_funder.items() if v} == by_funder
    else:  # the shipping discount's share is on no line
        assert all(v <= by_funder.get(f, 0) for f, v in per_funder.items())
    valid_deposits = all(
        line.deposit_paid <= line.unit_price * line.quantity for line in cart.lines
    )  # a deposit above its line is bad input (refused when a cart is read)
    if quote.payments and valid_deposits:  # the schedule accounts for the total, exactly
        assert sum(p.amount for p in quote.payments) == quote.payable
        assert all(p.amount >= 0 for p in quote.payments)
    for explanation in quote.explanations:
        given = quote.discounts_by_promotion.get(explanation.promotion, 0)
        assert given == (0 if explanation.status is Status.NOT_APPLIED else explanation.amount)


def check_pure_and_deterministic(
    build: Callable[[dict[str, Any]], Engine], data: dict[str, Any], cart: Cart, context: Context
) -> None:
    """Pricing leaves the cart alone, and gives the same quote twice and from a fresh engine
    (no warm caches); the hot path's figures (explanations left out, worked out on
    access) are those of the pass that explains everything as it goes."""
    engine = build(data)
    before = copy.deepcopy(cart)
    quote = engine.price(cart, context)
    consumption = quote.consumption  # read before the explanations are worked out
    first = quote.to_dict()
    assert cart == before
    explained = engine.explained(cart, context)
    assert explained.to_dict() == first
    assert explained.consumption == consumption
    assert engine.price(cart, context).to_dict() == first
    assert build(data).price(cart, context).to_dict() == first
