"""The bxgy kind, with figures worked out by hand."""

from __future__ import annotations

from fractions import Fraction

import pytest

from promorules.diagnostics import RulesetError
from promorules.engine import Engine
from promorules.kind import Reason
from promorules.messages import Note
from promorules.quote import Quote, Status
from promorules_plugins import bxgy, tiered
from tests.helpers import HEADER, cart, ctx, line, yuan

B2G1 = '[[promotion]]\nid = "b2g1"\nkind = "bxgy"\nbuy = 2\nget = 1\n'
HALF = '[[promotion]]\nid = "half"\nkind = "bxgy"\nbuy = 1\npercent = "50%"\n'


def build(body: str) -> Engine:
    return Engine.from_string(HEADER + body, plugins=[tiered, bxgy])


def offs(quote: Quote) -> list[int]:
    return [ql.discount for ql in quote.lines]


def test_third_unit_free_on_one_line() -> None:
    quote = build(B2G1).price(cart(line("a", 3, "30.00")), ctx())
    assert offs(quote) == [yuan("30.00")]
    assert quote.payable == yuan("60.00")
    assert quote.explanation("b2g1").status is Status.APPLIED


def test_cheapest_unit_across_lines_is_free() -> None:
    quote = build(B2G1).price(
        cart(line("a", 1, "100.00"), line("b", 1, "50.00"), line("c", 1, "20.00")), ctx()
    )
    assert offs(quote) == [0, 0, yuan("20.00")]


def test_repeats_take_the_cheapest_units_of_the_pool() -> None:
    # 7 units -> 2 groups of 3 -> the 2 cheapest units (two 10.00 on line a) free
    c = cart(line("a", 4, "10.00"), line("b", 3, "25.00"))
    assert offs(build(B2G1).price(c, ctx())) == [yuan("20.00"), 0]
    assert offs(build(B2G1 + "max_repeats = 1\n").price(c, ctx())) == [yuan("10.00"), 0]


def test_percent_off_the_cheapest_rounds_down_once_per_line() -> None:
    # buy 1 get 1 at 50%: cheapest is 33.33 -> 16.665 -> 16.66 (rounding down)
    quote = build(HALF).price(cart(line("a", 1, "99.99"), line("b", 1, "33.33")), ctx())
    assert offs(quote) == [0, yuan("16.66")]


def test_a_line_whose_amount_does_not_divide_by_its_quantity_is_split_exactly() -> None:
    # item lane takes 0.01 off 3 x 10.00: 29.99 = 10.00 + 10.00 + 9.99; the 9.99 unit is free
    body = (
        '[[promotion]]\nid = "cut"\nkind = "tiered"\nlane = "item"\nthreshold = "1.00"\n'
        'off = "0.01"\n' + B2G1 + 'lane = "store"\n'
    )
    quote = build(body).price(cart(line("a", 3, "10.00")), ctx())
    assert quote.discounts_by_promotion == {"cut": 1, "b2g1": yuan("9.99")}
    assert quote.payable == yuan("20.00")


def test_too_few_units_hints_how_many_more() -> None:
    quote = build(B2G1).price(cart(line("a", 2, "30.00")), ctx())
    explanation = quote.explanation("b2g1")
    assert explanation.reason == Reason.BELOW_THRESHOLD.value
    assert explanation.hint is not None
    assert (explanation.hint.shortfall, explanation.hint.by_quantity) == (1, True)
    assert explanation.hint.reward == Note("units-free", {"units": 1})
    assert explanation.upsell() == "add 1 more item to get 1 free"


def test_applied_with_one_unit_short_of_another_group_hints() -> None:
    # 5 units: one group; one more unit makes a second
    quote = build(B2G1).price(cart(line("a", 5, "10.00")), ctx())
    explanation = quote.explanation("b2g1")
    assert explanation.amount == yuan("10.00")
    assert explanation.hint is not None and explanation.hint.shortfall == 1


def test_only_units_in_scope_count() -> None:
    body = B2G1 + 'categories = ["beauty"]\n'
    c = cart(line("a", 2, "30.00", category="beauty"), line("b", 5, "1.00", category="home"))
    quote = build(body).price(c, ctx())
    assert quote.explanation("b2g1").reason == Reason.BELOW_THRESHOLD.value
    assert quote.discount_total == 0


def test_bound_is_the_share_of_discounted_units() -> None:
    kind = bxgy.Bxgy()
    assert kind.bound(build(B2G1).ruleset.promotion("b2g1")).rate == Fraction(1, 3)
    assert kind.bound(build(HALF).ruleset.promotion("half")).rate == Fraction(1, 4)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[[promotion]]\nid = "x"\nkind = "bxgy"\nbuy = 0\n', "buy must be at least 1"),
        ('[[promotion]]\nid = "x"\nkind = "bxgy"\nget = 1\n', "PR102"),
        ('[[promotion]]\nid = "x"\nkind = "bxgy"\nbuy = 1\npercent = "0%"\n', "percent"),
        ('[[promotion]]\nid = "x"\nkind = "bxgy"\nbuy = 1\nmax_repeats = 0\n', "max_repeats"),
    ],
)
def test_bad_bxgy_promotions_are_located_errors(body: str, message: str) -> None:
    with pytest.raises(RulesetError) as err:
        build(body)
    assert message in str(err.value)


def test_a_partial_last_group() -> None:
    # buy 2 get 2: 7 units = one group of 4 (2 free) + 3 units (3 - 2 = 1 more free)
    body = '[[promotion]]\nid = "b2g2"\nkind = "bxgy"\nbuy = 2\nget = 2\n'
    basket = cart(line("a", 7, "10.00"))
    assert build(body).price(basket, ctx()).discount_total == yuan("20.00")
    partial = build(body + "partial = true\n")
    for quote in (partial.price(basket, ctx()), partial.explained(basket, ctx())):
        assert quote.discount_total == yuan("30.00")
    two = cart(line("a", 2, "10.00"))  # 2 units: 2 - 2 = 0 free
    assert partial.price(two, ctx()).discount_total == 0


def test_buy_from_one_scope_get_from_another() -> None:
    # buy a phone, get a case free: 2 phones, 3 cases -> 2 cases (the cheapest) free
    body = (
        '[[promotion]]\nid = "case"\nkind = "bxgy"\nbuy = 1\nget = 1\n'
        'skus = ["PHONE", "CASE-A", "CASE-B"]\nget_categories = ["cases"]\n'
    )
    basket = cart(
        line("PHONE", 2, "3000.00", category="phones"),
        line("CASE-A", 2, "80.00", category="cases"),
        line("CASE-B", 1, "50.00", category="cases"),
    )
    rules = build(body)
    for quote in (rules.price(basket, ctx()), rules.explained(basket, ctx())):
        assert [ql.discount for ql in quote.lines] == [0, yuan("80.00"), yuan("50.00")]
    cases_only = cart(line("CASE-A", 3, "80.00", category="cases"))
    assert rules.price(cases_only, ctx()).discount_total == 0
    assert rules.bound(0).rate == 1
