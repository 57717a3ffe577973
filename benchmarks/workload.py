"""The seeded benchmark workload: a catalogue, a Double 11 ruleset and carts, as plain data.

Everything here is built from one seed (default 20261111) with :class:`random.Random`, so two
runs, two machines and two engines see exactly the same catalogue, promotions and carts. The
module depends on nothing but the standard library: it is the neutral ground that promorules
(``benchmarks/ruleset.py`` writes it as a TOML ruleset), the hand-written reference
(``benchmarks/reference.py``) and the GoRules zen-engine baseline
(``benchmarks/zen_baseline.py``) each translate into their own form.

Money is in integer minor units of CNY (2 decimals): ``12990`` is 129.90 yuan.

The ruleset (20 promotions, every kind promorules ships except the deposit pre-sale):

- price lane: a flash sale on 50 skus (30% to 50% off, 00:00 to 02:00 on 11 November) and a
  5% member price on two categories for customers of segment ``member``;
- item lane: a buy-2-get-1 on one category, five category percent-offs (5% to 15%, one of
  them on the buy-2-get-1's category) and a "3 for 99.00" bundle on 30 cheap skus;
- store lane: spend-X-get-Y-off ladders for merchants ``m1`` to ``m5`` and two threshold
  store coupons (``m1``: 200 off 30, ``m2``: 150 off 20);
- platform lane: a cross-store "every 300 off 50" capped at 500, a platform coupon (10%
  capped at 100), a gift (cost 15.00) above 599 and free shipping above 99;
- a guardrail: no line below cost, the order at a 5% margin (gift cost included), clamp.

Pricing semantics
=================

promorules' engine is the specification (:mod:`promorules.engine`,
:mod:`promorules.guardrail` and the kinds in ``plugins/promorules_plugins``); the reference
pricer computes exactly the same quotes. In short, for this ruleset:

1. **Price lane.** Each unit pays the lowest price offered for it: list, flash (inside the
   window, for a flash sku) or member (members, member categories: list less
   ``floor(list * 5 / 100)``); on a tie the promotion of higher priority takes the line.
2. **Lanes** ``item -> store -> platform`` each measure on the line amounts left by the lanes
   before (the lane-start amounts); every promotion of a lane measures on that same base.
   The offers are then applied by priority, higher first, each line capped at what is left
   of it (nothing goes below zero, an excess is never moved to another line).
3. A discount on several lines (a ladder, a coupon, the repeating reduction, a bundle) is
   spread over them in proportion to their **lane-start** amounts by largest remainder (ties
   to the earlier line). Percentages round down per line.
4. Buy-2-get-1 pools the units of its category across lines: for every 3 units the cheapest
   one is free. The bundle groups the dearest units of its skus 3 at a time while a group
   costs more than 99.00, and spreads the saving over the bundled amounts of each line.
5. Gift and free shipping test their threshold on the platform lane's base. Shipping is a flat
   fee per cart and is left out of margins.
6. **Clamp.** Line floors first (a line below cost), then the order floor (payable at least
   ``ceil(cost * 20 / 19)``, gift cost included). Discounts are taken back from the promotion
   of lowest priority first (ties: the later lane, then the later declaration), the price
   lane included; a promotion's take on several lines is spread over its adjustments by
   largest remainder. The gift is dropped first only if even list prices could not hold the
   order floor with its cost.

The flash sale has no stock or per-customer limit here (those are ledger counters, which a
pricing benchmark leaves out).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

DEFAULT_SEED = 20261111
CURRENCY = "CNY"
SHANGHAI = ZoneInfo("Asia/Shanghai")

CATEGORIES: tuple[str, ...] = (
    "apparel",
    "beauty",
    "digital",
    "grocery",
    "home",
    "baby",
    "sports",
    "books",
    "pets",
    "appliances",
)
MERCHANTS: tuple[str, ...] = tuple(f"m{i}" for i in range(1, 9))
CATALOGUE_SIZE = 1000
FLASH_SKUS = 50
BUNDLE_SKUS = 30
STORE_COUPON_CODE = "M1OFF30"
STORE2_COUPON_CODE = "M2OFF20"
PLATFORM_COUPON_CODE = "PLAT10"
GIFT_SKU = "gift-0001"
MEMBER_SEGMENT = "member"
SHIPPING_FEE = 800


@dataclass(frozen=True, slots=True)
class Sku:
    """One catalogue entry. ``price`` and ``cost`` are per unit, in minor units."""

    sku: str
    price: int
    cost: int
    category: str
    brand: str
    merchant: str


@dataclass(frozen=True, slots=True)
class FlashSale:
    """Price lane. While ``start <= instant < end``, a listed sku's units may pay its flash
    price (``prices[sku]``)."""

    id: str
    prices: dict[str, int]
    start: datetime
    end: datetime
    priority: int


@dataclass(frozen=True, slots=True)
class MemberPrice:
    """Price lane. For customers of ``segment``, units of ``categories`` may pay list less
    ``floor(list * percent / 100)``."""

    id: str
    categories: tuple[str, ...]
    percent: int
    segment: str
    priority: int


@dataclass(frozen=True, slots=True)
class CategoryPercentOff:
    """Item lane. Each line of ``category`` gets ``floor(base * percent / 100)`` off."""

    id: str
    category: str
    percent: int
    priority: int


@dataclass(frozen=True, slots=True)
class BuyXGetYFree:
    """Item lane. The units of ``category`` pooled across lines: for every ``buy + free``
    units, the ``free`` cheapest are free."""

    id: str
    category: str
    buy: int
    free: int
    priority: int


@dataclass(frozen=True, slots=True)
class Bundle:
    """Item lane. Units of ``skus``, dearest first, ``quantity`` at a time for ``price``
    while a group costs more than that."""

    id: str
    skus: tuple[str, ...]
    quantity: int
    price: int
    priority: int


@dataclass(frozen=True, slots=True)
class LadderTiers:
    """Store lane. On ``merchant``'s lines, the highest tier reached applies: ``tiers`` are
    ``(threshold, off)`` pairs in ascending threshold order."""

    id: str
    merchant: str
    tiers: tuple[tuple[int, int], ...]
    priority: int


@dataclass(frozen=True, slots=True)
class StoreCoupon:
    """Store lane. When ``code`` is presented and ``merchant``'s lines come to at least
    ``threshold``, ``off`` comes off them."""

    id: str
    code: str
    merchant: str
    threshold: int
    off: int
    priority: int


@dataclass(frozen=True, slots=True)
class EveryXOffY:
    """Platform lane, cross-store. ``min(floor(base / step) * off, cap)`` off the order."""

    id: str
    step: int
    off: int
    cap: int
    priority: int


@dataclass(frozen=True, slots=True)
class PlatformPercentCoupon:
    """Platform lane. When ``code`` is presented, ``min(floor(base * percent / 100), cap)``
    off the order. No threshold."""

    id: str
    code: str
    percent: int
    cap: int
    priority: int


@dataclass(frozen=True, slots=True)
class GiftAboveThreshold:
    """Platform lane. When the order comes to at least ``threshold``, a gift line
    (``gift_sku``, qty 1, price 0, unit cost ``gift_cost``) is added."""

    id: str
    threshold: int
    gift_sku: str
    gift_cost: int
    priority: int


@dataclass(frozen=True, slots=True)
class FreeShipping:
    """Platform lane. When the order comes to at least ``threshold``, shipping is free."""

    id: str
    threshold: int
    priority: int


@dataclass(frozen=True, slots=True)
class Guardrail:
    """Margin guardrail, applied after the lanes as described in the module docstring."""

    min_order_margin_pct: int = 5
    min_line_margin_pct: int = 0
    mode: str = "clamp"


ItemPromotion = BuyXGetYFree | CategoryPercentOff | Bundle
StorePromotion = LadderTiers | StoreCoupon
PlatformPromotion = EveryXOffY | PlatformPercentCoupon


@dataclass(frozen=True, slots=True)
class Ruleset:
    """The promotions of the workload by lane, each lane in application order (higher
    priority first)."""

    flash: FlashSale
    member: MemberPrice
    item: tuple[ItemPromotion, ...]
    store: tuple[StorePromotion, ...]
    platform: tuple[PlatformPromotion, ...]
    gift: GiftAboveThreshold
    shipping: FreeShipping
    guardrail: Guardrail

    @property
    def promotions(self) -> tuple[object, ...]:
        """Every promotion, lane by lane, in declaration order (as the TOML declares them)."""
        return (
            self.flash,
            self.member,
            *self.item,
            *self.store,
            *self.platform,
            self.gift,
            self.shipping,
        )


@dataclass(frozen=True, slots=True)
class Workload:
    """The catalogue and the ruleset built from one seed."""

    seed: int
    catalogue: dict[str, Sku]
    ruleset: Ruleset


@dataclass(frozen=True, slots=True)
class Cart:
    """A cart to price: distinct skus with quantities, the instant, the coupon codes, whether
    the customer is a member, and the shipping fee."""

    lines: tuple[tuple[str, int], ...]
    at: datetime
    codes: tuple[str, ...] = field(default=())
    member: bool = False
    shipping: int = SHIPPING_FEE


# A priced cart as the zen baseline reports it:
# (list_total, discount, payable, line payables (gift line last when granted), gift granted).
Priced = tuple[int, int, int, tuple[int, ...], bool]

FLASH_START = datetime(2026, 11, 11, 0, 0, tzinfo=SHANGHAI)
FLASH_END = datetime(2026, 11, 11, 2, 0, tzinfo=SHANGHAI)


def _catalogue(rng: random.Random) -> dict[str, Sku]:
    skus: dict[str, Sku] = {}
    for i in range(1, CATALOGUE_SIZE + 1):
        # Log-uniform list prices from about 9.90 to 1299.90, ending in .90 as shops do.
        yuan = int(math.exp(rng.uniform(math.log(10), math.log(1300))))
        price = yuan * 100 - 10
        margin_bp = rng.randint(1500, 6000)
        cost = price - price * margin_bp // 10000
        sku = f"sku{i:04d}"
        skus[sku] = Sku(
            sku=sku,
            price=price,
            cost=cost,
            category=rng.choice(CATEGORIES),
            brand=f"b{rng.randint(1, 40):02d}",
            merchant=rng.choice(MERCHANTS),
        )
    return skus


def _ruleset(rng: random.Random, catalogue: dict[str, Sku]) -> Ruleset:
    flash_prices: dict[str, int] = {}
    for sku in sorted(rng.sample(sorted(catalogue), FLASH_SKUS)):
        price = catalogue[sku].price
        flash_prices[sku] = price - price * rng.randint(30, 50) // 100
    flash = FlashSale("flash-d11", flash_prices, FLASH_START, FLASH_END, priority=100)

    pct_categories = rng.sample(CATEGORIES, 5)
    others = [c for c in CATEGORIES if c not in pct_categories]
    # one member category shares a percent-off, one does not
    member = MemberPrice("member-5", (pct_categories[1], others[0]), 5, MEMBER_SEGMENT, priority=90)
    # Buy-2-get-1 shares its category with a percent-off, so two item-lane promotions meet on
    # one line and their priority order is exercised.
    b2g1 = BuyXGetYFree("b2g1", pct_categories[0], buy=2, free=1, priority=50)
    percents = tuple(
        CategoryPercentOff(f"pct-{cat}", cat, rng.randint(5, 15), priority=40 - n)
        for n, cat in enumerate(pct_categories)
    )
    cheap = sorted(s.sku for s in catalogue.values() if 4000 <= s.price <= 8000)
    bundle = Bundle(
        "bundle-3-for-99", tuple(sorted(rng.sample(cheap, BUNDLE_SKUS))), 3, 9900, priority=30
    )

    ladder_tiers = ((30000, 3000), (50000, 6000), (100000, 15000))
    small_tiers = ((20000, 2000), (40000, 5000))
    ladders = tuple(
        LadderTiers(f"ladder-{m}", m, ladder_tiers if n < 3 else small_tiers, priority=20 - n)
        for n, m in enumerate(("m1", "m2", "m3", "m4", "m5"))
    )
    coupons = (
        StoreCoupon("coupon-m1", STORE_COUPON_CODE, "m1", threshold=20000, off=3000, priority=15),
        StoreCoupon("coupon-m2", STORE2_COUPON_CODE, "m2", threshold=15000, off=2000, priority=14),
    )
    every = EveryXOffY("every-300-off-50", step=30000, off=5000, cap=50000, priority=10)
    platform_coupon = PlatformPercentCoupon(
        "coupon-plat10", PLATFORM_COUPON_CODE, percent=10, cap=10000, priority=5
    )
    gift = GiftAboveThreshold(
        "gift-599", threshold=59900, gift_sku=GIFT_SKU, gift_cost=1500, priority=5
    )
    shipping = FreeShipping("free-shipping-99", threshold=9900, priority=1)
    return Ruleset(
        flash=flash,
        member=member,
        item=(b2g1, *percents, bundle),
        store=(*ladders, *coupons),
        platform=(every, platform_coupon),
        gift=gift,
        shipping=shipping,
        guardrail=Guardrail(),
    )


def build_workload(seed: int = DEFAULT_SEED) -> Workload:
    """The catalogue and ruleset for ``seed``; the same seed always gives the same data."""
    rng = random.Random(seed)
    catalogue = _catalogue(rng)
    return Workload(seed=seed, catalogue=catalogue, ruleset=_ruleset(rng, catalogue))


def carts(
    n_lines: int, count: int, seed: int = DEFAULT_SEED, workload: Workload | None = None
) -> Iterator[Cart]:
    """``count`` carts of ``n_lines`` distinct skus, qty 1..3 each.

    Nine carts in ten are priced inside the flash window, the rest at 10:00 the same day.
    The store coupons are presented with 40% and 30% of carts, the platform coupon with 50%;
    30% of customers are members; every cart carries the flat shipping fee.
    """
    wl = workload or build_workload(seed)
    skus = sorted(wl.catalogue)
    bundle_skus = wl.ruleset.item[-1].skus if isinstance(wl.ruleset.item[-1], Bundle) else ()
    rng = random.Random(f"{seed}:carts:{n_lines}")
    inside = FLASH_START + timedelta(minutes=30)
    outside = datetime(2026, 11, 11, 10, 0, tzinfo=SHANGHAI)
    for _ in range(count):
        chosen = rng.sample(skus, n_lines)
        # one cart in five carries a few bundle skus, so bundles form at every size
        if bundle_skus and n_lines > 1 and rng.random() < 0.2:
            extra = [s for s in rng.sample(bundle_skus, 3) if s not in chosen]
            chosen[: len(extra)] = extra[:n_lines]
        lines = tuple((sku, rng.randint(1, 3)) for sku in chosen)
        at = inside if rng.random() < 0.9 else outside
        codes: list[str] = []
        if rng.random() < 0.4:
            codes.append(STORE_COUPON_CODE)
        if rng.random() < 0.3:
            codes.append(STORE2_COUPON_CODE)
        if rng.random() < 0.5:
            codes.append(PLATFORM_COUPON_CODE)
        yield Cart(lines=lines, at=at, codes=tuple(codes), member=rng.random() < 0.3)


def allocate(amount: int, weights: list[int]) -> list[int]:
    """Split ``amount`` over ``weights`` by largest remainder, ties to the lower index.

    ``amount`` must not exceed ``sum(weights)``, so no part exceeds its weight.
    """
    total = sum(weights)
    if amount == 0 or total == 0:
        return [0] * len(weights)
    parts = [amount * w // total for w in weights]
    left = amount - sum(parts)
    if left:
        order = sorted(range(len(weights)), key=lambda i: (-(amount * weights[i] % total), i))
        for i in order[:left]:
            parts[i] += 1
    return parts
