"""An order discount measured with the shipping fee in its pool (``with_shipping``):
threshold, percent and cap count goods plus shipping, and the fee takes its share."""

from __future__ import annotations

from fractions import Fraction

import pytest

from promorules.cart import Cart
from promorules.diagnostics import RulesetError
from promorules.model import Every, PercentOff, Pool, Rule
from promorules.quote import Quote
from tests.helpers import ALL_KINDS, cart, ctx, engine, line, yuan

PERCENT = (
    '[[promotion]]\nid = "p"\nkind = "coupon"\nlane = "platform"\ncode = "ALL10"\n'
    'percent = "10%"\nmax_off = "50.00"\nwith_shipping = true\n'
)
THRESHOLD = (
    '[[promotion]]\nid = "t"\nkind = "coupon"\ncode = "T20"\noff = "20.00"\n'
    'threshold = "100.00"\nwith_shipping = true\n'
)
DISCOUNT = (
    '[[promotion]]\nid = "d"\nkind = "discount"\nlane = "platform"\npercent = "10%"\n'
    'round = "pool"\ncap = "5.00"\nwith_shipping = true\n'
)


def _both(body: str, basket: Cart, codes: tuple[str, ...] = ()) -> list[Quote]:
    """The quote of the written pass and of the explained one (the interpreter)."""
    rules = engine(body, plugins=ALL_KINDS)
    return [rules.price(basket, ctx(coupons=codes)), rules.explained(basket, ctx(coupons=codes))]


def test_a_percent_coupon_measures_goods_plus_shipping() -> None:
    # 60.00 + 30.00 of goods and 10.00 of shipping: 10% of 100.00 = 10.00, split
    # 60 : 30 : 10 -> 6.00 and 3.00 off the lines, 1.00 off the fee
    basket = cart(line("a", 1, "60.00"), line("b", 1, "30.00"), shipping="10.00")
    for quote in _both(PERCENT, basket, ("ALL10",)):
        assert [q.payable for q in quote.lines] == [yuan("54.00"), yuan("27.00")]
        assert quote.shipping_payable == yuan("9.00")
        assert quote.payable == yuan("90.00")
        assert quote.discounts_by_promotion == {"p": yuan("10.00")}


def test_the_fee_counts_towards_the_threshold() -> None:
    # 92.00 of goods alone is short of 100.00; with 8.00 of shipping it reaches it:
    # 20.00 split 92 : 8 -> 18.40 off the line, 1.60 off the fee
    basket = cart(line("a", 1, "92.00"), shipping="8.00")
    for quote in _both(THRESHOLD, basket, ("T20",)):
        assert quote.goods_payable == yuan("73.60")
        assert quote.shipping_payable == yuan("6.40")
    without = THRESHOLD.replace("with_shipping = true\n", "")
    for quote in _both(without, basket, ("T20",)):
        assert quote.discount_total == 0
    short = cart(line("a", 1, "91.99"), shipping="8.00")
    for quote in _both(THRESHOLD, short, ("T20",)):
        assert quote.discount_total == 0
    hint = engine(THRESHOLD, plugins=ALL_KINDS).explained(short, ctx(coupons=("T20",)))
    found = hint.explanation("t").hint
    assert found is not None and found.shortfall == 1


def test_the_cap_holds_on_goods_plus_shipping() -> None:
    # 10% of 100.00 = 10.00, capped at 5.00, split 60 : 30 : 10 -> 3.00, 1.50, 0.50
    basket = cart(line("a", 1, "60.00"), line("b", 1, "30.00"), shipping="10.00")
    for quote in _both(DISCOUNT, basket):
        assert [q.payable for q in quote.lines] == [yuan("57.00"), yuan("28.50")]
        assert quote.shipping_payable == yuan("9.50")


def test_with_shipping_takes_one_pool_of_the_order_by_amount() -> None:
    with pytest.raises(RulesetError) as info:
        engine(DISCOUNT.replace('round = "pool"\n', ""), plugins=ALL_KINDS)
    assert "with_shipping" in str(info.value)
    with pytest.raises(ValueError, match="with_shipping"):
        Rule(PercentOff(Fraction(1, 10)), pool=Pool.STORE, with_shipping=True)
    with pytest.raises(ValueError, match="with_shipping"):
        Rule(Every(100, 10, by_quantity=True), with_shipping=True)
