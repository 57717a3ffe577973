"""The campaign workload: a Double 11 ruleset of about 1,000 promotions over 20,000 skus.

Where :mod:`benchmarks.workload` has one promotion of each kind, this module builds what a
platform's big promotion actually looks like: 200 stores with their own ladders and
coupons, hundreds of brand days, hourly flash sales, member prices, category reductions
across stores, platform coupons, gifts, a few buy-X-get-Y and bundles, exclusive groups
(best-of ladders, one coupon per store and per order) and a few ``not_with`` pairs. Most
promotions target skus, brands, merchants or categories, so a cart reaches a few dozen of
them, not all. Everything comes from one seed with :class:`random.Random`: the standard
library alone, like :mod:`benchmarks.workload`.

Money is in integer minor units of CNY (2 decimals).

The promotions, lane by lane (priority: higher applies first in its lane):

- price lane: 24 hourly flash sales on 11.11 (40 skus each, 30% to 50% off; priority
  100) and 20 member prices (5% to 10% off list for 10 brands each, segment ``member``;
  2 of them 12% for segment ``vip``, priority 95; the rest 90);
- item lane: 100 "amount off each unit" cuts on 5 to 20 skus (priority 70 to 79), 4
  buy-2-get-1 on a category (65), 300 brand days (5% to 20% off, priority 40 to 59), 20
  category percent-offs within one store (30 to 39) and 4 "3 for X" bundles on 20 cheap
  skus (20);
- store lane: 20 store specials (an amount off each unit of 3 to 8 cheap skus; 60), a
  ladder for each of the 200 stores (priority 30 or 31), of which 60 also have an
  "every 200 off 20, at most 100" in an exclusive group with their ladder (the best of
  the two for the customer; the other priority of 30 and 31), 10 brand gifts above 300.00
  (25) and 2 coupons for each of 100 stores (codes, thresholds, priority 10 to 14 drawn
  apart from their declaration order; one coupon per store by the kind's implicit group);
- platform lane: 10 cross-store category reductions ("every 200 off 20", 50 to 59), the
  cross-store reduction: "every 300 off 50, at most 500" in a group with a ladder (1,000
  off 150 / 2,000 off 320 / 5,000 off 900) (40 and 41), 6 platform coupons (one per order:
  threshold ones, a no-threshold one, 10% at most 100, one on a category; 20 to 25), a
  gift above 599 (5) and free shipping above 99 (1);
- ``not_with``: the 10% platform coupon with the flash sales of 00:00 and 01:00, a brand
  day with the cross-store every-300-off-50, a store special with one flash sale, a
  member price with a store's coupon;
- guardrail: no line below cost, the order at a 5% margin (gift costs included), clamp.

Every group's members sit next to each other in their lane's application order among the
promotions that can reach the same lines, so "where in the lane a group is settled" has
one answer (see :mod:`benchmarks.campaign_reference`).

Carts of 1, 10 and 100 lines: skus from 1, 2 to 4, or 5 to 15 stores (a customer fills a
cart in a few shops), quantity 1 (70%), 2 (20%) or 3; the hour of 11.11 drawn with the
explosion's first two hours and the evening peak most likely; 40% of carts hold
(a tenth of their lines, at least one) skus of the flash sale live at that hour, 15% of
carts of 10 or 100 lines three skus of one bundle; each of the cart's stores'
coupons presented by 30% of customers, each platform coupon by 25%; 30% of customers are
members, 5% members and VIPs; a flat 8.00 shipping fee.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from benchmarks.workload import CURRENCY, SHANGHAI, Sku

CAMPAIGN_SEED = 20261111
SKUS = 20_000
STORES = 200
BRANDS = 600
CATEGORIES = tuple(f"c{i:02d}" for i in range(1, 41))
MEMBER, VIP = "member", "vip"
SHIPPING_FEE = 800
DAY = datetime(2026, 11, 11, tzinfo=SHANGHAI)


@dataclass(frozen=True, slots=True)
class Target:
    """The lines a promotion reaches: every declared dimension must match (any value
    within one); nothing declared reaches every line."""

    skus: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    brands: frozenset[str] = frozenset()
    merchants: frozenset[str] = frozenset()

    def reaches(self, sku: Sku) -> bool:
        return (
            (not self.skus or sku.sku in self.skus)
            and (not self.categories or sku.category in self.categories)
            and (not self.brands or sku.brand in self.brands)
            and (not self.merchants or sku.merchant in self.merchants)
        )

    @property
    def everywhere(self) -> bool:
        return not (self.skus or self.categories or self.brands or self.merchants)


EVERYWHERE = Target()


@dataclass(frozen=True, slots=True)
class Promo:
    """One promotion: the fields every kind has, and its kind's own below.

    ``kind`` is promorules' kind name; ``config`` its own keys in minor units (amounts)
    and whole percents, as :mod:`benchmarks.campaign_reference` reads them:

    - ``flash_sale``: ``hour`` (the window, one hour of 11.11), ``prices`` (sku -> price);
    - ``member_price``: ``percent``, ``segment``;
    - ``discount``: ``percent`` or ``off_each``;
    - ``bxgy``: ``buy``, ``get``; ``bundle``: ``quantity``, ``price``;
    - ``tiered``: ``mode`` (``ladder``: ``tiers`` as (threshold, off) ascending; ``every``:
      ``step``, ``off``, ``cap``), pooled over its lines (one store, or cross-store);
    - ``coupon``: ``code``, ``threshold`` (0: none), ``off`` or ``percent`` with ``cap``;
    - ``gift``: ``threshold``, ``sku``, ``cost``; ``free_shipping``: ``threshold``.
    """

    id: str
    kind: str
    lane: str
    priority: int
    target: Target = EVERYWHERE
    group: str | None = None
    not_with: tuple[str, ...] = ()
    config: dict[str, Any] = field(default_factory=dict)

    def implicit_group(self) -> str | None:
        """The exclusive group the engine puts it in: declared, or a coupon's implicit one
        (one store coupon per set of merchants, one platform coupon per order)."""
        if self.group is not None:
            return self.group
        if self.kind != "coupon":
            return None
        if self.lane == "store":
            return "coupon:store:" + ",".join(sorted(self.target.merchants))
        return f"coupon:{self.lane}"


@dataclass(frozen=True, slots=True)
class Campaign:
    """The catalogue and the promotions (in declaration order) built from one seed."""

    seed: int
    catalogue: dict[str, Sku]
    promotions: tuple[Promo, ...]
    store_skus: dict[str, tuple[str, ...]]
    """Each store's skus, for drawing carts."""
    store_codes: dict[str, tuple[str, ...]]
    """The coupon codes of each store that has coupons."""
    platform_codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CampaignCart:
    """A cart to price: distinct skus with quantities, the instant, the codes presented,
    the customer's segments and the shipping fee."""

    lines: tuple[tuple[str, int], ...]
    at: datetime
    codes: tuple[str, ...] = ()
    segments: frozenset[str] = frozenset()
    shipping: int = SHIPPING_FEE


