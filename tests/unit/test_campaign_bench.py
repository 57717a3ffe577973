"""The campaign benchmark's workload, reference and checker (benchmarks/campaign*.py).

The full campaign is checked against the engine by ``python -m benchmarks.bench --quick``
(CI); here small hand-built campaigns pin the exclusive-group semantics the reference
follows (issue 13) with hand-worked figures, and how the checker sorts what differs.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from benchmarks import campaign_bench
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
from benchmarks.campaign_reference import (
    ENGINE_TODAY,
    ISSUE_13,
    CampaignQuote,
    _reach,
    make_campaign_pricer,
)
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


# The issue's example: a higher-priority promotion outside the group takes line A whole;
# the group's member worth 20.00 on A then gives nothing, the one worth 5.00 on B is lost.
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
# Two members worth the same: the lower priority is declared first.
TIES = _campaign(
    [Sku("c", 10000, 1000, "c01", "b001", "s1")],
    [
        _ladder("first-declared", 10, Target(merchants=frozenset({"s1"})), 5000, 500),
        _ladder("higher-priority", 20, Target(merchants=frozenset({"s1"})), 5000, 500),
    ],
)


def _check(campaign: Campaign, cart: CampaignCart) -> CampaignCheck:
    engine = Engine.from_string(campaign_toml(campaign))
    batch = [(cart, CampaignCartMaker(campaign)(cart))]
    return check_campaign(
        engine, campaign, make_campaign_pricer(campaign), {len(cart.lines): batch}
    )


def test_group_settled_on_real_totals_after_caps() -> None:
    cart = CampaignCart((("a", 1), ("b", 1)), NOON)
    quote = make_campaign_pricer(CAPS)(cart)
    # A: 20.00 - 20.00 (special) = 0; B: 50.00 - 5.00 (on-b) = 45.00; shipping 8.00
    assert quote.amounts == [0, 4500]
    assert quote.given == {0: [[0], [2000]], 2: [[1], [500]]}
    assert reference_view(quote, ["special", "on-a", "on-b"])[0] == 5300
    # today's rule keeps on-a (20.00 offered, nothing left to take): B pays 50.00
    today = make_campaign_pricer(CAPS, ENGINE_TODAY)(cart)
    assert today.amounts == [0, 5000]
    assert 2 not in today.given


def test_group_ties_go_to_priority_then_declaration() -> None:
    cart = CampaignCart((("c", 1),), NOON)
    assert make_campaign_pricer(TIES, ISSUE_13)(cart).given == {1: [[0], [500]]}
    assert make_campaign_pricer(TIES, ENGINE_TODAY)(cart).given == {0: [[0], [500]]}


@pytest.mark.parametrize(
    ("campaign", "cart", "causes"),
    [
        (CAPS, CampaignCart((("a", 1), ("b", 1)), NOON), ("caps",)),
        (TIES, CampaignCart((("c", 1),), NOON), ("ties",)),
    ],
)
def test_the_engine_now_settles_both_group_examples_as_the_reference(
    campaign: Campaign, cart: CampaignCart, causes: tuple[str, ...]
) -> None:
    # the engine follows issue 13's group semantics: the two cases that once differed
    # (by ``causes``) are identical now, and pass even under --strict-groups
    check = _check(campaign, cart)
    assert check.checked == 1
    assert causes and not check.known
    assert not check.unexplained
    assert campaign_bench.report_check(check, strict_groups=True)


def test_checker_fails_a_reference_that_differs_otherwise() -> None:
    campaign = CAPS
    cart = CampaignCart((("b", 2),), NOON)  # the group has one member here: no tie, no cap
    engine = Engine.from_string(campaign_toml(campaign))
    honest = make_campaign_pricer(campaign)

    def off_by_one(c: CampaignCart) -> CampaignQuote:
        quote = honest(c)
        quote.amounts[0] += 1
        return quote

    batch = {2: [(cart, CampaignCartMaker(campaign)(cart))]}
    assert not check_campaign(engine, campaign, honest, batch).disagreements
    check = check_campaign(engine, campaign, off_by_one, batch)
    assert len(check.unexplained) == 1
    assert "UNEXPLAINED" in check.unexplained[0].describe()
    assert not campaign_bench.report_check(check, strict_groups=False)


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
    assert not check.unexplained


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
