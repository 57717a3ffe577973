"""``unlock_codes``: any promotion, of any kind, may wait for a code."""

from __future__ import annotations

import pytest

from promorules.diagnostics import PromorulesError, RulesetError
from promorules.quote import Status
from tests.helpers import ALL_KINDS, cart, ctx, engine, line, yuan

PERCENT = (
    '[[promotion]]\nid = "vip"\nkind = "discount"\npercent = "10%"\nunlock_codes = ["vip-10"]\n'
)
SHIPPING = '[[promotion]]\nid = "ship"\nkind = "free_shipping"\nunlock_codes = ["FREESHIP"]\n'
B2G1 = '[[promotion]]\nid = "b2g1"\nkind = "bxgy"\nbuy = 2\nget = 1\nunlock_codes = ["THREE"]\n'


def test_a_code_gated_percent_off_each_line() -> None:
    rules = engine(PERCENT, plugins=ALL_KINDS)
    basket = cart(line("a", 1, "100.00"))
    assert rules.price(basket, ctx()).discount_total == 0
    for quote in (
        rules.price(basket, ctx(coupons=(" Vip10 ",))),
        rules.explained(basket, ctx(coupons=("VIP-10",))),
    ):
        assert quote.discount_total == yuan("10.00")
    why = rules.explained(basket, ctx()).explanation("vip")
    assert (why.status, why.reason) == (Status.NOT_APPLIED, "code-not-presented")
    found = rules.explained(basket, ctx(coupons=("VIP10",))).codes
    assert [(f.code, f.promotion) for f in found] == [("VIP10", "vip")]


def test_code_gated_free_shipping_and_buy_2_get_1() -> None:
    rules = engine(SHIPPING + B2G1, plugins=ALL_KINDS)
    basket = cart(line("a", 3, "30.00"), shipping="8.00")
    plain = rules.price(basket, ctx())
    assert (plain.discount_total, plain.shipping_payable) == (0, yuan("8.00"))
    for quote in (
        rules.price(basket, ctx(coupons=("FREESHIP", "THREE"))),
        rules.explained(basket, ctx(coupons=("FREESHIP", "THREE"))),
    ):
        assert quote.shipping_payable == 0
        assert quote.discounts_by_promotion == {"b2g1": yuan("30.00"), "ship": yuan("8.00")}
    only_three = rules.explained(basket, ctx(coupons=("THREE",)))
    assert only_three.explanation("ship").reason == "code-not-presented"


def test_unlock_codes_are_checked() -> None:
    with pytest.raises(RulesetError) as info:
        engine(PERCENT.replace('["vip-10"]', '["--"]'), plugins=ALL_KINDS)
    assert "at least one letter or digit" in str(info.value)
    coupon = (
        '[[promotion]]\nid = "c"\nkind = "coupon"\ncode = "A"\noff = "5"\nunlock_codes = ["B"]\n'
    )
    with pytest.raises(PromorulesError) as found:
        engine(coupon, plugins=ALL_KINDS)
    assert "its own codes" in str(found.value)


def test_code_gated_unit_prices() -> None:
    # a member price and a stockless flash price may wait for a code as well
    body = (
        '[[promotion]]\nid = "m"\nkind = "member_price"\nsegments = ["member"]\n'
        'percent = "5%"\nunlock_codes = ["VIP"]\n'
        '[[promotion]]\nid = "f"\nkind = "flash_sale"\nphases = ["explosion"]\n'
        'prices = { "b" = "50.00" }\nunlock_codes = ["FLASH"]\n'
    )
    rules = engine(body, plugins=ALL_KINDS)
    basket = cart(line("a", 1, "100.00"), line("b", 1, "80.00"), segments=("member",))
    for codes, expected in (
        ((), {}),
        (("VIP",), {"m": yuan("9.00")}),
        (("VIP", "FLASH"), {"m": yuan("5.00"), "f": yuan("30.00")}),
    ):
        for quote in (
            rules.price(basket, ctx(coupons=codes)),
            rules.explained(basket, ctx(coupons=codes)),
        ):
            assert quote.discounts_by_promotion == expected
