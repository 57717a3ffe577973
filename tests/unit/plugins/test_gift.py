"""The gift kind, and gifts under the guardrail, with figures worked out by hand."""

from __future__ import annotations

from fractions import Fraction

import pytest

from promorules.cart import Context
from promorules.counters import CounterKey, CounterKind, CounterSpec, Snapshot
from promorules.diagnostics import RulesetError
from promorules.engine import Engine
from promorules.kind import Reason
from promorules.messages import Note
from promorules.quote import GuardrailStatus, Status
from promorules_plugins import gift, tiered
from tests.helpers import D11, HEADER, cart, ctx, line, yuan

PLUGINS: list[object] = [tiered, gift]

MUG = """
[[promotion]]
id = "mug"
kind = "gift"
threshold = "299.00"
gifts = [{ sku = "MUG", unit_cost = "12.00", title = "Lumi mug", stock = 100 }]
"""

PICK = """
[[promotion]]
id = "pick"
kind = "gift"
quantity = 3
choose_one_of = [
  { sku = "BAG", unit_cost = "20.00", stock = 5 },
  { sku = "MUG", unit_cost = "12.00", stock = 5 },
]
"""


def build(body: str, header: str = HEADER) -> Engine:
    return Engine.from_string(header + body, plugins=PLUGINS)


def stock(promotion: str, sku: str) -> CounterKey:
    return CounterKey(CounterKind.GIFT_STOCK, promotion, sku)


def test_gift_added_at_price_zero_with_its_cost_above_the_threshold() -> None:
    # 2 x 150.00 = 300.00 >= 299.00: one mug, cost 12.00, price 0
    quote = build(MUG).price(cart(line("a", 2, "150.00", "100.00")), ctx())
    assert quote.payable == yuan("300.00")
    assert quote.discount_total == 0
    gifts = [ql for ql in quote.lines if ql.gift]
    assert [(g.sku, g.quantity, g.payable, g.cost) for g in gifts] == [("MUG", 1, 0, yuan("12.00"))]
    # cost of goods 200.00 plus the mug 12.00
    assert quote.cost_total == yuan("212.00")
    assert quote.margin == Fraction(30000 - 21200, 30000)
    explanation = quote.explanation("mug")
    assert explanation.status is Status.APPLIED
    assert explanation.amount == 0
    assert explanation.message == "adds gift Lumi mug (measured on CN¥300.00)"
    assert quote.consumption == ((stock("mug", "MUG"), 1),)


def test_below_the_threshold_explained_with_an_upsell() -> None:
    # 250.00 < 299.00: 49.00 short, within 30% of 299.00 (89.70)
    quote = build(MUG).price(cart(line("a", 1, "250.00")), ctx())
    explanation = quote.explanation("mug")
    assert explanation.status is Status.NOT_APPLIED
    assert explanation.reason == Reason.BELOW_THRESHOLD.value
    assert explanation.hint is not None
    assert explanation.hint.shortfall == yuan("49.00")
    assert explanation.hint.reward == Note(
        "gifts", {"gifts": (Note("gift-item", {"name": "Lumi mug"}),)}
    )
    assert explanation.upsell() == "spend CN¥49.00 more to get gift Lumi mug"
    assert explanation.upsell("zh-CN") == "再买¥49.00，可享赠Lumi mug"
    assert not [ql for ql in quote.lines if ql.gift]
    assert quote.consumption == ()


def test_far_below_the_threshold_has_no_upsell() -> None:
    # 100.00: 199.00 short, more than 30% of 299.00
    quote = build(MUG).price(cart(line("a", 1, "100.00")), ctx())
    assert quote.explanation("mug").hint is None


def test_threshold_measures_only_lines_in_scope() -> None:
    body = MUG + 'categories = ["beauty"]\n'
    quote = build(body).price(
        cart(line("a", 1, "200.00", category="beauty"), line("b", 1, "200.00", category="home")),
        ctx(),
    )
    assert quote.explanation("mug").reason == Reason.BELOW_THRESHOLD.value


