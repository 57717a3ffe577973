"""Stacking, scope, activation and purity of the engine, with hand-computed figures."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Sequence
from datetime import datetime

import attrs
import pytest

from promorules import hookimpl
from promorules.cart import Context
from promorules.counters import CounterKey, CounterKind, Snapshot
from promorules.kind import (
    CompileEnv,
    Evaluator,
    Kind,
    Lane,
    NotApplied,
    Offer,
    PricingState,
    Reason,
)
from promorules.quote import Status
from promorules.ruleset import Amount, Promotion
from tests.helpers import SHANGHAI, cart, ctx, engine, line, yuan


def promo(pid: str, lane: str, threshold: str, off: str, extra: str = "") -> str:
    return (
        f'[[promotion]]\nid = "{pid}"\nkind = "tiered"\nlane = "{lane}"\n'
        f'threshold = "{threshold}"\noff = "{off}"\n{extra}\n'
    )


def test_lanes_measure_on_what_earlier_lanes_left() -> None:
    # item: 100 off above 500 -> 520 becomes 420; store: 300 off 30 on 420 -> 390;
    # platform: every 300 off 50 on 390 -> 340. Measured on the list price (520) the
    # platform promotion would also have given 50, but the store ladder's 500 tier would not
    # have been reached either way; the bases in the explanations prove the order.
    body = (
        promo("item", "item", "500", "100")
        + promo("store", "store", "300", "30")
        + promo("platform", "platform", "300", "50", 'mode = "every"')
    )
    quote = engine(body).price(cart(line("a", 1, "520", merchant="m")), ctx())
    assert quote.explanation("item").base == yuan("520")
    assert quote.explanation("store").base == yuan("420")
    assert quote.explanation("platform").base == yuan("390")
    assert quote.payable == yuan("340")


def test_promotions_in_one_lane_measure_on_the_same_base() -> None:
    # both store promotions see 320: sequential measuring would leave 290 for the second
    body = promo("s1", "store", "300", "30") + promo("s2", "store", "300", "20")
    quote = engine(body).price(cart(line("a", 1, "320", merchant="m")), ctx())
    assert quote.explanation("s1").base == quote.explanation("s2").base == yuan("320")
    assert quote.discount_total == yuan("50")


def test_lane_order_is_a_ruleset_setting() -> None:
    header_lanes = (
        '[campaign]\nname = "T"\ncurrency = "CNY"\ntimezone = "Asia/Shanghai"\n'
        '[stacking]\nlanes = ["price", "item", "platform", "store"]\n'
    )
    body = promo("store", "store", "300", "30") + promo("plat", "platform", "300", "50")
    quote = engine(body, header=header_lanes).price(cart(line("a", 1, "320", merchant="m")), ctx())
    # platform first on 320 (50 off) leaves 270: below the store's 300 threshold
    assert quote.explanation("plat").amount == yuan("50")
    assert quote.explanation("store").status is Status.NOT_APPLIED


def test_parallel_discounts_are_capped_per_line_in_priority_order() -> None:
    # both give 80 on a 100 line: the higher priority takes 80, the other only 20
    body = promo("low", "item", "1", "80") + promo("high", "item", "1", "80", "priority = 5")
    quote = engine(body).price(cart(line("a", 1, "100")), ctx())
    assert quote.payable == 0
    assert quote.discounts_by_promotion == {"high": yuan("80"), "low": yuan("20")}


def test_exclusive_group_keeps_the_best_offer() -> None:
    body = promo("a", "store", "100", "10", 'group = "g"') + promo(
        "b", "store", "100", "15", 'group = "g"'
    )
    quote = engine(body).price(cart(line("x", 1, "150", merchant="m")), ctx())
    assert quote.discounts_by_promotion == {"b": yuan("15")}
    lost = quote.explanation("a")
    assert lost.reason == Reason.LOST_TO_GROUP.value and "b" in lost.message


def test_not_with_in_an_earlier_lane_takes_its_lines_out_of_scope() -> None:
    body = promo("item", "item", "1", "10", 'skus = ["a"]') + promo(
        "plat", "platform", "100", "20", 'not_with = ["item"]\nmode = "every"'
    )
    # line a (200) carries "item": the platform promotion only measures line b (150)
    quote = engine(body).price(cart(line("a", 1, "200"), line("b", 1, "150")), ctx())
    assert quote.explanation("plat").base == yuan("150")
    assert quote.explanation("plat").amount == yuan("20")
    assert [ql.discount for ql in quote.lines] == [yuan("10"), yuan("20")]


@pytest.mark.parametrize("dispatched", [False, True])
def test_a_flash_price_not_with_a_store_promotion_keeps_its_lines_out_of_scope(
    dispatched: bool,
) -> None:
    from tests.helpers import ALL_KINDS

    body = (
        '[[promotion]]\nid = "flash"\nkind = "flash_sale"\nphases = ["explosion"]\n'
        'prices = { "a" = "150.00" }\nnot_with = ["store"]\n'
        + promo("store", "store", "100", "20", 'mode = "every"')
    )
    eng = engine(body, plugins=ALL_KINDS)
    if dispatched:  # every lane a dispatch on the promotions reached (a large plan's way)
        eng.hot_path_limit = 0
    shopping = cart(line("a", 1, "200"), line("b", 1, "150"))
    quote = eng.price(shopping, ctx())
    # a pays its flash price; "store" measures line b alone (150: 20 off)
    assert quote.discounts_by_promotion == {"flash": yuan("50"), "store": yuan("20")}
    assert [ql.discount for ql in quote.lines] == [yuan("50"), yuan("20")]
    assert quote.to_dict() == eng.explained(shopping, ctx()).to_dict()


@pytest.mark.parametrize("dispatched", [False, True])
def test_a_lane_applies_in_priority_order_whichever_line_reaches_a_promotion_first(
    dispatched: bool,
) -> None:
    from tests.helpers import ALL_KINDS

    def discount(pid: str, skus: str, body: str, priority: int) -> str:
        return (
            f'[[promotion]]\nid = "{pid}"\nkind = "discount"\nlane = "item"\n'
            f"skus = {skus}\npriority = {priority}\n{body}\n"
        )

    # "all-of-b" (first in the lane) is reached by the cart's second line only, "ten-each"
    # by both: applied in lane order, "all-of-b" takes b whole and "ten-each" finds
    # nothing left there
    eng = engine(
        discount("all-of-b", '["b"]', 'percent = "100%"', 10)
        + discount("ten-each", '["a", "b"]', 'off_each = "10"', 0),
        plugins=ALL_KINDS,
    )
    if dispatched:
        eng.hot_path_limit = 0
    shopping = cart(line("a", 1, "50"), line("b", 1, "50"))
    quote = eng.price(shopping, ctx())
    assert quote.discounts_by_promotion == {"all-of-b": yuan("50"), "ten-each": yuan("10")}
    assert quote.to_dict() == eng.explained(shopping, ctx()).to_dict()


def test_targeting_and_exclusions() -> None:
    body = promo(
        "p",
        "item",
        "1",
        "5",
        'categories = ["beauty", "home"]\nexclude_skus = ["b2"]\nexclude_tags = ["no-promo"]',
    )
    quote = engine(body).price(
        cart(
            line("b1", 1, "50", category="beauty"),
            line("b2", 1, "50", category="beauty"),
            line("h1", 1, "50", category="home", tags=("no-promo",)),
            line("d1", 1, "50", category="digital"),
        ),
        ctx(),
    )
    assert [ql.discount for ql in quote.lines] == [yuan("5"), 0, 0, 0]


def test_segments_channels_and_windows() -> None:
    body = promo(
        "p", "item", "1", "5", 'segments = ["member"]\nchannels = ["app"]\nphases = ["explosion"]'
    )
    e = engine(body)
    member = cart(line("a", 1, "50"), segments=("member",))
    assert e.price(member, ctx(channel="app")).discount_total == yuan("5")
    assert e.price(cart(line("a", 1, "50")), ctx(channel="app")).explanation("p").reason == (
        Reason.SEGMENT.value
    )
    assert e.price(member, ctx(channel="web")).explanation("p").reason == Reason.CHANNEL.value
    before = datetime(2026, 11, 10, 23, 59, 59, tzinfo=SHANGHAI)
    last = datetime(2026, 11, 11, 23, 59, 59, 999999, tzinfo=SHANGHAI)
    after = datetime(2026, 11, 12, 0, 0, 0, tzinfo=SHANGHAI)
    assert e.price(member, ctx(before, channel="app")).explanation("p").reason == (
        Reason.OUT_OF_WINDOW.value
    )
    assert e.price(member, ctx(last, channel="app")).discount_total == yuan("5")
    assert e.price(member, ctx(after, channel="app")).discount_total == 0


def test_funding_split_is_exact_per_adjustment_and_in_total() -> None:
    body = promo(
        "p",
        "platform",
        "300",
        "50",
        'mode = "every"\nfunded_by = { platform = "60%", merchant = "40%" }',
    )
    quote = engine(body).price(cart(line("a", 2, "200"), line("b", 1, "268")), ctx())
    assert quote.discount_total == yuan("100")
    by_funder = {f.value: v for f, v in quote.discounts_by_funder.items()}
    assert by_funder == {"platform": yuan("60"), "merchant": yuan("40")}
    for ql in quote.lines:
        for adjustment in ql.adjustments:
            assert sum(adjustment.funding.values()) == adjustment.amount
            assert adjustment.lane is Lane.PLATFORM


def test_default_funding_follows_the_lane() -> None:
    body = promo("s", "store", "100", "10") + promo("p", "platform", "100", "10")
    quote = engine(body).price(cart(line("a", 1, "200", merchant="m")), ctx())
    assert {f.value: v for f, v in quote.discounts_by_funder.items()} == {
        "merchant": yuan("10"),
        "platform": yuan("10"),
    }


def test_budget_trims_to_what_is_left_or_refuses() -> None:
    key = CounterKey(CounterKind.BUDGET, "p")
    trim = engine(promo("p", "store", "100", "30", 'budget = "1000"'))
    refuse = engine(promo("p", "store", "100", "30", 'budget = "1000"\nbudget_policy = "refuse"'))
    low = Context(at=ctx().at, availability=Snapshot({key: yuan("12.50")}))
    trimmed = trim.price(cart(line("a", 1, "200")), low)
    assert trimmed.discount_total == yuan("12.50")
    assert trimmed.explanation("p").status is Status.TRIMMED
    assert trimmed.explanation("p").reason == Reason.BUDGET_TRIMMED.value
    refused = refuse.price(cart(line("a", 1, "200")), low)
    assert refused.discount_total == 0
    assert refused.explanation("p").reason == Reason.BUDGET_EXHAUSTED.value
    assert trim.counters[0].key == key and trim.counters[0].initial == yuan("1000")
    assert trimmed.consumption == ((key, yuan("12.50")),)
    assert refused.consumption == ()


def test_a_trimmed_budget_keeps_its_split_by_largest_remainder_of_what_is_kept() -> None:
    # 10.00 off two lines of 100.00 (5.00 each), 5.01 left: the 5.01 kept is split by
    # largest remainder, the odd minor unit to the earlier line (2.51 / 2.50); splitting
    # the 4.99 taken back instead would leave 2.50 / 2.51
    key = CounterKey(CounterKind.BUDGET, "p")
    trim = engine(promo("p", "store", "100", "10", 'budget = "1000"'))
    low = Context(at=ctx().at, availability=Snapshot({key: yuan("5.01")}))
    for quote in (
        trim.price(cart(line("a", 1, "100"), line("b", 1, "100")), low),
        trim.explained(cart(line("a", 1, "100"), line("b", 1, "100")), low),
    ):
        assert [ql.discount for ql in quote.lines] == [yuan("2.51"), yuan("2.50")]
        assert quote.consumption == ((key, yuan("5.01")),)


def test_budgeted_promotions_and_funders_appear_in_the_consumption() -> None:
    header = (
        '[campaign]\nname = "T"\ncurrency = "CNY"\ntimezone = "Asia/Shanghai"\n'
        '[budgets]\nplatform = "100000"\n'
    )
    body = promo(
        "p",
        "platform",
        "300",
        "50",
        'mode = "every"\nbudget = "5000"\nfunded_by = { platform = "60%", merchant = "40%" }',
    )
    quote = engine(body, header=header).price(cart(line("a", 1, "650")), ctx())
    assert dict(quote.consumption) == {
        CounterKey(CounterKind.BUDGET, "p"): yuan("100"),
        CounterKey(CounterKind.FUNDER_BUDGET, "platform"): yuan("60"),
    }


def test_paused_promotion_is_explained() -> None:
    e = engine(promo("p", "store", "100", "30"))
    paused = Context(at=ctx().at, availability=Snapshot({}, {"p"}))
    quote = e.price(cart(line("a", 1, "200")), paused)
    assert quote.discount_total == 0
    assert quote.explanation("p").reason == Reason.PAUSED.value


def test_every_promotion_is_explained() -> None:
    body = promo("a", "store", "100", "10") + promo("b", "platform", "1000", "10")
    quote = engine(body).price(cart(line("x", 1, "150")), ctx())
    assert [e.promotion for e in quote.explanations] == ["a", "b"]
    assert quote.explanation("b").reason == Reason.BELOW_THRESHOLD.value


def test_pricing_is_pure_and_deterministic() -> None:
    e = engine(promo("p", "platform", "300", "50", 'mode = "every"'))
    c = cart(line("a", 2, "200"), line("b", 1, "268"))
    context = ctx()
    snapshot = copy.deepcopy((c, context.at, context.coupons))
    first = e.price(c, context).to_dict()
    second = e.price(c, context).to_dict()
    assert first == second
    assert (c, context.at, context.coupons) == snapshot


def test_concurrent_pricing_gives_the_same_quotes() -> None:
    e = engine(
        promo("p", "platform", "300", "50", 'mode = "every"')
        + promo("s", "store", "100", "10", 'segments = ["member"]')
    )
    carts = [
        cart(
            line(f"s{i}", i % 4 + 1, f"{100 + i}.{i % 100:02d}"),
            segments=("member",) if i % 2 else (),
        )
        for i in range(200)
    ]
    expected = [e.price(c, ctx()).to_dict() for c in carts]
    fresh = engine(
        promo("p", "platform", "300", "50", 'mode = "every"')
        + promo("s", "store", "100", "10", 'segments = ["member"]')
    )
    results: list[list[dict[str, object]]] = [[] for _ in range(4)]

    def work(slot: int) -> None:
        results[slot] = [fresh.price(c, ctx()).to_dict() for c in carts]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r == expected for r in results)


def test_cart_in_another_currency_is_refused() -> None:
    from promorules.cart import Cart
    from promorules.diagnostics import PromorulesError

    e = engine(promo("p", "store", "100", "10"))
    with pytest.raises(PromorulesError, match="USD"):
        e.price(Cart((line("a", 1, "1"),), currency="USD"), ctx())


def test_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Context(datetime(2026, 11, 11))


def test_separate_groups_resolve_separately_and_name_only_their_own_winner() -> None:
    body = (
        promo("a1", "store", "100", "10", 'group = "a"')
        + promo("a2", "store", "100", "15", 'group = "a"')
        + promo("b1", "store", "100", "20", 'group = "b"')
        + promo("b2", "store", "100", "5", 'group = "b"')
    )
    quote = engine(body).price(cart(line("x", 1, "150", merchant="m")), ctx())
    assert quote.discounts_by_promotion == {"a2": yuan("15"), "b1": yuan("20")}
    assert quote.explanation("a1").message.endswith("(a2)")
    assert quote.explanation("b2").message.endswith("(b1)")


FUNDED_HEADER = (
    '[campaign]\nname = "T"\ncurrency = "CNY"\ntimezone = "Asia/Shanghai"\n'
    '[budgets]\nplatform = "1000000"\n'
)
FUNDED = promo(
    "p",
    "platform",
    "300",
    "50",
    'mode = "every"\nfunded_by = { platform = "60%", merchant = "40%" }',
)


def test_a_funder_budget_trims_its_promotions_to_what_is_left() -> None:
    key = CounterKey(CounterKind.FUNDER_BUDGET, "platform")
    low = Context(at=ctx().at, availability=Snapshot({key: yuan("30.00")}))
    quote = engine(FUNDED, header=FUNDED_HEADER).price(cart(line("a", 1, "650")), low)
    # 100.00 off would cost the platform 60.00 with 30.00 left: 50.00 off is the most
    # whose 60% share (30.00) fits
    assert quote.discount_total == yuan("50.00")
    assert {f.value: v for f, v in quote.discounts_by_funder.items()} == {
        "platform": yuan("30.00"),
        "merchant": yuan("20.00"),
    }
    explanation = quote.explanation("p")
    assert explanation.status is Status.TRIMMED
    assert explanation.reason == Reason.BUDGET_TRIMMED.value
    assert dict(quote.consumption)[key] == yuan("30.00")


def test_a_funder_budget_can_refuse_instead() -> None:
    header = FUNDED_HEADER + '[stacking]\nfunder_budget_policy = "refuse"\n'
    key = CounterKey(CounterKind.FUNDER_BUDGET, "platform")
    low = Context(at=ctx().at, availability=Snapshot({key: yuan("30.00")}))
    quote = engine(FUNDED, header=header).price(cart(line("a", 1, "650")), low)
    assert quote.discount_total == 0
    assert quote.explanation("p").reason == Reason.BUDGET_EXHAUSTED.value
    assert quote.consumption == ()


def test_a_funder_budget_with_room_changes_nothing() -> None:
    quote = engine(FUNDED, header=FUNDED_HEADER).price(cart(line("a", 1, "650")), ctx())
    assert quote.discount_total == yuan("100.00")


def test_customers_seeing_the_same_promotions_share_one_compiled_pass() -> None:
    eng = engine(
        promo("all", "platform", "100", "10")
        + promo("vip", "platform", "100", "20", 'segments = ["vip"]')
    )
    quotes = {
        segments: eng.price(cart(line("x", 1, "150"), segments=segments), ctx())
        for segments in [(), ("new",), ("new", "north"), ("vip",)]
    }
    assert {s: q.payable for s, q in quotes.items()} == {
        (): yuan("140"),
        ("new",): yuan("140"),
        ("new", "north"): yuan("140"),
        ("vip",): yuan("120"),
    }
    assert len(eng._plans) == 4  # one activation plan per segment set
    assert len(eng._hot_paths) == 2  # but the first three see the same promotions
    paused = Context(ctx().at, availability=Snapshot({}, {"all"}))
    assert eng.price(cart(line("x", 1, "150")), paused).payable == yuan("150")
    assert len(eng._hot_paths) == 3  # the pass asking the ledger snapshot what is paused


@attrs.frozen
class FeeConfig:
    off: Amount


class FeeOff(Kind):
    """Takes an amount off the shipping fee, whether or not a line is in its scope."""

    name = "test_fee_off"
    config_type = FeeConfig
    lanes = (Lane.STORE,)
    without_lines = True

    def compile(self, promotion: Promotion, env: CompileEnv) -> Evaluator:
        off = int(promotion.config.off)

        def evaluate(state: PricingState, lines: Sequence[int]) -> Offer | NotApplied:
            return Offer(base=state.shipping, shipping_off=min(off, state.shipping))

        return evaluate


class FeePlugin:
    @hookimpl
    def promorules_register_kinds(self, register: Callable[[Kind], None]) -> None:
        register(FeeOff())


@pytest.mark.parametrize("many", [False, True])
def test_a_kind_applying_without_lines_is_looked_at_when_no_line_is_in_scope(
    many: bool,
) -> None:
    from promorules.hotpath import HOT_PATH_LIMIT
    from promorules_plugins import tiered

    # with many promotions the lane is a dispatch on those reached: the fee's is reached
    # without a line
    count = HOT_PATH_LIMIT + 1 if many else 1
    body = "".join(
        promo(f"m{i}", "store", "100", "10", f'merchants = ["m{i}"]') for i in range(count)
    )
    body += '[[promotion]]\nid = "fee"\nkind = "test_fee_off"\nskus = ["elsewhere"]\noff = "3"\n'
    eng = engine(body, plugins=[tiered, FeePlugin()])
    shopping = cart(line("a", 1, "150", merchant="m0"), shipping="8")
    quote = eng.price(shopping, ctx())
    assert quote.discounts_by_promotion == {"m0": yuan("10"), "fee": yuan("3")}
    assert quote.shipping_payable == yuan("5")
    assert quote.to_dict() == eng.explained(shopping, ctx()).to_dict()


def test_a_lane_of_many_promotions_looks_only_at_those_a_cart_reaches() -> None:
    from promorules.hotpath import HOT_PATH_LIMIT

    body = "".join(
        promo(f"m{i}", "store", "100", "10", f'merchants = ["m{i}"]')
        for i in range(HOT_PATH_LIMIT + 1)
    )
    eng = engine(body)
    shopping = cart(
        line("a", 1, "150", merchant="m3"),
        line("b", 2, "80", merchant="m3"),
        line("c", 1, "120", merchant="m99"),
    )
    quote = eng.price(shopping, ctx())
    assert quote.payable == yuan("410")  # 430, less 10 at m3 and 10 at m99
    # the lane is a dispatch: a step is written for m3 and m99 alone, the promotions reached
    written = [c.promotion.id for c in eng._compiled if c.steps]
    assert written == ["m3", "m99"]
    assert quote.to_dict() == eng.explained(shopping, ctx()).to_dict()
