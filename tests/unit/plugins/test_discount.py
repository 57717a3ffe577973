"""The discount kind (direct cuts), with figures worked out by hand."""

from __future__ import annotations

import pytest

from promorules.cart import Line
from promorules.diagnostics import RulesetError
from promorules.engine import Engine
from promorules.quote import Quote
from promorules_plugins import discount, tiered
from tests.helpers import cart, ctx, engine, line, yuan

PLUGINS: list[object] = [tiered, discount]


def test_percent_off_each_line_rounds_each_line_down() -> None:
    body = '[[promotion]]\nid = "d"\nkind = "discount"\ncategories = ["beauty"]\npercent = "15%"\n'
    quote = engine(body, plugins=PLUGINS).price(
        cart(
            line("a", 1, "33.33", category="beauty"),  # 4.9995 -> 4.99
            line("b", 3, "10.01", category="beauty"),  # 15% of 30.03 = 4.5045 -> 4.50
            line("c", 1, "100.00", category="home"),
        ),
        ctx(),
    )
    assert [ql.discount for ql in quote.lines] == [499, 450, 0]
    # per line, not pooled: 15% of 63.36 would be 9.50, not 9.49
    assert quote.discount_total == yuan("9.49")


def test_amount_off_each_unit_never_exceeds_the_line() -> None:
    body = '[[promotion]]\nid = "d"\nkind = "discount"\noff_each = "20.00"\n'
    quote = engine(body, plugins=PLUGINS).price(
        cart(line("a", 2, "50.00"), line("b", 1, "15.00")), ctx()
    )
    assert [ql.discount for ql in quote.lines] == [yuan("40.00"), yuan("15.00")]


def test_item_lane_cut_comes_before_store_thresholds() -> None:
    body = (
        '[[promotion]]\nid = "d"\nkind = "discount"\npercent = "10%"\n'
        '[[promotion]]\nid = "s"\nkind = "tiered"\nlane = "store"\n'
        'threshold = "300.00"\noff = "30.00"\n'
    )
    # 320 -> 288 after the 10% cut: below the store's 300 threshold
    quote = engine(body, plugins=PLUGINS).price(cart(line("a", 1, "320.00")), ctx())
    assert quote.discount_total == yuan("32.00")
    assert quote.explanation("s").hint is not None


@pytest.mark.parametrize(
    "fields", ['percent = "10%"\noff_each = "1.00"', "", 'percent = "0%"', 'off_each = "0"']
)
def test_exactly_one_positive_reward(fields: str) -> None:
    with pytest.raises(RulesetError):
        engine(f'[[promotion]]\nid = "d"\nkind = "discount"\n{fields}\n', plugins=PLUGINS)


# -- the model's conditions, pools, limits and allocation, from TOML ----------------


def cut(config: str) -> Engine:
    return engine('[[promotion]]\nid = "d"\nkind = "discount"\n' + config, plugins=PLUGINS)


def both(rules: Engine, *lines: Line) -> list[Quote]:
    basket = cart(*lines)
    return [rules.price(basket, ctx()), rules.explained(basket, ctx())]


def test_a_line_of_three_units_gets_its_own_percent() -> None:
    # scope "line": each line reaches min_quantity on its own ("3 of one item, 10% off")
    rules = cut('percent = "10%"\nscope = "line"\nmin_quantity = 3\n')
    for quote in both(rules, line("a", 3, "20.00"), line("b", 2, "50.00")):
        assert [ql.discount for ql in quote.lines] == [yuan("6.00"), 0]


