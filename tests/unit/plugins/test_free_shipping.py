"""The free_shipping kind, with figures worked out by hand."""

from __future__ import annotations

from fractions import Fraction

from promorules.engine import Engine
from promorules.kind import Reason
from promorules.messages import Note
from promorules.quote import Status
from promorules_plugins import free_shipping
from tests.helpers import HEADER, cart, ctx, line, yuan

FS = '[[promotion]]\nid = "fs"\nkind = "free_shipping"\nthreshold = "99.00"\n'
FS2 = '[[promotion]]\nid = "fs2"\nkind = "free_shipping"\n'


def build(body: str) -> Engine:
    return Engine.from_string(HEADER + body, plugins=[free_shipping])


def test_shipping_waived_above_the_threshold() -> None:
    quote = build(FS).price(cart(line("a", 1, "120.00"), shipping="10.00"), ctx())
    assert quote.shipping_payable == 0
    assert quote.payable == yuan("120.00")
    assert quote.discount_total == yuan("10.00")
    explanation = quote.explanation("fs")
    assert explanation.amount == yuan("10.00")
    assert "CN¥10.00 shipping waived above CN¥99.00" in explanation.message


def test_below_the_threshold_hints() -> None:
    quote = build(FS).price(cart(line("a", 1, "80.00"), shipping="10.00"), ctx())
    assert quote.shipping_payable == yuan("10.00")
    explanation = quote.explanation("fs")
    assert explanation.reason == Reason.BELOW_THRESHOLD.value
    assert explanation.hint is not None
    assert (explanation.hint.shortfall, explanation.hint.reward) == (
        yuan("19.00"),
        Note("free-shipping"),
    )


def test_two_free_shippings_in_one_lane_never_make_shipping_negative() -> None:
    quote = build(FS + FS2).price(cart(line("a", 1, "120.00"), shipping="10.00"), ctx())
    assert quote.shipping_payable == 0
    assert quote.discount_total == yuan("10.00")
    assert quote.payable == yuan("120.00")
    assert quote.explanation("fs2").status is Status.NOT_APPLIED


def test_two_free_shippings_in_two_lanes_never_make_shipping_negative() -> None:
    body = FS + 'lane = "store"\n' + FS2
    quote = build(body).price(cart(line("a", 1, "120.00"), shipping="10.00"), ctx())
    assert quote.shipping_payable == 0
    assert quote.discount_total == yuan("10.00")
    assert quote.explanation("fs2").reason == Reason.NOTHING_LEFT.value


def test_partial_reductions_stack_up_to_the_fee_only() -> None:
    # 6.00 off each on a 10.00 fee: 6.00 then the 4.00 left
    body = FS + 'off = "6.00"\n' + FS2 + 'off = "6.00"\n'
    quote = build(body).price(cart(line("a", 1, "120.00"), shipping="10.00"), ctx())
    assert quote.shipping_payable == 0
    assert quote.discounts_by_promotion == {"fs": yuan("6.00"), "fs2": yuan("4.00")}


def test_no_fee_nothing_to_waive() -> None:
    quote = build(FS).price(cart(line("a", 1, "120.00")), ctx())
    assert quote.explanation("fs").reason == Reason.NOTHING_LEFT.value


def test_threshold_on_goods_in_scope_only() -> None:
    body = FS + 'categories = ["beauty"]\n'
    c = cart(line("a", 1, "50.00", category="beauty"), line("b", 1, "80.00"), shipping="10.00")
    assert build(body).price(c, ctx()).explanation("fs").reason == Reason.BELOW_THRESHOLD.value
    c = cart(line("b", 1, "180.00"), shipping="10.00")
    assert build(body).price(c, ctx()).explanation("fs").reason == (Reason.NO_ELIGIBLE_LINES.value)


def test_a_budget_trimming_the_shipping_discount_gives_the_fee_back() -> None:
    # budget 4.00 of a 10.00 waiver: 6.00 of shipping is paid, the books agree
    body = FS + 'budget = "4.00"\n'
    quote = build(body).price(cart(line("a", 1, "120.00"), shipping="10.00"), ctx())
    assert quote.shipping_payable == yuan("6.00")
    assert quote.discounts_by_promotion == {"fs": yuan("4.00")}
    assert quote.discount_total == yuan("4.00")
    assert quote.payable == yuan("126.00")
    assert quote.explanation("fs").status is Status.TRIMMED


def test_bound_discounts_no_goods() -> None:
    engine = build(FS + 'off = "6.00"\n')
    bound = engine.bound(0)
    assert (bound.rate, bound.cap) == (Fraction(0), yuan("6.00"))
    assert "excluded from the goods margin" in bound.note


def test_a_percent_off_shipping_and_shipping_at_a_fixed_price() -> None:
    basket = cart(line("a", 1, "120.00"), shipping="15.00")
    for config, paid in (('percent = "40%"\n', "9.00"), ('price = "6.00"\n', "6.00")):
        rules = build(FS + config)
        for quote in (rules.price(basket, ctx()), rules.explained(basket, ctx())):
            assert quote.shipping_payable == yuan(paid)
    cheap = cart(line("a", 1, "120.00"), shipping="5.00")  # below the fixed price: as it is
    assert build(FS + 'price = "6.00"\n').price(cheap, ctx()).shipping_payable == yuan("5.00")


def test_amount_and_quantity_together() -> None:
    rules = build(FS + "quantity = 2\n")
    one = cart(line("a", 1, "120.00"), shipping="10.00")
    two = cart(line("a", 2, "60.00"), shipping="10.00")
    assert rules.price(one, ctx()).shipping_payable == yuan("10.00")  # 120.00, but 1 item
    assert rules.price(two, ctx()).shipping_payable == 0
