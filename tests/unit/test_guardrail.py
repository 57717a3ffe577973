"""The runtime guardrail: clamp, reject and warn, with figures worked out by hand."""

from __future__ import annotations

from fractions import Fraction

from promorules.guardrail import minimum_revenue
from promorules.kind import Reason
from promorules.quote import GuardrailStatus, Status
from tests.helpers import HEADER, cart, ctx, engine, line, yuan


def guarded(on_breach: str, order: str = "10%", line_floor: str = "0%") -> str:
    return HEADER + (
        f'[guardrails]\nmin_order_margin = "{order}"\nmin_line_margin = "{line_floor}"\n'
        f'on_breach = "{on_breach}"\n'
    )


def promo(pid: str, lane: str, threshold: str, off: str, extra: str = "") -> str:
    return (
        f'[[promotion]]\nid = "{pid}"\nkind = "tiered"\nlane = "{lane}"\n'
        f'threshold = "{threshold}"\noff = "{off}"\n{extra}\n'
    )


def test_minimum_revenue_rounds_up() -> None:
    # cost 90 at 10%: 90 / 0.9 = 100 exactly; cost 91: 101.11.. -> 102 (never held by rounding)
    assert minimum_revenue(90, Fraction(1, 10)) == 100
    assert minimum_revenue(91, Fraction(1, 10)) == 102
    assert minimum_revenue(50, Fraction(0)) == 50


BODY = promo("store", "store", "100", "20", "priority = 1") + promo(
    "platform", "platform", "50", "30"
)
# one line: price 100, cost 80. Discounts: store 20, platform 30 -> payable 50.
# Floors: line 0% -> >= 80; order 10% -> >= 80 / 0.9 = 88.89 -> 88.89 rounded up = 88.89


def test_clamp_takes_back_lowest_priority_first() -> None:
    quote = engine(BODY, header=guarded("clamp")).price(cart(line("a", 1, "100", "80")), ctx())
    # need 88.89 - 50 = 38.89: all 30 from platform (priority 0), 8.89 from store
    assert quote.payable == yuan("88.89")
    assert quote.guardrail.status is GuardrailStatus.CLAMPED
    assert quote.guardrail.trims == {"platform": yuan("30"), "store": yuan("8.89")}
    assert quote.discounts_by_promotion == {"store": yuan("11.11")}
    platform = quote.explanation("platform")
    assert platform.status is Status.TRIMMED and platform.reason == Reason.GUARDRAIL_CLAMPED.value
    assert all(f.held for f in quote.guardrail.floors)


def test_clamp_order_among_equal_priorities_is_later_lane_first() -> None:
    body = promo("store", "store", "100", "20") + promo("platform", "platform", "50", "30")
    quote = engine(body, header=guarded("clamp", order="0%")).price(
        cart(line("a", 1, "100", "60")), ctx()
    )
    # need 60 - 50 = 10, taken from the platform lane (applied last)
    assert quote.guardrail.trims == {"platform": yuan("10")}


def test_reject_drops_whole_promotions_until_floors_hold() -> None:
    quote = engine(BODY, header=guarded("reject")).price(cart(line("a", 1, "100", "80")), ctx())
    # without platform: 100 - 20 = 80 < 88.89 still; without both: 100
    assert quote.guardrail.status is GuardrailStatus.REJECTED
    assert quote.guardrail.rejected == ("store", "platform")
    assert quote.payable == yuan("100")
    assert quote.explanation("platform").reason == Reason.GUARDRAIL_REJECTED.value


def test_reject_keeps_promotions_that_do_not_breach() -> None:
    quote = engine(BODY, header=guarded("reject", order="0%")).price(
        cart(line("a", 1, "100", "60")), ctx()
    )
    # 50 < 60: dropping platform (lowest in trim order) leaves 80 >= 60
    assert quote.guardrail.rejected == ("platform",)
    assert quote.payable == yuan("80")


def test_warn_only_reports() -> None:
    quote = engine(BODY, header=guarded("warn")).price(cart(line("a", 1, "100", "80")), ctx())
    assert quote.guardrail.status is GuardrailStatus.BREACHED
    assert quote.payable == yuan("50")
    broken = [f for f in quote.guardrail.floors if not f.held]
    assert {f.name for f in broken} == {"order", "line[0]"}


def test_category_floor() -> None:
    header = HEADER + '[guardrails]\ncategories = { digital = "5%" }\non_breach = "clamp"\n'
    body = promo("p", "platform", "100", "100", 'mode = "every"')
    quote = engine(body, header=header).price(
        cart(
            line("phone", 1, "1000", "900", category="digital"),
            line("mask", 1, "100", "10", category="beauty"),
        ),
        ctx(),
    )
    # 1100 -> 11 x 100 off = 1100 off: everything. Digital needs 900 / 0.95 = 947.37
    digital = next(f for f in quote.guardrail.floors if f.name == "category:digital")
    assert digital.held and digital.margin is not None and digital.margin >= Fraction(5, 100)
    assert quote.lines[0].payable == yuan("947.37")
    assert quote.lines[1].payable == 0


def test_a_loss_leader_price_is_reported_not_hidden() -> None:
    # list price below cost: no discount to take back, the breach stays and says so
    quote = engine(promo("p", "store", "1000", "1"), header=guarded("clamp")).price(
        cart(line("a", 1, "50", "80")), ctx()
    )
    assert quote.guardrail.status is GuardrailStatus.BREACHED
    assert quote.payable == yuan("50")


def test_a_coupon_the_clamp_takes_back_entirely_consumes_no_use() -> None:
    from promorules.counters import CounterKey, CounterKind
    from promorules_plugins import coupon, tiered

    body = (
        '[[promotion]]\nid = "c"\nkind = "coupon"\ncode = "SAVE5"\noff = "5.00"\nuses = 100\n'
        "priority = -1\n" + promo("s", "store", "10", "1", "priority = 1")
    )
    e = engine(body, header=guarded("clamp", order="0%"), plugins=[tiered, coupon])
    # 100 with cost 99: the store's 1.00 fits, the coupon's 5.00 must all go back
    clamped = e.price(cart(line("a", 1, "100", "99")), ctx(coupons=("save5",)))
    assert clamped.guardrail.trims == {"c": yuan("5")}
    assert all(key.kind is not CounterKind.COUPON_USES for key, _ in clamped.consumption)
    # with room for it, the coupon applies and takes one use
    kept = e.price(cart(line("a", 1, "100", "50")), ctx(coupons=("save5",)))
    assert kept.discounts_by_promotion["c"] == yuan("5")
    assert kept.consumption == ((CounterKey(CounterKind.COUPON_USES, "c"), 1),)
