"""Returns: a returned unit gives back its share of what was paid, under a policy."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from promorules.cart import Cart, Customer, Line
from promorules.counters import CounterKey, CounterKind, Snapshot
from promorules.diagnostics import PromorulesError
from promorules.refund import ClawBack, ReturnPolicy, Shipping, refund, unit_shares
from tests.helpers import ALL_KINDS, cart, ctx, engine, line, yuan

SPEND_500 = (
    '[[promotion]]\nid = "spend-500"\nkind = "tiered"\nlane = "store"\n'
    'tiers = [{ threshold = "500.00", off = "50.00" }]\n'
)
GIFT = (
    '[[promotion]]\nid = "gift"\nkind = "gift"\nthreshold = "450.00"\n'
    'gifts = [{ sku = "TOTE", unit_cost = "8.00", value = "30.00" }]\n'
)
CLAW_BACK = ReturnPolicy(remaining=ClawBack.CLAW_BACK)


def test_the_400_plus_100_example() -> None:
    # 400.00 + 100.00 under "spend 500 get 50 off": the lines carry 40.00 and 10.00 of it
    rules = engine(SPEND_500, plugins=ALL_KINDS)
    basket = cart(line("A", 1, "400.00"), line("B", 1, "100.00"))
    quote = rules.price(basket, ctx())
    assert [q.payable for q in quote.lines] == [yuan("360.00"), yuan("90.00")]
    kept = refund(rules, basket, ctx(), quote, {1: 1})
    assert (kept.goods, kept.total) == (yuan("90.00"), yuan("90.00"))
    # claw-back: the 400.00 left no longer reaches 500.00 and costs 400.00; 360.00 of
    # it is paid, so 40.00 comes off the refund
    clawed = refund(rules, basket, ctx(), quote, {1: 1}, CLAW_BACK)
    assert (clawed.clawed_back, clawed.total) == (yuan("40.00"), yuan("50.00"))
    assert clawed.remaining is not None and clawed.remaining.payable == yuan("400.00")


def test_a_gift_the_rest_no_longer_earns_is_charged_unless_brought_back() -> None:
    rules = engine(GIFT, plugins=ALL_KINDS)
    basket = cart(line("A", 1, "400.00"), line("B", 1, "100.00"))
    quote = rules.price(basket, ctx())
    assert [g.sku for _, g in quote.gifts] == ["TOTE"]
    charged = refund(rules, basket, ctx(), quote, {1: 1}, CLAW_BACK)
    assert (charged.gifts_charged, charged.total) == (yuan("30.00"), yuan("70.00"))
    back = refund(rules, basket, ctx(), quote, {1: 1}, CLAW_BACK, gifts_back={"TOTE": 1})
    assert (back.gifts_charged, back.total) == (0, yuan("100.00"))
    assert refund(rules, basket, ctx(), quote, {1: 1}).gifts_charged == 0  # keep


def test_units_of_a_line_share_its_payable_exactly() -> None:
    assert unit_shares(1000, 3) == [333, 333, 334]
    rules = engine(SPEND_500, plugins=ALL_KINDS)
    basket = cart(line("A", 3, "200.00"))  # 600.00 - 50.00 = 550.00 over 3 units
    quote = rules.price(basket, ctx())
    one = refund(rules, basket, ctx(), quote, {0: 1})
    assert one.goods == yuan("183.33")
    assert refund(rules, basket, ctx(), quote, {0: 3}).goods == yuan("550.00")


def test_shipping_follows_the_policy() -> None:
    rules = engine(SPEND_500, plugins=ALL_KINDS)
    basket = cart(line("A", 1, "400.00"), line("B", 1, "100.00"), shipping="10.00")
    quote = rules.price(basket, ctx())
    everything = refund(rules, basket, ctx(), quote, {0: 1, 1: 1})
    assert everything.shipping == yuan("10.00") and everything.total == quote.payable
    assert refund(rules, basket, ctx(), quote, {1: 1}).shipping == 0
    always = ReturnPolicy(shipping=Shipping.ALWAYS)
    assert refund(rules, basket, ctx(), quote, {1: 1}, always).shipping == yuan("10.00")
    never = ReturnPolicy(shipping=Shipping.NEVER)
    assert refund(rules, basket, ctx(), quote, {0: 1, 1: 1}, never).shipping == 0


def test_bad_returns_are_refused() -> None:
    rules = engine(SPEND_500, plugins=ALL_KINDS)
    basket = cart(line("A", 2, "400.00"))
    quote = rules.price(basket, ctx())
    for returns in ({1: 1}, {0: 3}, {0: 0}, {-1: 1}):
        with pytest.raises(PromorulesError):
            refund(rules, basket, ctx(), quote, returns)


RULES = engine(
    SPEND_500
    + GIFT
    + '[[promotion]]\nid = "ten"\nkind = "discount"\npercent = "10%"\nlane = "item"\n'
    + '[[promotion]]\nid = "ship"\nkind = "free_shipping"\nthreshold = "300.00"\n',
    plugins=ALL_KINDS,
)


@st.composite
def orders(draw: st.DrawFn) -> tuple[Cart, dict[int, int]]:
    count = draw(st.integers(1, 4))
    lines = [
        Line(f"S{k}", draw(st.integers(1, 3)), draw(st.integers(1, 40_000)), 0)
        for k in range(count)
    ]
    basket = Cart(lines, Customer("c"), "CNY", draw(st.sampled_from([0, 1_000])))
    returns = {
        k: draw(st.integers(1, ln.quantity)) for k, ln in enumerate(lines) if draw(st.booleans())
    }
    return basket, returns or {0: 1}


@given(orders(), st.sampled_from(list(ClawBack)), st.sampled_from(list(Shipping)))
def test_refunds_never_exceed_what_was_paid(
    order: tuple[Cart, dict[int, int]], remaining: ClawBack, shipping: Shipping
) -> None:
    basket, returns = order
    context = ctx()
    quote = RULES.price(basket, context)
    policy = ReturnPolicy(remaining, shipping)
    found = refund(RULES, basket, context, quote, returns, policy)
    assert 0 <= found.total <= quote.payable
    assert found.goods <= quote.goods_payable
    kept = refund(RULES, basket, context, quote, returns, ReturnPolicy(shipping=shipping))
    assert found.total <= kept.total  # claw-back never gives more than keeping
    everything = {k: ln.quantity for k, ln in enumerate(basket.lines)}
    full = refund(RULES, basket, context, quote, everything, ReturnPolicy(remaining))
    assert full.total == quote.payable  # a full return refunds exactly what was paid


# -- what a return gives back to the ledger (Refund.consumption) -----------------------

BUDGETED = engine(
    SPEND_500.replace('lane = "store"\n', 'lane = "store"\nbudget = "1000.00"\n')
    + '[[promotion]]\nid = "c20"\nkind = "coupon"\ncode = "C20"\noff = "20.00"\n'
    + 'lane = "platform"\nuses = 3\nbudget = "500.00"\n',
    plugins=ALL_KINDS,
)
SPEND = CounterKey(CounterKind.BUDGET, "spend-500")
C20 = CounterKey(CounterKind.BUDGET, "c20")
C20_USES = CounterKey(CounterKind.COUPON_USES, "c20")


def test_under_keep_a_budget_gets_back_the_returned_units_share_the_smallest_first() -> None:
    basket = cart(line("A", 3, "200.00"))  # 50.00 off 600.00: 16.66, 16.67, 16.67 a unit
    context = ctx(coupons=("C20",))
    quote = BUDGETED.price(basket, context)
    assert dict(quote.consumption) == {SPEND: 5_000, C20: 2_000, C20_USES: 1}
    one = dict(refund(BUDGETED, basket, context, quote, {0: 1}).consumption)
    # the coupon use stays taken: the remaining order keeps its discount
    assert one == {SPEND: 1_666, C20: 666}
    two = dict(refund(BUDGETED, basket, context, quote, {0: 2}).consumption)
    assert two == {SPEND: 3_333, C20: 1_333}
    every = refund(BUDGETED, basket, context, quote, {0: 3})
    assert every.consumption == quote.consumption


def test_under_claw_back_the_ledger_is_as_if_the_units_had_not_been_sold() -> None:
    basket = cart(line("A", 1, "400.00"), line("B", 1, "100.00"))
    context = ctx(coupons=("C20",))
    quote = BUDGETED.price(basket, context)
    back = refund(BUDGETED, basket, context, quote, {1: 1}, CLAW_BACK)
    # the 400.00 left no longer reaches 500.00 but still takes the coupon
    assert back.consumption == ((SPEND, 5_000),)
    assert back.remaining is not None
    assert dict(back.remaining.consumption) == {C20: 2_000, C20_USES: 1}


def test_the_remaining_order_is_priced_against_what_the_order_took() -> None:
    # priced when the better platform coupon had no use left, the order took the other;
    # priced again for the give-back (here with nothing limited), the remaining order
    # may not switch to the better one: it still holds the use it took
    rules = engine(
        '[[promotion]]\nid = "c20"\nkind = "coupon"\ncode = "C20"\noff = "20.00"\n'
        'lane = "platform"\nuses = 1\n'
        '[[promotion]]\nid = "c10"\nkind = "coupon"\ncode = "C10"\noff = "10.00"\n'
        'lane = "platform"\nuses = 5\n',
        plugins=ALL_KINDS,
    )
    c10 = CounterKey(CounterKind.COUPON_USES, "c10")
    c20 = CounterKey(CounterKind.COUPON_USES, "c20")
    basket = cart(line("A", 2, "100.00"))
    context = ctx(coupons=("C20", "C10"))
    quote = rules.price(basket, attrs.evolve(context, availability=Snapshot({c20: 0, c10: 5})))
    assert quote.consumption == ((c10, 1),)
    assert refund(rules, basket, context, quote, {0: 1}, CLAW_BACK).consumption == ()


def test_the_ruleset_declares_the_policy_and_a_call_may_override_it() -> None:
    declared = engine(
        SPEND_500 + '[returns]\nremaining = "claw-back"\nshipping = "always"\n',
        plugins=ALL_KINDS,
    )
    assert declared.ruleset.returns == ReturnPolicy(ClawBack.CLAW_BACK, Shipping.ALWAYS)
    basket = cart(line("A", 1, "400.00"), line("B", 1, "100.00"), shipping="10.00")
    quote = declared.price(basket, ctx())
    # the declared claw-back (40.00 off) and shipping with any return (10.00 back)
    found = refund(declared, basket, ctx(), quote, {1: 1})
    assert (found.clawed_back, found.shipping, found.total) == (
        yuan("40.00"),
        yuan("10.00"),
        yuan("60.00"),
    )
    assert refund(declared, basket, ctx(), quote, {1: 1}, ReturnPolicy()).total == yuan("90.00")
    # without a [returns] table: keep, shipping only on a full return
    assert engine(SPEND_500, plugins=ALL_KINDS).ruleset.returns == ReturnPolicy()


def test_a_bad_returns_table_is_a_located_error() -> None:
    from promorules.diagnostics import RulesetError

    with pytest.raises(RulesetError) as found:
        engine(SPEND_500 + '[returns]\nremaining = "clawback"\nrefund_days = 7\n')
    text = "\n".join(str(d) for d in found.value.diagnostics)
    assert "returns.remaining: expected one of 'keep', 'claw-back'" in text
    assert "returns" in text and "refund_days" in text


def test_engine_refund_works_a_return_out_from_the_quote_alone() -> None:
    rules = engine(SPEND_500, plugins=ALL_KINDS)
    basket = cart(line("A", 1, "400.00"), line("B", 1, "100.00"))
    quote = rules.price(basket, ctx())
    assert quote.cart is basket and quote.context == ctx()
    assert rules.refund(quote, {1: 1}).total == yuan("90.00")
    assert rules.refund(quote, {1: 1}, CLAW_BACK).total == yuan("50.00")
    assert rules.explained(basket, ctx()).cart is basket
