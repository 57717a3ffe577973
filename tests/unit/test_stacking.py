"""Exclusive groups: the winner is what the lane really gives, ties by priority."""

from __future__ import annotations

from promorules.quote import Status
from tests.helpers import ALL_KINDS, cart, ctx, engine, line, yuan


def promo(pid: str, sku: str, body: str, extra: str = "") -> str:
    return (
        f'\n[[promotion]]\nid = "{pid}"\nkind = "discount"\nlane = "item"\n'
        f'skus = ["{sku}"]\n{body}\n{extra}'
    )


def test_a_group_keeps_the_member_that_still_gives_after_earlier_claims() -> None:
    # "whole" (priority 10, outside the group) takes line A whole; of the group, "on-a"
    # asks 10.00 of A (which has nothing left for it) and "on-b" 5.00 of B
    rules = engine(
        promo("whole", "A", 'percent = "100%"', "priority = 10")
        + promo("on-a", "A", 'off_each = "10"', 'group = "g"')
        + promo("on-b", "B", 'off_each = "5"', 'group = "g"'),
        plugins=ALL_KINDS,
    )
    basket = cart(line("A", 1, "50"), line("B", 1, "50"))
    for quote in (rules.price(basket, ctx()), rules.explained(basket, ctx())):
        assert quote.discounts_by_promotion == {"whole": yuan("50"), "on-b": yuan("5")}
        assert quote.payable == yuan("45")
    explained = rules.explained(basket, ctx())
    assert explained.explanation("on-a").status is Status.NOT_APPLIED
    assert "on-b" in explained.explanation("on-a").message


def test_a_tie_in_a_group_goes_to_the_higher_priority_then_the_earlier() -> None:
    basket = cart(line("A", 1, "50"), line("B", 1, "50"))
    later_but_higher = engine(
        promo("first", "A", 'off_each = "5"', 'group = "g"')
        + promo("second", "B", 'off_each = "5"', 'group = "g"\npriority = 1'),
        plugins=ALL_KINDS,
    )
    for quote in (later_but_higher.price(basket, ctx()), later_but_higher.explained(basket, ctx())):
        assert quote.discounts_by_promotion == {"second": yuan("5")}
    same_priority = engine(
        promo("first", "A", 'off_each = "5"', 'group = "g"')
        + promo("second", "B", 'off_each = "5"', 'group = "g"'),
        plugins=ALL_KINDS,
    )
    for quote in (same_priority.price(basket, ctx()), same_priority.explained(basket, ctx())):
        assert quote.discounts_by_promotion == {"first": yuan("5")}
