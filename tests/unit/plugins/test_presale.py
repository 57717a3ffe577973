"""presale: deposit inflation, payment schedules and checks, with hand-computed figures."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from fractions import Fraction

import attrs
import pytest

from promorules import hookimpl
from promorules.cart import Cart, Context, Customer, Line
from promorules.diagnostics import RulesetError
from promorules.engine import Engine
from promorules.kind import CompileEnv, Evaluator, Kind, Lane, Offer, PricingState
from promorules.quote import PaymentStatus, Quote, Status
from promorules.ruleset import Funder, Promotion
from promorules_plugins.presale import Presale
from tests.unit.plugins.pricelane import (
    BEFORE,
    DEPOSIT_TIME,
    HEADER,
    PLUGINS,
    SALE_TIME,
    engine,
    line,
    price,
)

PRESALE = """
[[promotion]]
id = "ps"
kind = "presale"
skus = ["X5"]
deposit = "100.00"
worth = "150.00"
deposit_phase = "presale"
final_phase = "explosion"
"""


def test_final_window_1000_deposit_100_worth_150() -> None:
    quote = price(engine(PRESALE), [line("X5", 1, "1000.00", deposit_paid=10000)])
    assert quote.discount_total == 5000  # bonus 150 - 100
    assert quote.payable == 95000  # order total
    assert [(p.label, p.amount, p.status) for p in quote.payments] == [
        ("deposit paid", 10000, PaymentStatus.PAID),
        ("balance", 85000, PaymentStatus.DUE_NOW),
    ]
    assert quote.due_now == 85000
    assert sum(p.amount for p in quote.payments) == 95000  # total paid 100 + 850
    explanation = quote.explanation("ps")
    assert explanation.status is Status.APPLIED
    assert (explanation.amount, explanation.base) == (5000, 100000)
    assert "deposit paid" in explanation.message


def test_deposit_window_returns_a_schedule() -> None:
    quote = price(engine(PRESALE), [line("X5", 1, "1000.00")], DEPOSIT_TIME)
    deposit, balance = quote.payments
    assert (deposit.label, deposit.amount, deposit.status) == (
        "deposit",
        10000,
        PaymentStatus.DUE_NOW,
    )
    assert (balance.label, balance.amount, balance.status) == (
        "balance",
        85000,
        PaymentStatus.DUE_LATER,
    )
    assert balance.window is not None
    assert balance.window.start.isoformat() == "2026-11-11T00:00:00+08:00"
    assert quote.due_now == 10000
    assert quote.payable == 95000
    data = quote.to_dict()
    assert data["due_now"] == "100.00"
    assert data["payments"][1]["status"] == "due-later"


def test_deposit_window_two_units_and_another_line() -> None:
    lines = [line("X5", 2, "1000.00"), line("CASE", 1, "50.00")]
    quote = price(engine(PRESALE), lines, DEPOSIT_TIME)
    # X5: 2000 - 2 x 50 = 1900: deposit 200 now, balance 1700 later; the case is due now
    assert quote.payable == 195000
    assert [(p.label, p.amount) for p in quote.payments] == [
        ("deposit", 20000),
        ("balance", 170000),
        ("due now", 5000),
    ]
    assert quote.due_now == 25000


def test_final_window_deposit_covers_one_of_two_units() -> None:
    quote = price(engine(PRESALE), [line("X5", 2, "1000.00", deposit_paid=10000)])
    assert quote.discount_total == 5000
    assert quote.payable == 195000
    assert quote.due_now == 185000
    assert "covers 1 of 2 units" in quote.explanation("ps").message


def test_presale_price_then_bonus() -> None:
    body = PRESALE + 'presale_price = "899.00"\n'
    quote = price(engine(body), [line("X5", 1, "1000.00")], DEPOSIT_TIME)
    # 1000 -> 899 (presale price) -> 849 (bonus 50); deposit 100 now, 749 later
    assert quote.payable == 84900
    assert [p.amount for p in quote.payments] == [10000, 74900]


def test_bonus_applies_even_when_another_price_wins() -> None:
    body = (
        PRESALE
        + 'presale_price = "899.00"\n'
        + """