def _price(rng: random.Random, low: float, high: float) -> int:
    """Log-uniform list prices ending in .90, as shops price."""
    return int(math.exp(rng.uniform(math.log(low), math.log(high)))) * 100 - 10


def _catalogue(
    rng: random.Random,
) -> tuple[dict[str, Sku], dict[str, tuple[str, ...]], list[str], list[str]]:
    merchants = [f"s{i:03d}" for i in range(1, STORES + 1)]
    brands = [f"b{i:03d}" for i in range(1, BRANDS + 1)]
    # a store sells a few brands in a couple of categories; a brand may sell in several
    store_brands = {m: rng.sample(brands, 3) for m in merchants}
    store_categories = {m: rng.sample(CATEGORIES, 2) for m in merchants}
    catalogue: dict[str, Sku] = {}
    by_store: dict[str, list[str]] = {m: [] for m in merchants}
    for i in range(1, SKUS + 1):
        merchant = rng.choice(merchants)
        price = _price(rng, 10, 2000)
        cost = price - price * rng.randint(1500, 6000) // 10000
        sku = f"k{i:05d}"
        catalogue[sku] = Sku(
            sku,
            price,
            cost,
            rng.choice(store_categories[merchant]),
            rng.choice(store_brands[merchant]),
            merchant,
        )
        by_store[merchant].append(sku)
    return catalogue, {m: tuple(s) for m, s in by_store.items()}, merchants, brands


