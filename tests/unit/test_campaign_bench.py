"""The campaign benchmark's workload, reference and checker (benchmarks/campaign*.py).

The full campaign is checked against the engine by ``python -m benchmarks.bench --quick``
(CI); here small hand-built campaigns pin the exclusive-group semantics the reference
follows (issue 13, docs/rulesets.md) with hand-worked figures, and the checker is shown
to stop the run on any difference, however small.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from benchmarks import bench, campaign_bench
from benchmarks.campaign import (
    DAY,
    Campaign,
    CampaignCart,
    Promo,
    Target,
    build_campaign,
    campaign_carts,
)
from benchmarks.campaign_check import CampaignCheck, check_campaign, reference_view
from benchmarks.campaign_reference import CampaignQuote, _reach, make_campaign_pricer
from benchmarks.campaign_ruleset import CampaignCartMaker, campaign_toml
from benchmarks.workload import Sku
from promorules.engine import Engine

NOON = DAY.replace(hour=12)


def _campaign(skus: list[Sku], promotions: list[Promo]) -> Campaign:
    return Campaign(
        0,
        {s.sku: s for s in skus},
        tuple(promotions),
        {"s1": tuple(s.sku for s in skus)},
        {},
        (),
    )


def _ladder(pid: str, priority: int, target: Target, threshold: int, off: int) -> Promo:
    return Promo(
        pid,
        "tiered",
        "store",
        priority,
        target,
        group="best",
        config={"mode": "ladder", "tiers": ((threshold, off),)},
    )


# The example: a higher-priority promotion outside the group takes line A whole;
# the group's member worth 10.00 on A then gives nothing, the one worth 5.00 on B must win.
CAPS = _campaign(
    [Sku("a", 2000, 0, "c01", "b001", "s1"), Sku("b", 5000, 1000, "c01", "b001", "s1")],
    [
        Promo(
            "special",
            "discount",
            "store",
            60,
            Target(skus=frozenset({"a"})),
            config={"off_each": 2000},
        ),
        _ladder("on-a", 30, Target(skus=frozenset({"a"})), 1500, 1000),
        _ladder("on-b", 30, Target(skus=frozenset({"b"})), 1500, 500),
    ],
)
CAPS_CART = CampaignCart((("a", 1), ("b", 1)), NOON)
# Two members worth the same: the lower priority is declared first.
TIES = _campaign(
    [Sku("c", 10000, 1000, "c01", "b001", "s1")],
    [
        _ladder("first-declared", 10, Target(merchants=frozenset({"s1"})), 5000, 500),
        _ladder("higher-priority", 20, Target(merchants=frozenset({"s1"})), 5000, 500),
    ],
)
TIES_CART = CampaignCart((("c", 1),), NOON)


def _check(
    campaign: Campaign,
    cart: CampaignCart,
    reference: Callable[[CampaignCart], CampaignQuote] | None = None,
) -> CampaignCheck:
    engine = Engine.from_string(campaign_toml(campaign))
    batch = [(cart, CampaignCartMaker(campaign)(cart))]
    pricer = reference or make_campaign_pricer(campaign)
    return check_campaign(engine, campaign, pricer, {len(cart.lines): batch})


def test_group_settled_on_real_totals_after_caps() -> None:
    quote = make_campaign_pricer(CAPS)(CAPS_CART)
    # A: 20.00 - 20.00 (special, priority 60, applied first) = 0, so on-a (10.00 offered)
    # is worth 0.00 there; on-b is worth 5.00 and wins: B: 50.00 - 5.00 = 45.00
    assert quote.amounts == [0, 4500]
    assert quote.given == {0: [[0], [2000]], 2: [[1], [500]]}
    assert quote.trims == {}
    # payable with the 8.00 shipping fee
    assert reference_view(quote, ["special", "on-a", "on-b"])[0] == 5300


def test_group_ties_go_to_priority_then_declaration() -> None:
    # equal worth (5.00 each on 100.00): the higher priority wins, though declared second
    assert make_campaign_pricer(TIES)(TIES_CART).given == {1: [[0], [500]]}
    # equal worth and equal priority: the earlier declared
    even = _campaign(
        list(TIES.catalogue.values()),
        [
            _ladder("first-declared", 10, Target(merchants=frozenset({"s1"})), 5000, 500),
            _ladder("second-declared", 10, Target(merchants=frozenset({"s1"})), 5000, 500),
        ],
    )
    assert make_campaign_pricer(even)(TIES_CART).given == {0: [[0], [500]]}


@pytest.mark.parametrize(("campaign", "cart"), [(CAPS, CAPS_CART), (TIES, TIES_CART)])
def test_the_engine_settles_both_group_examples_as_the_reference(
    campaign: Campaign, cart: CampaignCart
) -> None:
    check = _check(campaign, cart)
    assert check.checked == 1
    assert check.disagreements == []
    assert campaign_bench.report_check(check)


def _payable_off_by_one(quote: CampaignQuote) -> None:
    quote.amounts[0] += 1


def _tie_to_declaration(quote: CampaignQuote) -> None:
    # the rule the engine followed before issue 13: the tie credited to the first declared
    quote.given[0] = quote.given.pop(1)


def _winner_before_caps(quote: CampaignQuote) -> None:
    # the rule the engine followed before issue 13: on-a kept (10.00 offered, 0.00 left to
    # take), on-b dropped, B pays 50.00
    quote.amounts[1] += quote.given.pop(2)[1][0]


WRONG = {
    "payable": (CAPS, CampaignCart((("b", 2),), NOON), _payable_off_by_one, "line payables"),
    "tie": (TIES, TIES_CART, _tie_to_declaration, "line adjustments"),
    "caps": (CAPS, CAPS_CART, _winner_before_caps, "payable"),
}


def _wrong(
    campaign: Campaign, spoil: Callable[[CampaignQuote], None]
) -> Callable[[CampaignCart], CampaignQuote]:
    honest = make_campaign_pricer(campaign)

    def wrong(cart: CampaignCart) -> CampaignQuote:
        quote = honest(cart)
        spoil(quote)
        return quote

    return wrong


@pytest.mark.parametrize("case", list(WRONG))
def test_checker_fails_loudly_on_any_difference(
    case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # a deliberately wrong reference fails the check, whatever differs: a cent off a line,
    # or an exclusive group settled as the engine did before issue 13 (a tie credited to
    # the earlier declared: same payable; the winner chosen before caps: B pays 5.00 more)
    campaign, cart, spoil, field = WRONG[case]
    assert _check(campaign, cart).disagreements == []  # the honest reference agrees
    check = _check(campaign, cart, _wrong(campaign, spoil))
    assert len(check.disagreements) == 1
    assert not campaign_bench.report_check(check)
    out = capsys.readouterr().out
    assert "0 of 1 carts identical; 1 differ" in out
    assert f"DISAGREE ({len(cart.lines)} lines)" in out
    assert f"  {field}:\n    engine " in out
    assert "1 campaign carts disagree: engine and reference differ; no timing." in out


def _not_timed(*args: object, **kwargs: object) -> object:
    raise AssertionError("timed although the campaign check failed")


@pytest.mark.parametrize("entry", ["bench", "campaign_bench"])
def test_a_campaign_difference_stops_the_benchmark_before_timing(
    entry: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = Engine.from_string(campaign_toml(TIES))
    wrong = _wrong(TIES, _tie_to_declaration)
    loaded = campaign_bench.Loaded(TIES, engine, wrong, [0.0], [0.0])
    batch = [(TIES_CART, CampaignCartMaker(TIES)(TIES_CART))]
    monkeypatch.setattr(campaign_bench, "load", lambda seed, runs: loaded)
    monkeypatch.setattr(campaign_bench, "batches", lambda loaded, counts, seed: {1: batch})
    monkeypatch.setattr(campaign_bench, "timed", _not_timed)
    monkeypatch.setattr(bench, "interleaved", _not_timed)
    main = bench.main if entry == "bench" else campaign_bench.main
    assert main(["--quick"]) == 1
    out = capsys.readouterr().out
    assert "DISAGREE (1 lines)" in out
    assert "1 campaign carts disagree: engine and reference differ; no timing." in out
    if entry == "bench":  # the bundled workload was checked, and agreed, first
        assert "engine and reference give identical quotes on all 320 carts" in out


@pytest.mark.parametrize("entry", [bench.main, campaign_bench.main])
def test_the_strict_groups_flag_is_gone(entry: Callable[[list[str]], int]) -> None:
    # every difference fails now; the flag that made group differences fail is refused
    with pytest.raises(SystemExit) as exited:
        entry(["--strict-groups"])
    assert exited.value.code == 2


def test_timing_keeps_each_repeats_ratio(monkeypatch: pytest.MonkeyPatch) -> None:
    # engine and reference alternate within each repeat; these passes' microseconds make
    # the per-repeat ratios 2.0, 3.0 and 1.0, which no ratio of medians (10 / 8) gives
    passes = iter([10.0, 5.0, 30.0, 10.0, 8.0, 8.0])
    monkeypatch.setattr(campaign_bench, "time_pass", lambda price, items: next(passes))
    engine = Engine.from_string(campaign_toml(TIES))
    loaded = campaign_bench.Loaded(TIES, engine, make_campaign_pricer(TIES), [0.0], [0.0])
    batch = [(TIES_CART, CampaignCartMaker(TIES)(TIES_CART))]
    timing = campaign_bench.timed(loaded, batch, 3)
    assert timing == (10.0, 8.0, [2.0, 3.0, 1.0])
    assert timing.ratio == 2.0
    assert campaign_bench.spread(timing.ratios) == "1.00-3.00"
    assert bench.repeat_ratios([10.0, 30.0, 8.0], [5.0, 10.0, 8.0]) == [2.0, 3.0, 1.0]


@pytest.fixture(scope="module")
def campaign() -> Campaign:
    return build_campaign()


def test_campaign_is_seeded_and_shaped_like_a_double_11(campaign: Campaign) -> None:
    assert build_campaign().promotions == campaign.promotions
    promotions = campaign.promotions
    assert len(campaign.catalogue) == 20_000
    assert 950 <= len(promotions) <= 1050
    targeted = [p for p in promotions if not p.target.everywhere or p.kind == "flash_sale"]
    assert len(targeted) / len(promotions) > 0.95
    kinds = {p.kind for p in promotions}
    assert kinds == {
        "flash_sale",
        "member_price",
        "discount",
        "bxgy",
        "bundle",
        "tiered",
        "coupon",
        "gift",
        "free_shipping",
    }
    declared = {p.group for p in promotions if p.group is not None}
    assert len(declared) >= 10
    store_coupon_groups = {
        p.implicit_group() for p in promotions if p.kind == "coupon" and p.lane == "store"
    }
    assert len(store_coupon_groups) == 100
    assert sum(len(p.not_with) for p in promotions) >= 3
    first = list(campaign_carts(campaign, 10, 20))
    assert first == list(campaign_carts(campaign, 10, 20))
    assert all(len(c.lines) == len({sku for sku, _ in c.lines}) == 10 for c in first)


def test_reference_reach_is_every_sku_a_promotion_targets(campaign: Campaign) -> None:
    reach = _reach(campaign)
    skus = list(campaign.catalogue.values())
    several = [
        n
        for n, p in enumerate(campaign.promotions)
        if sum(
            bool(d)
            for d in (p.target.skus, p.target.categories, p.target.brands, p.target.merchants)
        )
        > 1
    ]
    assert several  # the store category percent-offs: categories and merchants
    for n in sorted({*several[:10], *range(0, len(reach), 37)}):
        p, found = campaign.promotions[n], reach[n]
        if p.kind == "flash_sale":
            assert found == sorted(p.config["prices"])
        elif p.target.everywhere:
            assert found is None
        else:
            assert found is not None
            assert sorted(found) == sorted(s.sku for s in skus if p.target.reaches(s))


def test_campaign_toml_loads(campaign: Campaign) -> None:
    # small enough to load fast: the promotions of three stores and the platform lane
    stores = {"s001", "s002", "s003"}
    kept = [
        p
        for p in campaign.promotions
        if p.lane in ("price", "platform") or p.target.merchants & stores
    ]
    names = {p.id for p in kept}
    kept = [
        Promo(
            p.id,
            p.kind,
            p.lane,
            p.priority,
            p.target,
            p.group,
            tuple(n for n in p.not_with if n in names),
            p.config,
        )
        for p in kept
    ]
    small = Campaign(0, campaign.catalogue, tuple(kept), campaign.store_skus, {}, ())
    engine = Engine.from_string(campaign_toml(small))
    assert [p.id for p in engine.ruleset.promotions] == [p.id for p in kept]
    cart = CampaignCart(
        tuple((sku, 1) for sku in campaign.store_skus["s001"][:5]),
        datetime(2026, 11, 11, 0, 30, tzinfo=DAY.tzinfo),
    )
    check = check_campaign(
        engine, small, make_campaign_pricer(small), {5: [(cart, CampaignCartMaker(small)(cart))]}
    )
    assert check.checked == 1
    assert check.disagreements == []


def test_reference_allocate_is_the_engines() -> None:
    from random import Random

    from benchmarks.campaign_reference import allocate
    from promorules.money import allocate as engine_allocate

    rng = Random(13)
    for _ in range(2000):
        weights = [rng.choice((0, 1, 7, rng.randint(1, 10**6))) for _ in range(rng.randint(1, 6))]
        if not sum(weights):
            weights[0] = 1
        total = rng.randint(0, sum(weights))
        assert allocate(total, weights) == engine_allocate(total, weights), (total, weights)
