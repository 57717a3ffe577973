"""Exclusive groups: the winner is what the lane really gives, ties by priority."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import cast

import pytest

from promorules import stacking
from promorules.money import allocate
from promorules.plan import Compiled
from promorules.quote import Status
from promorules.stacking import Discounts, Pooled, resolve
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


def _member(index: int) -> Compiled:
    """What resolve reads of a group member's promotion."""
    fields = {"group": "g", "not_with": frozenset(), "priority": 0, "index": index}
    return cast(Compiled, SimpleNamespace(**fields))


def test_a_pooled_member_is_split_only_if_it_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    splits: list[int] = []

    def counted(total: int, weights: Sequence[int]) -> list[int]:
        splits.append(total)
        return allocate(total, weights)

    monkeypatch.setattr(stacking, "allocate", counted)
    # one figure each for lines 0 and 1 (lane-start 300.00 and 100.00): 0.41 beats 0.40
    small, big = Pooled([0, 1], 40, [300, 100]), Pooled([0, 1], 41, [300, 100])
    kept = resolve([(_member(0), small), (_member(1), big)], None, [300, 100], 0)
    assert [offer for _, offer in kept] == [big]
    assert big.amounts == [31, 10]  # largest remainder: 30.75 and 10.25
    assert splits == [41]  # the loser was never split


def test_a_pooled_member_on_a_claimed_line_is_worth_what_is_left() -> None:
    # an earlier offer takes line 1 whole: "split" asks 0.60 over both lines (0.45 on
    # line 0, 0.15 on line 1, which has nothing left), "single" 0.50 on line 0 alone
    first = (
        cast(Compiled, SimpleNamespace(group=None, not_with=frozenset(), priority=1, index=0)),
        Discounts([1], [100]),
    )
    split, single = Pooled([0, 1], 60, [300, 100]), Pooled([0], 50, [300])
    kept = resolve([first, (_member(1), split), (_member(2), single)], None, [300, 100], 0)
    assert [offer for _, offer in kept] == [first[1], single]


def test_a_not_with_pair_is_worth_what_each_really_gives_capped_at_its_line() -> None:
    # in one lane "big" asks 1.00 of line 0, which has 0.60 left; "small" asks 0.70 of
    # line 1, which has it all: the pair clashes, and the lane keeps "small" (0.70 given
    # beats the 0.60 "big" can really give), not the larger ask
    def clashing(index: int, other: int) -> Compiled:
        fields = {"group": None, "not_with": frozenset({other}), "priority": 0, "index": index}
        return cast(Compiled, SimpleNamespace(**fields))

    big, small = Discounts([0], [100]), Discounts([1], [70])
    kept = resolve([(clashing(0, 1), big), (clashing(1, 0), small)], None, [60, 70], 0)
    assert [offer for _, offer in kept] == [small]
    # with room for the whole ask, the larger one wins
    kept = resolve([(clashing(0, 1), big), (clashing(1, 0), small)], None, [100, 70], 0)
    assert [offer for _, offer in kept] == [big]
