"""Properties of the price lane with flash, member and presale offers together."""

from __future__ import annotations

from hypothesis import given

from promorules.cart import Cart, Context
from promorules.engine import Engine
from promorules.quote import GuardrailStatus, PaymentStatus, Quote
from promorules_plugins import flash_sale, member_price, presale, tiered
from tests.property.strategies import PriceLaneCase, price_lane_cases

PLUGINS = [tiered, flash_sale, member_price, presale]


def _price(case: PriceLaneCase) -> Quote:
    engine = Engine.from_string(case.ruleset, plugins=PLUGINS)
    cart = Cart(case.lines, case.customer, "CNY")
    return engine.price(cart, Context(case.at, availability=case.availability))


@given(price_lane_cases(with_presale=False, with_guardrail=False))
def test_each_unit_pays_the_lowest_price_offered(case: PriceLaneCase) -> None:
    quote = _price(case)
    consumed = dict(quote.consumption)
    for line, quoted in zip(case.lines, quote.lines, strict=True):
        normal = min(case.member.get(line.sku, line.unit_price), line.unit_price)
        flash = case.flash.get(line.sku)
        units = 0
        # on a tie the promotion declared first (flash, here) takes the unit
        if flash is not None and flash <= normal and flash < line.unit_price:
            units = min(line.quantity, case.flash_left[line.sku])
            expected = units * flash + (line.quantity - units) * normal
        else:
            expected = line.quantity * normal
        assert quoted.payable == expected
        # flash counters move exactly by the units that paid the flash price
        stock = [
            v
            for k, v in consumed.items()
            if k.kind.value == "flash_stock" and k.subject == line.sku
        ]
        assert sum(stock) == units


@given(price_lane_cases())
def test_totals_allocations_guardrail_and_consumption(case: PriceLaneCase) -> None:
    quote = _price(case)
    assert quote.payable >= 0
    for line, quoted in zip(case.lines, quote.lines, strict=True):
        assert quoted.payable >= 0
        # every minor unit of discount is accounted for by an adjustment, exactly
        assert sum(a.amount for a in quoted.adjustments) == quoted.list_amount - quoted.payable
        for adjustment in quoted.adjustments:
            assert sum(adjustment.funding.values()) == adjustment.amount
        if quote.guardrail.status is not GuardrailStatus.BREACHED:
            assert quoted.payable >= line.unit_cost * line.quantity  # line floor 0%
    assert quote.guardrail.status is not GuardrailStatus.BREACHED
    # nothing is consumed beyond what the snapshot says is left
    for key, amount in quote.consumption:
        left = case.availability.remaining(key)
        assert left is not None
        assert 0 < amount <= left
    # flash stock only for skus a line still buys at a flash discount (the clamp may
    # have taken a line's back whole: its units then paid another price)
    flashed = {
        quoted.sku
        for quoted in quote.lines
        if any(a.promotion == "flash" and a.amount > 0 for a in quoted.adjustments)
    }
    for key, _amount in quote.consumption:
        if key.kind.value == "flash_stock":
            assert key.subject in flashed
    # instalments add up to the order total unless a paid deposit exceeds its line
    paid = sum(line.deposit_paid for line in case.lines)
    if quote.payments and paid <= quote.payable:
        assert sum(p.amount for p in quote.payments) == quote.payable
        assert quote.due_now == sum(
            p.amount for p in quote.payments if p.status is PaymentStatus.DUE_NOW
        )
    assert 0 <= quote.due_now <= quote.payable


@given(price_lane_cases())
def test_pricing_is_deterministic(case: PriceLaneCase) -> None:
    engine = Engine.from_string(case.ruleset, plugins=PLUGINS)
    cart = Cart(case.lines, case.customer, "CNY")
    context = Context(case.at, availability=case.availability)
    first = engine.price(cart, context).to_dict()
    assert engine.price(cart, context).to_dict() == first
    assert _price(case).to_dict() == first
