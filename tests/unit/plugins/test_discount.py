"""The discount kind (direct cuts), with figures worked out by hand."""

from __future__ import annotations

import pytest

from promorules.diagnostics import RulesetError
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
