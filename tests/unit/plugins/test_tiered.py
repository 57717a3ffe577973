"""The tiered kind, with figures worked out by hand."""

from __future__ import annotations

import pytest

from promorules.diagnostics import RulesetError
from promorules.kind import Reason
from promorules.quote import Status
from tests.helpers import cart, ctx, engine, line, yuan

EVERY_300_OFF_50 = """
[[promotion]]
id = "p"
kind = "tiered"
lane = "platform"
mode = "every"
threshold = "300.00"
off = "50.00"
"""

LADDER = """
[[promotion]]
id = "s"
kind = "tiered"
lane = "store"
tiers = [
  { threshold = "300.00", off = "30.00" },
  { threshold = "500.00", off = "60.00" },
]
"""


@pytest.mark.parametrize(
    ("amount", "off"),
    [
        ("299.99", "0"),
        ("300.00", "50.00"),
        ("599.99", "50.00"),
        ("600.00", "100.00"),
        ("1000.00", "150.00"),
    ],
)
def test_every_300_off_50_repeats_on_the_floor_of_base_over_threshold(
    amount: str, off: str
) -> None:
    quote = engine(EVERY_300_OFF_50).price(cart(line("a", 1, amount)), ctx())
    assert quote.discount_total == yuan(off)


def test_every_with_cap_stops_at_the_cap() -> None:
    quote = engine(EVERY_300_OFF_50 + 'cap = "100.00"\n').price(cart(line("a", 1, "1000")), ctx())
    assert quote.discount_total == yuan("100.00")
    assert "capped" in quote.explanation("p").message


@pytest.mark.parametrize(
    ("amount", "off"),
    [
        ("299.00", "0"),
        ("300.00", "30.00"),
        ("499.00", "30.00"),
        ("500.00", "60.00"),
        ("5000.00", "60.00"),
    ],
)
def test_ladder_gives_only_the_highest_tier_reached(amount: str, off: str) -> None:
    quote = engine(LADDER).price(cart(line("a", 1, amount, merchant="m1")), ctx())
    assert quote.discount_total == yuan(off)


def test_store_scope_measures_each_merchant_separately() -> None:
    # m1: 200 + 150 = 350 -> 30 off; m2: 250 -> nothing (pooled it would be 600 -> 60)
    quote = engine(LADDER).price(
        cart(
            line("a", 1, "200", merchant="m1"),
            line("b", 1, "150", merchant="m1"),
            line("c", 1, "250", merchant="m2"),
        ),
        ctx(),
    )
    assert quote.discount_total == yuan("30.00")
    # 30.00 over 200 and 150 in proportion: 17.14 and 12.86 (largest remainder)
    assert [ql.discount for ql in quote.lines] == [1714, 1286, 0]


def test_cross_store_pools_every_merchant() -> None:
    body = LADDER.replace('lane = "store"', 'lane = "store"\nscope = "cross-store"')
    quote = engine(body).price(
        cart(line("a", 1, "350", merchant="m1"), line("c", 1, "250", merchant="m2")), ctx()
    )
    assert quote.discount_total == yuan("60.00")


def test_percent_ladder_by_quantity_rounds_down() -> None:
    body = """
[[promotion]]
id = "q"
kind = "tiered"
lane = "item"
tiers = [ { quantity = 2, percent = "10%" }, { quantity = 3, percent = "20%" } ]
"""
    e = engine(body)
    # 2 items of 33.33: 10% of 66.66 = 6.666 -> 6.66 (down)
    assert e.price(cart(line("a", 2, "33.33")), ctx()).discount_total == 666
    # 3 items: 20% of 99.99 = 19.998 -> 19.99
    assert e.price(cart(line("a", 3, "33.33")), ctx()).discount_total == 1999
    one = e.price(cart(line("a", 1, "33.33")), ctx()).explanation("q")
    assert one.status is Status.NOT_APPLIED and one.reason == Reason.BELOW_THRESHOLD.value
    assert one.hint is not None and one.hint.by_quantity and one.hint.shortfall == 1


def test_half_up_rounding_is_a_ruleset_setting() -> None:
    body = """
[[promotion]]
id = "q"
kind = "tiered"
lane = "item"
tiers = [ { quantity = 1, percent = "10%" } ]
"""
    header_half_up = """
[campaign]
name = "T"
currency = "CNY"
timezone = "Asia/Shanghai"
rounding = "half-up"
"""
    # 10% of 0.35 = 0.035 -> 0.03 down, 0.04 half-up
    assert engine(body).price(cart(line("a", 1, "0.35")), ctx()).discount_total == 3
    e = engine(body, header=header_half_up)
    assert e.price(cart(line("a", 1, "0.35")), ctx()).discount_total == 4


def test_upsell_hint_names_the_shortfall_and_the_reward() -> None:
    quote = engine(EVERY_300_OFF_50).price(cart(line("a", 1, "268.00")), ctx())
    explanation = quote.explanation("p")
    assert explanation.hint is not None
    assert explanation.hint.shortfall == yuan("32.00")
    assert "spend CN¥32.00 more to get CN¥50.00 off" in explanation.message


def test_no_hint_when_the_next_tier_is_far() -> None:
    quote = engine(EVERY_300_OFF_50).price(cart(line("a", 1, "100.00")), ctx())
    assert quote.explanation("p").hint is None


def test_a_discount_never_exceeds_its_base() -> None:
    body = """
[[promotion]]
id = "big"
kind = "tiered"
lane = "store"
threshold = "10.00"
off = "500.00"
"""
    quote = engine(body).price(cart(line("a", 1, "12.00")), ctx())
    assert quote.payable == 0
    assert quote.discount_total == yuan("12.00")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            'tiers = [ { threshold = "500.00", off = "30.00" }, { threshold = "300.00", off = '
            '"60.00" } ]',
            "must exceed the previous tier's threshold",
        ),
        ('mode = "every"\nthreshold = "300.00"\npercent = "10%"', "every mode repeats an amount"),
        ('threshold = "300.00"', "give exactly one reward"),
        ('threshold = "300.00"\nquantity = 3\noff = "1.00"', "exactly one of threshold"),
        ('tiers = [ { threshold = "300.00", off = "30.00" } ]\nthreshold = "1.00"', "not both"),
    ],
)
def test_invalid_tiers_are_reported(fields: str, message: str) -> None:
    with pytest.raises(RulesetError) as err:
        engine(f'[[promotion]]\nid = "t"\nkind = "tiered"\n{fields}\n')
    assert any(message in d.message for d in err.value.diagnostics), err.value.render()


def test_bound_of_every_300_off_50_is_one_sixth() -> None:
    from fractions import Fraction

    bound = engine(EVERY_300_OFF_50).bound(0)
    assert bound.rate == Fraction(1, 6)


def test_each_line_reaches_its_own_tier() -> None:
    # "2 of one item: 10% off it; 3: 20% off it": each line on its own quantity
    rules = engine(
        '[[promotion]]\nid = "multi"\nkind = "tiered"\nlane = "item"\nscope = "line"\n'
        'tiers = [{ quantity = 2, percent = "10%" }, { quantity = 3, percent = "20%" }]\n'
    )
    basket = cart(line("a", 3, "10.00"), line("b", 2, "50.00"), line("c", 1, "80.00"))
    for quote in (rules.price(basket, ctx()), rules.explained(basket, ctx())):
        assert [ql.discount for ql in quote.lines] == [yuan("6.00"), yuan("10.00"), 0]