def _percent_price(price: int, percent: int) -> int:
    return price - price * percent // 100


def build_campaign(seed: int = CAMPAIGN_SEED) -> Campaign:
    """The catalogue and promotions for ``seed``; the same seed always gives the same."""
    rng = random.Random(f"{seed}:campaign")
    catalogue, store_skus, merchants, brands = _catalogue(rng)
    skus = sorted(catalogue)
    cheap = [s for s in skus if catalogue[s].price <= 3000]
    promos: list[Promo] = []

    # -- price lane ------------------------------------------------------------------
    flash_ids = []
    for hour in range(24):
        chosen = sorted(rng.sample(skus, 40))
        prices = {s: _percent_price(catalogue[s].price, rng.randint(30, 50)) for s in chosen}
        flash_ids.append(f"flash-{hour:02d}")
        promos.append(
            Promo(
                flash_ids[-1], "flash_sale", "price", 100, config={"hour": hour, "prices": prices}
            )
        )
    member_ids = []
    for n in range(20):
        vip = n < 2
        member_ids.append(f"member-{n:02d}")
        promos.append(
            Promo(
                member_ids[-1],
                "member_price",
                "price",
                95 if vip else 90,
                Target(brands=frozenset(rng.sample(brands, 10))),
                config={
                    "percent": 12 if vip else rng.randint(5, 10),
                    "segment": VIP if vip else MEMBER,
                },
            )
        )

    # -- item lane -------------------------------------------------------------------
    for n in range(100):
        promos.append(
            Promo(
                f"cut-{n:03d}",
                "discount",
                "item",
                70 + n % 10,
                Target(skus=frozenset(rng.sample(skus, rng.randint(5, 20)))),
                config={"off_each": rng.choice((500, 1000, 2000, 3000))},
            )
        )
    b2g1_categories = rng.sample(CATEGORIES, 4)
    for category in b2g1_categories:
        promos.append(
            Promo(
                f"b2g1-{category}",
                "bxgy",
                "item",
                65,
                Target(categories=frozenset({category})),
                config={"buy": 2, "get": 1},
            )
        )
    brand_days = rng.sample(brands, 300)
    brand_day_ids = []
    for n, brand in enumerate(brand_days):
        brand_day_ids.append(f"brand-day-{brand}")
        promos.append(
            Promo(
                brand_day_ids[-1],
                "discount",
                "item",
                40 + n % 20,
                Target(brands=frozenset({brand})),
                config={"percent": rng.randint(5, 20)},
            )
        )
    for n, merchant in enumerate(rng.sample(merchants, 20)):
        category = catalogue[store_skus[merchant][0]].category
        promos.append(
            Promo(
                f"cat-off-{merchant}-{category}",
                "discount",
                "item",
                30 + n % 10,
                Target(categories=frozenset({category}), merchants=frozenset({merchant})),
                config={"percent": rng.randint(5, 15)},
            )
        )
    for n in range(4):
        bundle_skus = frozenset(rng.sample([s for s in cheap if catalogue[s].price >= 1500], 20))
        promos.append(
            Promo(
                f"bundle-{n}",
                "bundle",
                "item",
                20,
                Target(skus=bundle_skus),
                config={"quantity": 3, "price": rng.choice((3990, 4990, 5990))},
            )
        )

    # -- store lane ------------------------------------------------------------------
    special_ids = []
    for n in range(20):
        chosen = rng.sample(cheap, rng.randint(3, 8))
        if n == 0:  # some of flash-00's skus, for its not_with pair below
            flash_skus = sorted(promos[0].config["prices"])
            chosen = chosen[:3] + flash_skus[:5]
        special_ids.append(f"special-{n:02d}")
        promos.append(
            Promo(
                special_ids[-1],
                "discount",
                "store",
                60,
                Target(skus=frozenset(chosen)),
                config={"off_each": rng.choice((500, 1000, 1500))},
            )
        )
    ladders = (
        ((30000, 3000), (50000, 6000), (100000, 15000)),
        ((20000, 2000), (40000, 5000)),
        ((15000, 1500), (30000, 4000), (60000, 10000)),
    )
    best_of = set(rng.sample(merchants, 60))
    for merchant in merchants:
        target = Target(merchants=frozenset({merchant}))
        if merchant not in best_of:
            promos.append(
                Promo(
                    f"ladder-{merchant}",
                    "tiered",
                    "store",
                    30,
                    target,
                    config={"mode": "ladder", "tiers": rng.choice(ladders)},
                )
            )
            continue
        # which of the two the planner ranks higher, and which is written first, vary
        ladder_first = rng.random() < 0.5
        ladder_priority = rng.choice((30, 31))
        both = [
            Promo(
                f"ladder-{merchant}",
                "tiered",
                "store",
                ladder_priority,
                target,
                group=f"best-of-{merchant}",
                config={"mode": "ladder", "tiers": ladders[0]},
            ),
            Promo(
                f"every-{merchant}",
                "tiered",
                "store",
                61 - ladder_priority,
                target,
                group=f"best-of-{merchant}",
                config={"mode": "every", "step": 20000, "off": 2000, "cap": 10000},
            ),
        ]
        promos.extend(both if ladder_first else both[::-1])
    for brand in rng.sample(brand_days, 10):
        promos.append(
            Promo(
                f"gift-{brand}",
                "gift",
                "store",
                25,
                Target(brands=frozenset({brand})),
                config={
                    "threshold": 30000,
                    "sku": f"gift-{brand}",
                    "cost": rng.choice((800, 1500)),
                },
            )
        )
    coupon_faces = ((9900, 1000), (19900, 2000), (29900, 3000), (4900, 500), (14900, 2000))
    store_codes: dict[str, tuple[str, ...]] = {}
    for merchant in rng.sample(merchants, 100):
        codes = []
        for k in range(2):
            threshold, off = rng.choice(coupon_faces)
            code = f"{merchant.upper()}C{k}"
            codes.append(code)
            promos.append(
                Promo(
                    f"coupon-{merchant}-{k}",
                    "coupon",
                    "store",
                    rng.randint(10, 14),
                    Target(merchants=frozenset({merchant})),
                    config={"code": code, "threshold": threshold, "off": off},
                )
            )
        store_codes[merchant] = tuple(codes)

    # -- platform lane ---------------------------------------------------------------
    for n, category in enumerate(rng.sample(CATEGORIES, 10)):
        promos.append(
            Promo(
                f"cross-{category}",
                "tiered",
                "platform",
                50 + n,
                Target(categories=frozenset({category})),
                config={"mode": "every", "step": 20000, "off": 2000, "cap": 0},
            )
        )
    promos.append(
        Promo(
            "every-300-off-50",
            "tiered",
            "platform",
            40,
            group="cross-store",
            config={"mode": "every", "step": 30000, "off": 5000, "cap": 50000},
        )
    )
    promos.append(
        Promo(
            "ladder-1000",
            "tiered",
            "platform",
            41,
            group="cross-store",
            config={"mode": "ladder", "tiers": ((100000, 15000), (200000, 32000), (500000, 90000))},
        )
    )
    platform_coupons = (
        ("plat-99-10", 9900, {"off": 1000}),
        ("plat-299-40", 29900, {"off": 4000}),
        ("plat-599-80", 59900, {"off": 8000}),
        ("plat-5", 0, {"off": 500}),
        ("plat-10pct", 0, {"percent": 10, "cap": 10000}),
    )
    platform_codes = []
    for pid, threshold, reward in platform_coupons:
        code = pid.upper().replace("-", "")
        platform_codes.append(code)
        promos.append(
            Promo(
                pid,
                "coupon",
                "platform",
                rng.randint(20, 25),
                not_with=("flash-00", "flash-01") if pid == "plat-10pct" else (),
                config={"code": code, "threshold": threshold, **reward},
            )
        )
    category = rng.choice(CATEGORIES)
    platform_codes.append(f"PLAT{category.upper()}")
    promos.append(
        Promo(
            f"plat-{category}",
            "coupon",
            "platform",
            rng.randint(20, 25),
            Target(categories=frozenset({category})),
            config={"code": platform_codes[-1], "threshold": 19900, "off": 3000},
        )
    )
    promos.append(
        Promo(
            "gift-599",
            "gift",
            "platform",
            5,
            config={"threshold": 59900, "sku": "gift-599", "cost": 1500},
        )
    )
    promos.append(
        Promo("free-shipping-99", "free_shipping", "platform", 1, config={"threshold": 9900})
    )

    # -- not_with pairs, declared on either side (the engine reads them both ways) ------
    by_id = {p.id: n for n, p in enumerate(promos)}

    def pair(pid: str, partner: str) -> None:
        n = by_id[pid]
        p = promos[n]
        promos[n] = Promo(
            p.id, p.kind, p.lane, p.priority, p.target, p.group, (*p.not_with, partner), p.config
        )

    pair(brand_day_ids[0], "every-300-off-50")
    pair(special_ids[0], flash_ids[0])
    # a store with coupons that sells a brand of member-02's
    member_brands = promos[by_id[member_ids[2]]].target.brands
    sells = [
        m
        for m in sorted(store_codes)
        if any(catalogue[s].brand in member_brands for s in store_skus[m])
    ]
    coupon_merchant = sells[0] if sells else sorted(store_codes)[0]  # some seeds: none
    pair(member_ids[2], f"coupon-{coupon_merchant}-0")
    return Campaign(seed, catalogue, tuple(promos), store_skus, store_codes, tuple(platform_codes))