[[promotion]]
id = "member"
kind = "member_price"
segments = ["vip"]
prices = { "X5" = "850.00" }
"""
    )
    quote = price(
        engine(body),
        [line("X5", 1, "1000.00", deposit_paid=10000)],
        customer=Customer("c-1", frozenset({"vip"})),
    )
    # member 850 beats presale 899; the deposit bonus still applies: 850 - 50 = 800
    assert quote.payable == 80000
    assert quote.discounts_by_promotion == {"member": 15000, "ps": 5000}
    assert quote.due_now == 70000


def test_thresholds_measure_on_price_less_bonus() -> None:
    body = (
        PRESALE
        + """
[[promotion]]
id = "every300"
kind = "tiered"
lane = "platform"
mode = "every"
threshold = "300.00"
off = "30.00"
"""
    )
    quote = price(engine(body), [line("X5", 1, "1000.00", deposit_paid=10000)])
    # base 1000 - 50 = 950: 3 x 30 = 90 (on 1000 it would also be 3 x 30; 600 shows it)
    assert quote.explanation("every300").base == 95000
    assert quote.payable == 86000
    assert quote.due_now == 76000
    cheap = price(engine(body), [line("X5", 1, "620.00", deposit_paid=10000)])
    # 620 - 50 = 570: one step of 300 (620 alone would reach two)
    assert cheap.discounts_by_promotion["every300"] == 3000


def test_final_window_without_deposit_is_not_applied() -> None:
    quote = price(engine(PRESALE), [line("X5", 1, "1000.00")])
    explanation = quote.explanation("ps")
    assert (explanation.status, explanation.reason) == (Status.NOT_APPLIED, "no-deposit-paid")
    assert quote.payable == 100000
    assert quote.payments == ()


def test_outside_both_windows() -> None:
    quote = price(engine(PRESALE), [line("X5", 1, "1000.00")], BEFORE)
    assert quote.explanation("ps").reason == "out-of-window"
    assert quote.payable == 100000


def test_bonus_is_funded_and_counts_against_margin() -> None:
    body = PRESALE + 'funded_by = { platform = "100%" }\n'
    quote = price(engine(body), [line("X5", 1, "1000.00", "700.00", deposit_paid=10000)])
    assert quote.discounts_by_funder == {Funder.PLATFORM: 5000}
    assert quote.margin == Fraction(95000 - 70000, 95000)


@attrs.frozen
class _ProbeConfig:
    pass


class _Probe(Kind):
    """A store-lane kind that records what later lanes see of deposits."""

    name = "probe"
    config_type = _ProbeConfig
    lanes = (Lane.STORE,)

    def __init__(self) -> None:
        self.seen: list[tuple[list[int], list[bool]]] = []

    def compile(self, promotion: Promotion, env: CompileEnv) -> Evaluator:
        def evaluate(state: PricingState, lines: Sequence[int]) -> Offer:
            self.seen.append((list(state.deposits), list(state.deferred)))
            return Offer()

        return evaluate


def test_later_lanes_see_the_deposit_on_the_state() -> None:
    probe = _Probe()

    class ProbePlugin:
        @staticmethod
        @hookimpl
        def promorules_register_kinds(register: Callable[[Kind], None]) -> None:
            register(probe)

    text = HEADER + PRESALE + '[[promotion]]\nid = "probe"\nkind = "probe"\n'
    eng = Engine.from_string(text, plugins=[*PLUGINS, ProbePlugin])
    # deposit window: 100 scheduled now, balance deferred (the written pass, which saw
    # no deposit yet, is priced again so that later lanes keep to the balance)
    price(eng, [line("X5", 1, "1000.00"), line("CASE", 1, "50.00")], DEPOSIT_TIME)
    assert probe.seen[-1] == ([10000, 0], [True, False])
    # final window: 100 paid, not deferred (a cart with a deposit goes straight to the walk)
    probe.seen.clear()
    price(eng, [line("X5", 1, "1000.00", deposit_paid=10000)], SALE_TIME)
    assert probe.seen == [([10000], [False])]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            'deposit = "100.00"\nworth = "90.00"\ndeposit_phase = "presale"\n'
            'final_phase = "explosion"',
            "worth must be at least the deposit",
        ),
        (
            'deposit = "100.00"\nworth = "150.00"\npresale_price = "120.00"\n'
            'deposit_phase = "presale"\nfinal_phase = "explosion"',
            "cannot be worth more than the presale price",
        ),
        (
            'deposit = "100.00"\nworth = "150.00"\n'
            "deposit_window = { start = 2026-11-01T00:00:00, end = 2026-11-10T00:00:00 }\n"
            "final_window = { start = 2026-11-09T00:00:00, end = 2026-11-12T00:00:00 }",
            "must open after the deposit window closes",
        ),
        (
            'deposit = "100.00"\nworth = "150.00"\n'
            "deposit_window = { start = 2026-11-10T00:00:00, end = 2026-11-01T00:00:00 }\n"
            'final_phase = "explosion"',
            "window ends before it starts",
        ),
        (
            'deposit = "100.00"\nworth = "150.00"\nfinal_phase = "explosion"',
            "exactly one of deposit_window or deposit_phase",
        ),
        (
            'deposit = "100.00"\nworth = "150.00"\ndeposit_phase = "presale"\n'
            'final_phase = "explosion"\nphases = ["explosion"]',
            "leave window and phases unset",
        ),
        (
            'deposit = "0"\nworth = "150.00"\ndeposit_phase = "presale"\nfinal_phase = "explosion"',
            "deposit must be above zero",
        ),
        # phase names are resolved against the campaign when the engine is built
        (
            'deposit = "100.00"\nworth = "150.00"\ndeposit_phase = "presael"\n'
            'final_phase = "explosion"',
            "unknown phase 'presael'",
        ),
        (
            'deposit = "100.00"\nworth = "150.00"\ndeposit_phase = "explosion"\n'
            'final_phase = "presale"',
            "must open after the deposit window closes",
        ),
    ],
)
def test_check_problems_are_located(extra: str, message: str) -> None:
    body = f'\n[[promotion]]\nid = "ps"\nkind = "presale"\n{extra}\n'
    with pytest.raises(RulesetError) as info:
        engine(body)
    text = str(info.value)
    assert message in text
    assert 'promotion "ps"' in text
    assert "<string>:" in text


def test_bound_is_the_bonus_per_unit() -> None:
    eng = engine(PRESALE)
    bound = Presale().bound(eng.ruleset.promotions[0])
    assert bound.unit_off == 5000
    assert bound.unit_depth("X5", 100000) == Fraction(1, 20)
    with_price = engine(PRESALE + 'presale_price = "900.00"\n')
    bound = Presale().bound(with_price.ruleset.promotions[0])
    assert bound.unit_prices == {"*": 90000}
    assert bound.unit_depth("X5", 100000) == Fraction(15, 100)  # 100 off + 50 bonus
    assert bound.rate == 1


# -- coupons and the final payment (the rule the kind's docstring states) ------------

COUPON = """
[[promotion]]
id = "c"
kind = "coupon"
lane = "platform"
code = "SAVE"
off = "{off}"
"""


def coupon_engine(off: str) -> Engine:
    from promorules_plugins import coupon

    return Engine.from_string(HEADER + PRESALE + COUPON.format(off=off), plugins=[*PLUGINS, coupon])


def priced(eng: Engine, lines: list[Line], at: datetime) -> list[Quote]:
    basket = Cart(lines=lines, customer=Customer("c-1"))
    context = Context(at=at, coupons=("SAVE",))
    return [eng.price(basket, context), eng.explained(basket, context)]


def test_a_coupon_does_not_apply_to_a_deposit_order() -> None:
    # deposit window: the X5 line's balance is paid later; the coupon waits for it
    for quote in priced(coupon_engine("30"), [line("X5", 1, "1000.00")], DEPOSIT_TIME):
        assert quote.discounts_by_promotion == {"ps": 5000}
        assert sum(p.amount for p in quote.payments) == quote.payable
    explained = priced(coupon_engine("30"), [line("X5", 1, "1000.00")], DEPOSIT_TIME)[1]
    assert "final payment" in explained.explanation("c").message


def test_a_coupon_at_the_final_payment_keeps_within_the_balance() -> None:
    # 1000 with a paid deposit of 100 worth 150: 950, of which 850 is left to pay; a
    # coupon of 30 applies (balance 820); one of 900 would leave less than nothing
    for quote in priced(
        coupon_engine("30"), [line("X5", 1, "1000.00", deposit_paid=10000)], SALE_TIME
    ):
        assert quote.discounts_by_promotion == {"ps": 5000, "c": 3000}
        assert quote.payable == 92000
        assert quote.due_now == 82000
        assert sum(p.amount for p in quote.payments) == quote.payable
    for quote in priced(
        coupon_engine("900"), [line("X5", 1, "1000.00", deposit_paid=10000)], SALE_TIME
    ):
        assert quote.discounts_by_promotion == {"ps": 5000}
        assert quote.due_now == 85000
        assert sum(p.amount for p in quote.payments) == quote.payable