def test_threshold_measures_the_lane_base_after_earlier_lanes() -> None:
    # item lane takes 10.00 off 300.00: the store-lane gift sees 290.00 < 299.00
    body = (
        '[[promotion]]\nid = "cut"\nkind = "tiered"\nlane = "item"\nthreshold = "1.00"\n'
        'off = "10.00"\n' + MUG
    )
    quote = build(body).price(cart(line("a", 1, "300.00")), ctx())
    assert quote.explanation("mug").reason == Reason.BELOW_THRESHOLD.value


def test_quantity_threshold_hints_one_item_short() -> None:
    quote = build(PICK).price(cart(line("a", 2, "10.00")), ctx())
    hint = quote.explanation("pick").hint
    assert hint is not None and hint.by_quantity and hint.shortfall == 1


@pytest.mark.parametrize(
    ("choices", "expected", "remark"),
    [
        ({}, "BAG", None),
        ({"pick": "MUG"}, "MUG", None),
        ({"pick": "BAG"}, "BAG", None),
        ({"pick": "NOPE"}, "BAG", "chosen 'NOPE' is not an option"),
    ],
)
def test_choose_one_of_gives_the_customers_choice_else_the_first(
    choices: dict[str, str], expected: str, remark: str | None
) -> None:
    quote = build(PICK).price(cart(line("a", 3, "10.00")), Context(D11, choices=choices))
    assert [ql.sku for ql in quote.lines if ql.gift] == [expected]
    assert quote.consumption == ((stock("pick", expected), 1),)
    if remark:
        assert remark in quote.explanation("pick").message


def test_choice_out_of_stock_falls_back_to_an_option_in_stock() -> None:
    snapshot = Snapshot({stock("pick", "MUG"): 0})
    context = Context(D11, choices={"pick": "MUG"}, availability=snapshot)
    quote = build(PICK).price(cart(line("a", 3, "10.00")), context)
    assert [ql.sku for ql in quote.lines if ql.gift] == ["BAG"]
    assert "chosen 'MUG' is out of stock" in quote.explanation("pick").message


def test_every_gift_out_of_stock_is_not_applied_with_a_reason() -> None:
    snapshot = Snapshot({stock("mug", "MUG"): 0})
    quote = build(MUG).price(cart(line("a", 2, "150.00")), Context(D11, availability=snapshot))
    explanation = quote.explanation("mug")
    assert explanation.status is Status.NOT_APPLIED
    assert explanation.reason == "sold-out"
    assert "out of stock: MUG" in explanation.message
    assert not [ql for ql in quote.lines if ql.gift]
    assert quote.consumption == ()


def test_a_gift_needing_more_units_than_left_is_not_added() -> None:
    body = MUG.replace('title = "Lumi mug"', 'title = "Lumi mug", quantity = 2')
    snapshot = Snapshot({stock("mug", "MUG"): 1})
    quote = build(body).price(cart(line("a", 2, "150.00")), Context(D11, availability=snapshot))
    assert quote.explanation("mug").reason == "sold-out"


SECOND_MUG = """
[[promotion]]
id = "mug2"
kind = "gift"
lane = "platform"
quantity = 1
gifts = [{ sku = "MUG", unit_cost = "12.00", stock = 10 }]
"""


def test_the_same_gift_is_never_added_twice_unless_both_say_so() -> None:
    quote = build(MUG + SECOND_MUG).price(cart(line("a", 2, "150.00")), ctx())
    assert [ql.sku for ql in quote.lines if ql.gift] == ["MUG"]
    second = quote.explanation("mug2")
    assert second.status is Status.NOT_APPLIED
    assert second.reason == Reason.GIFT_DUPLICATE.value
    assert "MUG (given by mug)" in second.message
    # only the gift actually given takes stock
    assert quote.consumption == ((stock("mug", "MUG"), 1),)
    assert quote.cost_total == yuan("12.00")


def test_one_stackable_side_is_not_enough() -> None:
    body = MUG + "stackable = true\n" + SECOND_MUG
    quote = build(body).price(cart(line("a", 2, "150.00")), ctx())
    assert [ql.sku for ql in quote.lines if ql.gift] == ["MUG"]


def test_both_stackable_give_two_gifts() -> None:
    body = MUG + "stackable = true\n" + SECOND_MUG + "stackable = true\n"
    quote = build(body).price(cart(line("a", 2, "150.00")), ctx())
    assert [ql.sku for ql in quote.lines if ql.gift] == ["MUG", "MUG"]
    assert quote.cost_total == yuan("24.00")
    assert dict(quote.consumption) == {stock("mug", "MUG"): 1, stock("mug2", "MUG"): 1}


