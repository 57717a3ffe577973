"""A rule whose condition counts units says so when a cart lacks them: the reason names
the units, and the upsell is "add 1 more item" (the hint's one-item-short rule)."""

from __future__ import annotations

from promorules.quote import Status
from tests.helpers import ALL_KINDS, cart, ctx, engine, line

GIFT = (
    '[[promotion]]\nid = "g"\nkind = "gift"\nquantity = 3\n'
    'gifts = [{sku = "G1", unit_cost = "5.00"}]\n'
)
DISCOUNT = (
    '[[promotion]]\nid = "d"\nkind = "discount"\npercent = "10%"\nmin_quantity = 4\n'
    'threshold = "50.00"\n'
)


def test_a_gift_for_three_items_hints_at_the_third() -> None:
    rules = engine(GIFT, plugins=ALL_KINDS)
    why = rules.explained(cart(line("a", 2, "30.00")), ctx()).explanation("g")
    assert (why.status, why.reason) == (Status.NOT_APPLIED, "below-threshold")
    assert "3 items" in why.message
    assert why.hint is not None
    assert (why.hint.shortfall, why.hint.by_quantity) == (1, True)
    assert why.hint.reward.code == "gifts" and "G1" in (why.upsell() or "")
    reached = rules.explained(cart(line("a", 3, "30.00")), ctx()).explanation("g")
    assert reached.status is Status.APPLIED


def test_a_discount_short_of_units_hints_in_units_not_money() -> None:
    rules = engine(DISCOUNT, plugins=ALL_KINDS)
    # 3 units of 40.00: the amount is reached, a unit is missing
    why = rules.explained(cart(line("a", 3, "40.00")), ctx()).explanation("d")
    assert why.reason == "below-threshold" and "4 items" in why.message
    assert why.hint is not None and (why.hint.shortfall, why.hint.by_quantity) == (1, True)
    # 4 units of 10.00: the units are there, 10.00 of the amount is missing
    short = rules.explained(cart(line("a", 4, "10.00")), ctx()).explanation("d")
    assert short.reason == "below-threshold" and "50.00" in short.message
    assert short.hint is not None and short.hint.by_quantity is False
