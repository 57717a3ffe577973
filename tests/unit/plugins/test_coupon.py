"""The coupon kind, with figures computed by hand in the comments."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import pytest

from promorules.cart import Cart, Context, Customer
from promorules.counters import ANY_SUBJECT, CounterKey, CounterKind, CounterSpec, Snapshot, Subject
from promorules.coupon_codes import generate
from promorules.diagnostics import RulesetError
from promorules.engine import Engine
from promorules.kind import Bound
from promorules.quote import Quote, Status
from promorules_plugins import coupon, tiered
from tests.helpers import D11, SHANGHAI, cart, ctx, engine, line, yuan

PLUGINS: list[object] = [tiered, coupon]


def coupons(body: str) -> Engine:
    return engine(body, plugins=PLUGINS)


def promo(pid: str, code: str, reward: str, extra: str = "") -> str:
    return f'[[promotion]]\nid = "{pid}"\nkind = "coupon"\ncode = "{code}"\n{reward}\n{extra}\n'


THRESHOLD = promo("c100-20", "SAVE20", 'threshold = "100"\noff = "20"')
PERCENT = promo("p10", "TENOFF", 'percent = "10%"\nmax_off = "50"')


def finding(quote: Quote, code: str) -> tuple[str | None, str | None, Status]:
    for f in quote.codes:
        if f.code == code:
            return f.promotion, f.reason, f.status
    raise KeyError(code)


# -- rewards -----------------------------------------------------------------------------


def test_threshold_coupon_100_off_20() -> None:
    rules = coupons(THRESHOLD)
    # 70 + 50 = 120 >= 100: 20 off, split 70:50 -> 11.66.. / 8.33.. -> 11.67 + 8.33
    quote = rules.price(cart(line("a", 1, "70"), line("b", 1, "50")), ctx(coupons=("save20",)))
    assert quote.payable == yuan("100")
    assert [ql.discount for ql in quote.lines] == [yuan("11.67"), yuan("8.33")]
    explanation = quote.explanation("c100-20")
    assert (explanation.status, explanation.amount, explanation.base) == (
        Status.APPLIED,
        yuan("20"),
        yuan("120"),
    )


def test_threshold_coupon_below_threshold_hints_when_close() -> None:
    rules = coupons(THRESHOLD)
    # 90: 10 short of 100, within 30% of the threshold -> a hint
    quote = rules.price(cart(line("a", 1, "90")), ctx(coupons=("SAVE20",)))
    explanation = quote.explanation("c100-20")
    assert explanation.reason == "below-threshold"
    assert explanation.hint is not None and explanation.hint.shortfall == yuan("10")
    assert "spend CN¥10.00 more to get CN¥20.00 off" in explanation.message
    assert finding(quote, "SAVE20") == ("c100-20", "below-threshold", Status.NOT_APPLIED)
    # 60: 40 short is more than 30 -> no hint
    far = rules.price(cart(line("a", 1, "60")), ctx(coupons=("SAVE20",)))
    assert far.explanation("c100-20").hint is None
    assert far.payable == yuan("60")


def test_percent_coupon_with_cap() -> None:
    rules = coupons(PERCENT)
    at_300 = rules.price(cart(line("a", 1, "300")), ctx(coupons=("TENOFF",)))
    assert at_300.discount_total == yuan("30")  # 10% of 300
    at_800 = rules.price(cart(line("a", 1, "800")), ctx(coupons=("TENOFF",)))
    assert at_800.discount_total == yuan("50")  # 80 capped at 50
    assert "capped" in at_800.explanation("p10").message
    odd = rules.price(cart(line("a", 1, "123.45")), ctx(coupons=("TENOFF",)))
    assert odd.discount_total == yuan("12.34")  # 12.345 rounded down


def test_no_threshold_coupon_on_a_cheap_line_never_exceeds_it_nor_spills() -> None:
    rules = coupons(promo("fifty", "F50", 'off = "50"', 'skus = ["cheap"]'))
    quote = rules.price(cart(line("cheap", 1, "30"), line("dear", 1, "200")), ctx(coupons=("F50",)))
    # 50 off a 30 line: 30, and nothing moves to the 200 line
    assert [ql.payable for ql in quote.lines] == [0, yuan("200")]
    explanation = quote.explanation("fifty")
    assert (explanation.amount, explanation.base) == (yuan("30"), yuan("30"))
    assert "limited to the amount it applies to" in explanation.message


def test_scope_with_exclusions() -> None:
    rules = coupons(
        promo("beauty", "B10", 'off = "10"', 'categories = ["beauty"]\nexclude_brands = ["lux"]')
    )
    quote = rules.price(
        cart(
            line("a", 1, "40", category="beauty", brand="lux"),
            line("b", 1, "60", category="beauty", brand="plain"),
            line("c", 1, "80", category="home"),
        ),
        ctx(coupons=("B10",)),
    )
    assert [ql.discount for ql in quote.lines] == [0, yuan("10"), 0]


def test_codes_compare_case_insensitively_and_ignore_dashes() -> None:
    rules = coupons(promo("c", "D11-PLAT-20", 'off = "20"'))
    quote = rules.price(cart(line("a", 1, "100")), ctx(coupons=(" d11 plat-20 ",)))
    assert quote.discount_total == yuan("20")
    assert [f.code for f in quote.codes] == ["D11PLAT20"]


def test_not_presented_is_explained() -> None:
    quote = coupons(THRESHOLD).price(cart(line("a", 1, "500")), ctx())
    assert quote.explanation("c100-20").reason == "code-not-presented"
    assert quote.discount_total == 0


# -- lanes and bases ---------------------------------------------------------------------

EVERY_300 = """
[[promotion]]
id = "every-300-off-50"
kind = "tiered"
lane = "{lane}"
scope = "cross-store"
mode = "every"
threshold = "300"
off = "50"
"""
STORE_AND_PLATFORM = promo(
    "m1-300-30", "M1", 'threshold = "300"\noff = "30"', 'merchants = ["m1"]'
) + promo("plat-10", "PLAT", 'percent = "10%"\nmax_off = "100"', 'lane = "platform"')
TWO_STORES = (line("x", 1, "400", merchant="m1"), line("y", 1, "200", merchant="m2"))


def test_store_coupon_and_cross_store_reduction_measure_on_the_same_base() -> None:
    # store lane, both on 600: the m1 coupon sees its 400 (>= 300): 30 off on m1;
    # every 300 off 50 on 600: 100, split 400:200 -> 66.67 + 33.33.
    # platform lane on 600 - 130 = 470: 10% = 47, split 303.33:166.67 -> 30.33 + 16.67.
    rules = coupons(STORE_AND_PLATFORM + EVERY_300.format(lane="store"))
    quote = rules.price(cart(*TWO_STORES), ctx(coupons=("M1", "PLAT")))
    every = quote.explanation("every-300-off-50")
    assert (every.base, every.amount) == (yuan("600"), yuan("100"))
    assert quote.explanation("m1-300-30").base == yuan("400")
    assert quote.explanation("plat-10").base == yuan("470")
    assert [ql.payable for ql in quote.lines] == [yuan("273"), yuan("150")]
    assert quote.payable == yuan("423")
    # store coupons are funded by the merchant, platform coupons by the platform
    by_funder = {f.value: v for f, v in quote.discounts_by_funder.items()}
    assert by_funder == {"merchant": yuan("130"), "platform": yuan("47")}


def test_cross_store_reduction_in_the_platform_lane_measures_after_store_coupons() -> None:
    # every 300 off 50 now measures on 600 - 30 = 570: one step, 50
    rules = coupons(STORE_AND_PLATFORM + EVERY_300.format(lane="platform"))
    quote = rules.price(cart(*TWO_STORES), ctx(coupons=("M1",)))
    every = quote.explanation("every-300-off-50")
    assert (every.base, every.amount) == (yuan("570"), yuan("50"))


# -- combining ---------------------------------------------------------------------------

M1 = 'merchants = ["m1"]'
SEVERAL = (
    promo("a", "A20", 'threshold = "100"\noff = "20"', M1)
    + promo("b", "B15", 'off = "15"', M1)
    + promo("c", "C10", 'percent = "10%"\nmax_off = "50"', M1)
    + promo("m2", "M2", 'off = "5"', 'merchants = ["m2"]')
    + promo("plat", "P5", 'off = "5"', 'lane = "platform"')
)


def test_several_codes_give_the_best_combination() -> None:
    rules = coupons(SEVERAL)
    quote = rules.price(
        cart(line("x", 1, "300", merchant="m1")), ctx(coupons=("A20", "B15", "C10", "M2", "P5"))
    )
    # one store coupon per store: 10% of 300 = 30 beats 20 and 15; platform 5 on 270
    assert quote.discount_total == yuan("35")
    assert quote.discounts_by_promotion == {"c": yuan("30"), "plat": yuan("5")}
    assert finding(quote, "A20") == ("a", "lost-to-exclusive-group", Status.NOT_APPLIED)
    assert finding(quote, "C10") == ("c", None, Status.APPLIED)
    assert finding(quote, "M2") == ("m2", "no-eligible-lines", Status.NOT_APPLIED)
    assert finding(quote, "P5") == ("plat", None, Status.APPLIED)


def test_store_coupons_of_different_stores_combine() -> None:
    rules = coupons(SEVERAL)
    quote = rules.price(
        cart(line("x", 1, "300", merchant="m1"), line("y", 1, "50", merchant="m2")),
        ctx(coupons=("B15", "M2")),
    )
    assert quote.discounts_by_promotion == {"b": yuan("15"), "m2": yuan("5")}


INCOMPATIBLE = (
    promo(
        "t30",
        "T30",
        'threshold = "200"\noff = "30"',
        'lane = "platform"\nstackable = true\nnot_with = ["n10"]',
    )
    + promo("n10", "N10", 'off = "10"', 'lane = "platform"\nstackable = true')
    + promo("s5", "S5", 'off = "5"', 'lane = "platform"\nstackable = true')
)


def test_declared_incompatibility_keeps_the_better_side() -> None:
    rules = coupons(INCOMPATIBLE)
    codes = ("T30", "N10", "S5")
    # 250: threshold 30 + 5 = 35 beats no-threshold 10 + 5 = 15; they never combine
    quote = rules.price(cart(line("a", 1, "250")), ctx(coupons=codes))
    assert quote.discounts_by_promotion == {"t30": yuan("30"), "s5": yuan("5")}
    assert quote.explanation("n10").reason == "lost-to-exclusive-group"
    # 150: the threshold coupon is out of reach: 10 + 5
    low = rules.price(cart(line("a", 1, "150")), ctx(coupons=codes))
    assert low.discounts_by_promotion == {"n10": yuan("10"), "s5": yuan("5")}


# -- codes that do not apply -------------------------------------------------------------

WINDOWS = (
    THRESHOLD
    + promo(
        "old",
        "OLD",
        'off = "5"',
        "window = { start = 2026-10-01T00:00:00, end = 2026-10-31T23:59:59 }",
    )
    + promo("warm", "SALE", 'off = "5"', 'phases = ["explosion"]')
)


def test_unknown_mistyped_expired_and_not_yet_valid_codes_have_reasons() -> None:
    rules = coupons(WINDOWS)
    codes = ("SAVE2O", "NOSUCH", "OLD", "SALE")
    quote = rules.price(
        cart(line("a", 1, "500")), ctx(datetime(2026, 11, 5, tzinfo=SHANGHAI), codes)
    )
    assert finding(quote, "SAVE2O") == ("c100-20", "code-mistyped", Status.NOT_APPLIED)
    assert finding(quote, "NOSUCH") == (None, "code-unknown", Status.NOT_APPLIED)
    assert finding(quote, "OLD") == ("old", "expired", Status.NOT_APPLIED)
    assert finding(quote, "SALE") == ("warm", "not-yet-valid", Status.NOT_APPLIED)
    assert quote.discount_total == 0


def test_generated_series_tells_a_mistyped_code_from_an_unknown_one() -> None:
    issued = list(generate("D11", 3, randbelow=_counter()))
    listed = ", ".join(f'"{c}"' for c in issued)
    rules = coupons(
        promo("d11", "X", 'off = "20"', "").replace(
            'code = "X"', f'codes = [{listed}]\nseries = "D11"'
        )
    )
    good = issued[0]
    slip = good[:5] + ("A" if good[5] != "A" else "B") + good[6:]
    swap = good[:4] + good[5] + good[4] + good[6:]
    not_issued = next(iter(generate("D11", 1, randbelow=lambda n: n - 1)))
    quote = rules.price(cart(line("a", 1, "100")), ctx(coupons=(slip, not_issued)))
    assert finding(quote, slip) == ("d11", "code-mistyped", Status.NOT_APPLIED)
    assert finding(quote, not_issued) == (None, "code-unknown", Status.NOT_APPLIED)
    if swap != good:
        swapped = rules.price(cart(line("a", 1, "100")), ctx(coupons=(swap,)))
        assert finding(swapped, swap)[1] == "code-mistyped"
    applied = rules.price(cart(line("a", 1, "100")), ctx(coupons=(good.lower(),)))
    assert applied.discount_total == yuan("20")


def _counter() -> Callable[[int], int]:
    state = {"n": 0}

    def randbelow(n: int) -> int:
        state["n"] += 7
        return state["n"] % n

    return randbelow


def test_a_huge_code_is_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="at most 64 characters"):
        Context(D11, coupons=("A" * 10_000_000,))


def test_findings_never_echo_raw_input() -> None:
    quote = coupons(THRESHOLD).price(cart(line("a", 1, "500")), ctx(coupons=("\x1b]0;pwn\x07",)))
    assert [(f.code, f.reason) for f in quote.codes] == [("0PWN", "code-unknown")]


# -- limits ------------------------------------------------------------------------------

LIMITED = """
[[promotion]]
id = "ltd"
kind = "coupon"
codes = ["ONE", "TWO", "THREE"]
off = "10"
uses = 100
uses_per_customer = 1
"""


def limited(snapshot: Snapshot, codes: tuple[str, ...], customer: str = "alice") -> Quote:
    rules = coupons(LIMITED)
    basket = Cart((line("a", 1, "100"),), Customer(customer))
    return rules.price(basket, Context(D11, coupons=codes, availability=snapshot))


def key(kind: CounterKind, subject: Subject = "") -> CounterKey:
    return CounterKey(kind, "ltd", subject)


def test_counters_declared_and_consumed() -> None:
    assert set(coupons(LIMITED).counters) == {
        CounterSpec(key(CounterKind.COUPON_USES), 100),
        CounterSpec(key(CounterKind.COUPON_CUSTOMER_USES, ANY_SUBJECT), 1),
        CounterSpec(key(CounterKind.COUPON_CODE_USES, ANY_SUBJECT), 1),
    }
    quote = limited(Snapshot(), ("two",))
    assert quote.discount_total == yuan("10")
    assert set(quote.consumption) == {
        (key(CounterKind.COUPON_CUSTOMER_USES, "alice"), 1),
        (key(CounterKind.COUPON_USES), 1),
        (key(CounterKind.COUPON_CODE_USES, "TWO"), 1),
    }


def test_a_shared_code_without_limits_consumes_nothing() -> None:
    quote = coupons(THRESHOLD).price(cart(line("a", 1, "500")), ctx(coupons=("SAVE20",)))
    assert quote.consumption == ()


@pytest.mark.parametrize(
    ("remaining", "reason"),
    [
        ({key(CounterKind.COUPON_USES): 0}, "exhausted"),
        ({key(CounterKind.COUPON_CUSTOMER_USES, ANY_SUBJECT): 0}, "customer-limit-reached"),
        ({key(CounterKind.COUPON_CUSTOMER_USES, "alice"): 0}, "customer-limit-reached"),
        ({key(CounterKind.COUPON_CODE_USES, "ONE"): 0}, "code-used"),
    ],
)
def test_limits_read_from_the_ledger(remaining: dict[CounterKey, int], reason: str) -> None:
    quote = limited(Snapshot(remaining), ("ONE",))
    assert quote.discount_total == 0
    assert quote.explanation("ltd").reason == reason
    assert finding(quote, "ONE") == ("ltd", reason, Status.NOT_APPLIED)


def test_a_used_single_use_code_gives_way_to_a_fresh_one() -> None:
    quote = limited(Snapshot({key(CounterKind.COUPON_CODE_USES, "ONE"): 0}), ("ONE", "TWO"))
    assert quote.discount_total == yuan("10")
    assert (key(CounterKind.COUPON_CODE_USES, "TWO"), 1) in quote.consumption
    assert finding(quote, "TWO") == ("ltd", None, Status.APPLIED)
    assert finding(quote, "ONE") == ("ltd", "code-not-used", Status.NOT_APPLIED)


def test_per_customer_limit_needs_a_customer() -> None:
    quote = limited(Snapshot(), ("ONE",), customer="")
    assert quote.explanation("ltd").reason == "customer-required"


# -- bound -------------------------------------------------------------------------------


def bound_of(body: str) -> Bound:
    rules = coupons(body)
    return rules.bound(0)


def test_bounds() -> None:
    threshold = bound_of(THRESHOLD)
    assert (threshold.rate, threshold.line_rate, threshold.cap) == (
        Fraction(1, 5),
        Fraction(1, 5),
        yuan("20"),
    )
    percent = bound_of(PERCENT)
    assert (percent.rate, percent.cap) == (Fraction(1, 10), yuan("50"))
    flat = bound_of(promo("f", "F", 'off = "8"'))
    assert (flat.rate, flat.cap) == (Fraction(1), yuan("8"))


# -- checking the ruleset ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (promo("x", "A", 'off = "5"\npercent = "5%"'), "exactly one reward"),
        (promo("x", "A", 'off = "5"', 'codes = ["B"]'), "exactly one of code, codes"),
        (promo("x", "A", 'off = "5"', "single_use = true"), "shared code"),
        (promo("x", "A", 'off = "5"\nmax_off = "3"'), "max_off caps a percent"),
        (promo("x", "--", 'off = "5"'), "at least one letter or digit"),
        (promo("x", "A", 'off = "5"', "uses = 0"), "uses must be at least 1"),
        (promo("x", "A", 'off = "5"', 'lane = "item"'), "may sit in lane"),
        (
            promo("x", "A", 'off = "5"').replace('code = "A"', 'codes = ["AB", "a-b"]'),
            "duplicate of codes[0]",
        ),
        (
            promo("x", "A", 'off = "5"').replace(
                'code = "A"', 'codes = ["D11AAAA"]\nseries = "D11"'
            ),
            "not a code of series D11",
        ),
    ],
)
def test_bad_coupons_are_located_errors(body: str, message: str) -> None:
    with pytest.raises(RulesetError) as caught:
        coupons(body)
    assert message in caught.value.render()
    assert "<string>:" in caught.value.render()


def test_codes_file_relative_to_the_ruleset(tmp_path: Path) -> None:
    issued = list(generate("D11", 5))
    (tmp_path / "d11-codes.txt").write_text("# issued\n\n" + "\n".join(issued) + "\n")
    ruleset = tmp_path / "rules.toml"
    ruleset.write_text(
        '[campaign]\nname = "T"\ncurrency = "CNY"\ntimezone = "Asia/Shanghai"\n'
        + promo("d11", "X", 'off = "20"').replace(
            'code = "X"', 'codes_file = "d11-codes.txt"\nseries = "D11"'
        )
    )
    rules = Engine.from_toml(ruleset, plugins=PLUGINS)
    quote = rules.price(cart(line("a", 1, "100")), ctx(coupons=(issued[3],)))
    assert quote.discount_total == yuan("20")
    assert (CounterKey(CounterKind.COUPON_CODE_USES, "d11", issued[3]), 1) in quote.consumption


def test_codes_file_problems_are_located(tmp_path: Path) -> None:
    (tmp_path / "codes.txt").write_text("D11AAAAAAAAAA\n")
    ruleset = tmp_path / "rules.toml"
    text = '[campaign]\nname = "T"\ncurrency = "CNY"\ntimezone = "Asia/Shanghai"\n' + promo(
        "d11", "X", 'off = "20"'
    ).replace('code = "X"', 'codes_file = "codes.txt"\nseries = "D11"')
    ruleset.write_text(text)
    with pytest.raises(RulesetError) as caught:
        Engine.from_toml(ruleset, plugins=PLUGINS)
    rendered = caught.value.render()
    assert "codes.txt line 1: not a code of series D11" in rendered
    assert f"{ruleset}:8:1:" in rendered  # line 8 holds codes_file
    ruleset.write_text(text.replace("codes.txt", "missing.txt"))
    with pytest.raises(RulesetError, match="PR001"):
        Engine.from_toml(ruleset, plugins=PLUGINS)