HOURS = tuple(range(24))
HOUR_WEIGHTS = tuple(8 if h in (0, 1) else 4 if h in (20, 21) else 1 for h in HOURS)


def campaign_carts(
    campaign: Campaign, n_lines: int, count: int, seed: int = CAMPAIGN_SEED
) -> Iterator[CampaignCart]:
    """``count`` carts of ``n_lines`` distinct skus (see the module docstring)."""
    rng = random.Random(f"{seed}:campaign-carts:{n_lines}")
    stores = sorted(campaign.store_skus)
    if n_lines == 1:
        spread = (1, 1)
    elif n_lines <= 10:
        spread = (2, 4)
    else:
        spread = (5, 15)
    flash_by_hour = {
        int(p.config["hour"]): sorted(p.config["prices"])
        for p in campaign.promotions
        if p.kind == "flash_sale"
    }
    bundles = [sorted(p.target.skus) for p in campaign.promotions if p.kind == "bundle"]
    for _ in range(count):
        shops = rng.sample(stores, rng.randint(*spread))
        pool = sorted({s for shop in shops for s in campaign.store_skus[shop]})
        chosen = rng.sample(pool, min(n_lines, len(pool)))
        hour = rng.choices(HOURS, HOUR_WEIGHTS)[0]
        at = DAY + timedelta(hours=hour, minutes=rng.randint(0, 59))
        # customers come for the flash sale live at the time, and for bundles
        extra: list[str] = []
        if rng.random() < 0.4:
            extra += rng.sample(flash_by_hour[hour], max(1, n_lines // 10))
        if n_lines >= 3 and rng.random() < 0.15:
            extra += rng.sample(rng.choice(bundles), 3)
        extra = [s for s in dict.fromkeys(extra) if s not in chosen][:n_lines]
        if extra:
            chosen[-len(extra) :] = extra
        lines = tuple((sku, rng.choices((1, 2, 3), (70, 20, 10))[0]) for sku in chosen)
        codes = [
            code
            for shop in shops
            for code in campaign.store_codes.get(shop, ())
            if rng.random() < 0.3
        ]
        codes += [code for code in campaign.platform_codes if rng.random() < 0.25]
        draw = rng.random()
        segments = (
            frozenset({MEMBER, VIP})
            if draw < 0.05
            else frozenset({MEMBER})
            if draw < 0.35
            else frozenset()
        )
        yield CampaignCart(lines, at, tuple(codes), segments)


__all__ = [
    "CURRENCY",
    "Campaign",
    "CampaignCart",
    "Promo",
    "Target",
    "build_campaign",
    "campaign_carts",
]
