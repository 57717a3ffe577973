"""The bundle kind, with figures worked out by hand."""

from __future__ import annotations

import pytest

from promorules.diagnostics import RulesetError
from promorules.engine import Engine
from promorules.kind import Reason
from promorules.messages import Amount, Note
from promorules.quote import Quote
from promorules_plugins import bundle
from tests.helpers import HEADER, cart, ctx, line, yuan

THREE_FOR_99 = '[[promotion]]\nid = "b"\nkind = "bundle"\nquantity = 3\nprice = "99.00"\n'


def build(body: str) -> Engine:
    return Engine.from_string(HEADER + body, plugins=[bundle])


def offs(quote: Quote) -> list[int]:
    return [ql.discount for ql in quote.lines]


def test_three_for_99_saves_the_difference_spread_by_amount() -> None:
    # 40 + 40 + 40 = 120.00 -> 21.00 off, 7.00 each
    c = cart(line("a", 1, "40.00"), line("b", 1, "40.00"), line("c", 1, "40.00"))
    quote = build(THREE_FOR_99).price(c, ctx())
    assert offs(quote) == [yuan("7.00")] * 3
    assert quote.payable == yuan("99.00")


def test_dearest_units_are_bundled_first() -> None:
    # units 50, 50, 30, 30, 10: bundle 50 + 50 + 30 = 130.00 -> 31.00 off; 30 and 10 pay.
    # 3100 over a 10000 / b 3000: 2384.6 -> 2384, 715.4 -> 715, the unit left to a -> 2385
    c = cart(line("a", 2, "50.00"), line("b", 2, "30.00"), line("c", 1, "10.00"))
    quote = build(THREE_FOR_99).price(c, ctx())
    assert offs(quote) == [2385, 715, 0]
    explanation = quote.explanation("b")
    assert explanation.amount == yuan("31.00")
    # 2 units left over: one more makes another bundle
    assert explanation.hint is not None and explanation.hint.shortfall == 1


def test_a_bundle_across_three_lines_allocates_exactly() -> None:
    # 60 + 50 + 20 = 130.00 -> 31.00: 1430.77, 1192.31, 476.92 -> 1430, 1192, 476 (3098);
    # the two units left go to the largest remainders (c .92, a .77)
    c = cart(line("a", 1, "60.00"), line("b", 1, "50.00"), line("c", 3, "20.00"))
    assert offs(build(THREE_FOR_99).price(c, ctx())) == [1431, 1192, 477]


def test_bundles_repeat_and_stop_at_max_repeats() -> None:
    # 7 x 50.00: two bundles of 150.00 -> 2 x 51.00; the 7th unit pays 50.00
    c = cart(line("a", 7, "50.00"))
    assert offs(build(THREE_FOR_99).price(c, ctx())) == [yuan("102.00")]
    assert offs(build(THREE_FOR_99 + "max_repeats = 1\n").price(c, ctx())) == [yuan("51.00")]


def test_bundles_stop_when_they_no_longer_save() -> None:
    # 50 x 3 = 150 saves 51.00; 30 x 3 = 90 < 99 saves nothing
    c = cart(line("a", 3, "50.00"), line("b", 3, "30.00"))
    assert offs(build(THREE_FOR_99).price(c, ctx())) == [yuan("51.00"), 0]


def test_units_already_cheaper_than_the_bundle_are_not_applied() -> None:
    quote = build(THREE_FOR_99).price(cart(line("a", 3, "30.00")), ctx())
    explanation = quote.explanation("b")
    assert explanation.reason == "no-saving"
    assert quote.discount_total == 0


def test_too_few_units_hints() -> None:
    quote = build(THREE_FOR_99).price(cart(line("a", 2, "50.00")), ctx())
    explanation = quote.explanation("b")
    assert explanation.reason == Reason.BELOW_THRESHOLD.value
    assert explanation.hint is not None
    reward = Note("bundle", {"size": 3, "price": Amount(9900)})
    assert (explanation.hint.shortfall, explanation.hint.reward) == (1, reward)
    assert explanation.upsell("zh-CN") == "再买1件，可享3件¥99.00"


def test_bound_states_its_dependence_on_prices() -> None:
    bound = bundle.Bundle().bound(build(THREE_FOR_99).ruleset.promotion("b"))
    assert bound.rate == 1
    assert "3 x the dearest unit" in bound.note


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[[promotion]]\nid = "x"\nkind = "bundle"\nquantity = 1\nprice = "9"\n', "at least 2"),
        ('[[promotion]]\nid = "x"\nkind = "bundle"\nquantity = 2\n', "PR102"),
        ('[[promotion]]\nid = "x"\nkind = "bundle"\nquantity = 2\nprice = 9.5\n', "PR104"),
    ],
)
def test_bad_bundle_promotions_are_located_errors(body: str, message: str) -> None:
    with pytest.raises(RulesetError) as err:
        build(body)
    assert message in str(err.value)