def grouped(gift_value: str) -> str:
    """A mug (cost 12.00) and 20.00 off, in one exclusive group, both reached at 299.00."""
    value = f', value = "{gift_value}"' if gift_value else ""
    return f"""
[[promotion]]
id = "mug"
kind = "gift"
group = "welcome"
threshold = "299.00"
gifts = [{{ sku = "MUG", unit_cost = "12.00", quantity = 2{value} }}]

[[promotion]]
id = "cut"
kind = "tiered"
lane = "store"
group = "welcome"
tiers = [{{ threshold = "299.00", off = "20.00" }}]
"""


@pytest.mark.parametrize(
    ("value", "winner", "loser"),
    [
        ("15.00", "mug", "cut"),  # 2 mugs worth 30.00 beat 20.00 off
        ("9.00", "cut", "mug"),  # 2 x 9.00 = 18.00 lose to it
        ("", "mug", "cut"),  # no value: the mugs are worth their cost, 2 x 12.00
    ],
)
def test_a_gift_in_an_exclusive_group_is_weighed_by_its_value(
    value: str, winner: str, loser: str
) -> None:
    engine = build(grouped(value))
    the_cart = cart(line("a", 2, "150.00"))
    for quote in (engine.price(the_cart, ctx()), engine.explained(the_cart, ctx())):
        assert quote.explanation(winner).status is Status.APPLIED
        lost = quote.explanation(loser)
        assert lost.status is Status.NOT_APPLIED
        assert lost.reason == Reason.LOST_TO_GROUP.value
        assert [ql.sku for ql in quote.lines if ql.gift] == (["MUG"] if winner == "mug" else [])
        assert quote.payable == yuan("300.00") - (yuan("20.00") if winner == "cut" else 0)


def test_a_negative_gift_value_is_a_located_error() -> None:
    with pytest.raises(RulesetError) as caught:
        build(grouped("-1.00"))
    assert "PR203" in str(caught.value)
    assert "value must not be negative" in str(caught.value)


def test_counters_and_bound() -> None:
    engine = build(MUG + PICK)
    assert set(engine.counters) == {
        CounterSpec(stock("mug", "MUG"), 100),
        CounterSpec(stock("pick", "BAG"), 5),
        CounterSpec(stock("pick", "MUG"), 5),
    }
    kind = gift.GiftKind()
    mug = kind.bound(engine.ruleset.promotion("mug"))
    assert (mug.rate, mug.extra_cost) == (Fraction(0), yuan("12.00"))
    # choose one of 20.00 or 12.00: at most 20.00
    assert kind.bound(engine.ruleset.promotion("pick")).extra_cost == yuan("20.00")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            '[[promotion]]\nid = "g"\nkind = "gift"\nthreshold = "10"\ngifts = [{ sku = "M" }]\n',
            "PR102",
        ),
        (
            '[[promotion]]\nid = "g"\nkind = "gift"\nthreshold = "10"\nquantity = 2\n'
            'gifts = [{ sku = "M", unit_cost = "1" }]\n',
            "exactly one of threshold",
        ),
        ('[[promotion]]\nid = "g"\nkind = "gift"\nthreshold = "10"\n', "give the gifts"),
        (
            '[[promotion]]\nid = "g"\nkind = "gift"\nquantity = 1\n'
            'gifts = [{ sku = "M", unit_cost = "1" }]\n'
            'choose_one_of = [{ sku = "M", unit_cost = "1" }]\n',
            "listed twice",
        ),
        (
            '[[promotion]]\nid = "g"\nkind = "gift"\nquantity = 1\n'
            'gifts = [{ sku = "M", unit_cost = "1", quantity = 0 }]\n',
            "quantity must be at least 1",
        ),
    ],
)
def test_bad_gift_promotions_are_located_errors(body: str, message: str) -> None:
    with pytest.raises(RulesetError) as err:
        build(body)
    assert message in str(err.value)


# -- gifts under the guardrail -----------------------------------------------------------