def test_amount_and_quantity_together_and_a_maximum() -> None:
    rules = cut('off_line = "5.00"\nthreshold = "100.00"\nmin_quantity = 2\nmax_amount = "300"\n')
    for quote in both(rules, line("a", 1, "150.00")):  # one unit: below min_quantity
        assert quote.discount_total == 0
    for quote in both(rules, line("a", 1, "60.00"), line("b", 1, "60.00")):  # 120, 2 units
        assert [ql.discount for ql in quote.lines] == [yuan("5.00"), yuan("5.00")]
    for quote in both(rules, line("a", 2, "160.00")):  # 320: above its maximum
        assert quote.discount_total == 0
    why = both(rules, line("a", 2, "160.00"))[1].explanation("d")
    assert why.reason == "above-maximum"


def test_a_cap_per_store_and_units_per_line() -> None:
    # 8.00 off each unit, at most 2 units a line, at most 20.00 per store
    rules = cut('off_each = "8.00"\nmax_units = 2\nscope = "store"\ncap = "20.00"\n')
    quote, explained = both(
        rules,
        line("a", 5, "30.00", merchant="m1"),  # 2 units: 16.00
        line("b", 1, "30.00", merchant="m1"),  # 8.00; store m1 asks 24.00, capped at 20.00
        line("c", 3, "30.00", merchant="m2"),  # 2 units: 16.00
    )
    # 20.00 split over 16:8 by largest remainder: 13.33 + 6.67 (the leftover unit to b)
    assert [ql.discount for ql in quote.lines] == [1333, 667, yuan("16.00")]
    assert [ql.discount for ql in explained.lines] == [1333, 667, yuan("16.00")]


def test_a_percent_rounded_once_per_pool_and_its_leftover_to_the_last_line() -> None:
    lines = (line("a", 1, "33.33"), line("b", 1, "33.33"), line("c", 1, "33.34"))
    # per line, 15% rounds down on each: 4.99 + 4.99 + 5.00 = 14.98
    for quote in both(cut('percent = "15%"\n'), *lines):
        assert [ql.discount for ql in quote.lines] == [499, 499, 500]
    # once on the pool: 15% of 100.00 = 15.00, split 4.9995/4.9995/5.001 -> 4.99/4.99/5.00
    # and 2 leftover units: to the largest remainders, or both to the last line
    for quote in both(cut('percent = "15%"\nround = "pool"\n'), *lines):
        assert [ql.discount for ql in quote.lines] == [500, 500, 500]
    for quote in both(cut('percent = "15%"\nround = "pool"\nleftover = "last-line"\n'), *lines):
        assert [ql.discount for ql in quote.lines] == [499, 499, 502]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('percent = "10%"\noff_line = "1"\n', "exactly one of percent, off_each or off_line"),
        ('off_line = "1"\nmax_units = 2\n', "max_units limits off_each"),
        ('off_each = "1"\nround = "pool"\n', "rounds a percent"),
        ('off_each = "1"\nthreshold = "50"\nmax_amount = "40"\n', "never applies"),
        ('off_each = "1"\nscope = "shop"\n', "scope"),
    ],
)
def test_model_keys_are_checked(config: str, message: str) -> None:
    with pytest.raises(RulesetError) as info:
        cut(config)
    assert message in str(info.value)


def test_the_cheapest_and_the_dearest_units() -> None:
    lines = (line("a", 3, "10.00"), line("b", 1, "40.00"))
    # the 2 cheapest units (both of a) at half price: 10.00 off a
    for quote in both(cut('percent = "50%"\ncheapest = 2\n'), *lines):
        assert [ql.discount for ql in quote.lines] == [yuan("10.00"), 0]
    # the 2 dearest (b's, then one of a) at half price: 5.00 off a, 20.00 off b
    for quote in both(cut('percent = "50%"\ncheapest = 2\ndearest = true\n'), *lines):
        assert [ql.discount for ql in quote.lines] == [yuan("5.00"), yuan("20.00")]
    # 15.00 off each of the 2 cheapest, never more than a unit: 10.00 + 10.00 off a
    for quote in both(cut('off_each = "15.00"\ncheapest = 2\n'), *lines):
        assert [ql.discount for ql in quote.lines] == [yuan("20.00"), 0]
