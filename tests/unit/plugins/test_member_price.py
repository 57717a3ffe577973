"""member_price: a unit price for a segment, and how it meets the flash price."""

from __future__ import annotations

from fractions import Fraction

import pytest

from promorules.cart import Customer
from promorules.diagnostics import RulesetError
from promorules.quote import Status
from tests.unit.plugins.pricelane import engine, line, price

MEMBER = """
[[promotion]]
id = "member"
kind = "member_price"
segments = ["member"]
prices = { "SERUM" = "299.00" }
percent = "10%"
"""
FLASH = """
[[promotion]]
id = "flash"
kind = "flash_sale"
phases = ["explosion"]
prices = { "SERUM" = "199.00" }
percent = "30%"
per_customer = 2
"""
MEMBER_CUSTOMER = Customer("c-9", frozenset({"member"}))


def test_member_gets_the_price_others_do_not() -> None:
    lines = [line("SERUM", 1, "329.00"), line("LIPSTICK", 1, "199.00")]
    quote = price(engine(MEMBER), lines, customer=MEMBER_CUSTOMER)
    # serum 299.00; lipstick 10% off 199.00 = 179.10
    assert quote.payable == 29900 + 17910
    assert quote.explanation("member").amount == 3000 + 1990
    other = price(engine(MEMBER), lines)
    assert other.payable == 32900 + 19900
    assert other.explanation("member").reason == "segment-not-targeted"


def test_lowest_price_per_unit_wins() -> None:
    lines = [line("SERUM", 3, "329.00"), line("LIPSTICK", 1, "199.00")]
    quote = price(engine(MEMBER + FLASH), lines, customer=MEMBER_CUSTOMER)
    # serum: 2 flash units at 199 (limit 2), the third at member 299: 697.00
    # lipstick: flash 30% off = 139.30 beats member 179.10
    assert [ql.payable for ql in quote.lines] == [69700, 13930]
    assert quote.discounts_by_promotion == {"flash": 26000 + 5970, "member": 3000}


def test_member_price_above_list_is_ignored() -> None:
    quote = price(engine(MEMBER), [line("SERUM", 1, "250.00")], customer=MEMBER_CUSTOMER)
    explanation = quote.explanation("member")
    assert (explanation.status, explanation.reason) == (Status.NOT_APPLIED, "no-eligible-lines")
    assert quote.payable == 25000


def test_segments_are_required() -> None:
    with pytest.raises(RulesetError) as info:
        engine('\n[[promotion]]\nid = "m"\nkind = "member_price"\npercent = "10%"\n')
    assert "needs the segments" in str(info.value)


def test_bound() -> None:
    bound = engine(MEMBER).bound(0)
    assert bound.rate == 1
    assert bound.unit_depth("SERUM", 32900) == Fraction(3000, 32900)
    assert bound.unit_depth("LIPSTICK", 19900) == Fraction(1, 10)
    percent = engine(MEMBER.replace('prices = { "SERUM" = "299.00" }\n', ""))
    assert percent.bound(0).rate == Fraction(1, 10)