FLOOR = '[guardrails]\nmin_order_margin = "10%"\non_breach = "{mode}"\n'
CUT = '[[promotion]]\nid = "cut"\nkind = "tiered"\nthreshold = "100.00"\noff = "{off}"\n'
GIFT = """
[[promotion]]
id = "g"
kind = "gift"
lane = "platform"
quantity = 1
gifts = [{{ sku = "G", unit_cost = "{cost}", stock = 3 }}]
"""


def guarded(mode: str, off: str, cost: str) -> Engine:
    return build(FLOOR.format(mode=mode) + CUT.format(off=off) + GIFT.format(cost=cost))


def test_clamp_drops_a_gift_whose_cost_no_take_back_can_hold() -> None:
    # line 100.00 cost 85.00; 5.00 off; gift cost 10.00.
    # Even with the 5.00 taken back: revenue 100.00, cost 95.00 -> 5% < 10%: drop the gift.
    # Then cost 85.00 needs revenue >= 85 / 0.9 = 94.45 (rounded up); 95.00 holds: keep 5.00 off.
    quote = guarded("clamp", "5.00", "10.00").price(cart(line("a", 1, "100.00", "85.00")), ctx())
    assert quote.guardrail.status is GuardrailStatus.CLAMPED
    assert quote.payable == yuan("95.00")
    assert not [ql for ql in quote.lines if ql.gift]
    assert quote.cost_total == yuan("85.00")
    assert quote.consumption == ()
    explanation = quote.explanation("g")
    assert explanation.status is Status.NOT_APPLIED
    assert explanation.reason == Reason.GUARDRAIL_CLAMPED.value
    assert "gift G dropped" in explanation.message
    assert quote.explanation("cut").status is Status.APPLIED


def test_clamp_keeps_the_gift_when_taking_discounts_back_is_enough() -> None:
    # line 100.00 cost 80.00; 10.00 off; gift 5.00 -> cost 85.00 needs revenue >= 94.45:
    # take 4.45 back from the discount, keep the gift.
    quote = guarded("clamp", "10.00", "5.00").price(cart(line("a", 1, "100.00", "80.00")), ctx())
    assert quote.guardrail.status is GuardrailStatus.CLAMPED
    assert quote.payable == yuan("94.45")
    assert quote.guardrail.trims == {"cut": yuan("4.45")}
    assert [ql.sku for ql in quote.lines if ql.gift] == ["G"]


def test_clamp_keeps_gifts_when_the_goods_alone_break_the_floor() -> None:
    # cost 95.00 on 100.00 breaks 10% with or without the gift: nothing to gain by dropping
    quote = guarded("clamp", "5.00", "1.00").price(cart(line("a", 1, "100.00", "95.00")), ctx())
    assert quote.guardrail.status is GuardrailStatus.BREACHED
    assert [ql.sku for ql in quote.lines if ql.gift] == ["G"]


def test_clamp_drops_the_lowest_priority_gift_first() -> None:
    # two gifts of 10.00 on 100.00 cost 75.00: without discounts cost 95.00 breaks 10%;
    # dropping one (cost 85.00, needs 94.45) is enough: the lower priority one goes.
    body = (
        FLOOR.format(mode="clamp")
        + GIFT.format(cost="10.00")
        + "priority = 2\n"
        + GIFT.format(cost="10.00").replace('id = "g"', 'id = "h"').replace('"G"', '"H"')
    )
    quote = build(body).price(cart(line("a", 1, "100.00", "75.00")), ctx())
    assert [ql.sku for ql in quote.lines if ql.gift] == ["G"]
    assert quote.explanation("h").reason == Reason.GUARDRAIL_CLAMPED.value
    assert quote.guardrail.status is GuardrailStatus.CLAMPED


def test_reject_drops_the_gift_promotion_when_no_discount_is_left_to_blame() -> None:
    # as in the first clamp case: rejecting the 5.00 off leaves 100.00 against 95.00;
    # the gift is then the culprit; without it 100.00 against 85.00 holds.
    quote = guarded("reject", "5.00", "10.00").price(cart(line("a", 1, "100.00", "85.00")), ctx())
    assert quote.guardrail.status is GuardrailStatus.REJECTED
    assert quote.guardrail.rejected == ("cut", "g")
    assert quote.payable == yuan("100.00")
    assert not [ql for ql in quote.lines if ql.gift]
