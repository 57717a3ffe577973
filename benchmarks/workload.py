"""The seeded benchmark workload: a catalogue, a Double 11 ruleset and carts, as plain data.

Everything here is built from one seed (default 20261111) with :class:`random.Random`, so two
runs, two machines and two engines see exactly the same catalogue, promotions and carts. The
module depends on nothing but the standard library: it is the neutral ground that promorules,
the hand-written reference (``benchmarks/reference.py``) and the GoRules zen-engine baseline
(``benchmarks/zen_baseline.py``) each translate into their own form.

Money is in integer minor units of CNY (2 decimals): ``12990`` is 129.90 yuan.

Pricing semantics
=================

A cart is a list of ``(sku, qty)`` lines, an instant and the coupon codes presented. Pricing
runs four lanes in a fixed order, ``price -> item -> store -> platform``:

1. **Price lane.** A line's unit price is its list price, or its flash price when the flash
   sale is active at the cart's instant and the sku is in it. The line amount is
   ``unit price * qty``.
2. **Item lane.** Per line. Every item-lane promotion measures on the line amount after the
   price lane (the same base for all of them, "in parallel"); they are then applied in
   priority order (lower number first), each capped at what is left of the line.
3. **Store lane.** Per merchant. The merchant ladders and the store coupon measure on the sum
   of that merchant's line amounts after the item lane (same base, in parallel); applied in
   priority order, each capped at what is left of the merchant's lines.
4. **Platform lane.** The cross-store repeating reduction, the platform coupon and the gift
   measure on the order total after the store lane (same base, in parallel); the money
   discounts are applied in priority order, each capped at what is left of the order.

Rounding and allocation:

- A percentage discount is ``floor(base * percent / 100)``: it rounds DOWN to the minor unit.
- A discount on more than one line (store and platform lanes) is allocated over its lines in
  proportion to their current amounts (after everything applied before it, including earlier
  promotions of the same lane), by largest remainder: every line gets the floor of its exact
  share, and the minor units left over go one each to the lines with the largest remainders,
  ties to the lower line index. The parts sum exactly to the discount.
- Nothing goes below zero: every cap above is "what is left".

Guardrail (:class:`Guardrail`, mode ``clamp``), applied once after the four lanes:

1. Line floor. A line's payable must keep a margin of at least ``min_line_margin_pct`` of its
   payable: ``payable >= ceil(cost * 100 / (100 - min_line_margin_pct))`` (with 0%, at least
   its cost). A line below its floor is raised to it; that part of its discount is withdrawn.
   The gift line is exempt: it is free by design and its cost is counted in step 2.
2. Order floor. The order's payable must keep a margin of at least ``min_order_margin_pct``:
   ``payable >= ceil(cost_total * 100 / (100 - min_order_margin_pct))``, where ``cost_total``
   includes the gift's cost when the gift is granted. A shortfall is withdrawn from the
   discounts of the non-gift lines in proportion to each line's remaining discount (list
   amount minus payable), by largest remainder as above.

The workload does not split funding between platform and merchant; margins are measured on
what the customer pays. The flash sale has no stock or per-customer limit here (those are
stateful counters, which a pricing benchmark leaves out).

The ruleset has 14 promotions: 1 flash sale (50 skus), 5 category percent-offs, 3 merchant
ladders, 1 cross-store repeating reduction, 2 coupons, 1 buy-2-get-1 and 1 gift, under one
guardrail.
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
STORE_COUPON_CODE = "M1-200-30"
PLATFORM_COUPON_CODE = "PLAT10"
GIFT_SKU = "gift-0001"


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
    """Price lane. While ``start <= instant < end``, a listed sku's unit price is replaced by
    its flash price (``prices[sku]``), for every unit on the line."""

    id: str
    prices: dict[str, int]
    start: datetime
    end: datetime
    priority: int = 0


@dataclass(frozen=True, slots=True)
class CategoryPercentOff:
    """Item lane. A line of ``category`` gets ``floor(base * percent / 100)`` off, where base is
    the line amount after the price lane."""

    id: str
    category: str
    percent: int
    priority: int


@dataclass(frozen=True, slots=True)
class BuyXGetYFree:
    """Item lane. On a line of ``category``, ``floor(qty / (buy + free)) * free`` units are free
    at the line's unit price after the price lane (buy 2 get 1: every third unit free).
    Counted per line, not pooled across lines."""

    id: str
    category: str
    buy: int
    free: int
    priority: int


@dataclass(frozen=True, slots=True)
class LadderTiers:
    """Store lane. On the sum of ``merchant``'s lines after the item lane, the highest tier
    reached applies: ``tiers`` are ``(threshold, off)`` pairs in ascending threshold order."""

    id: str
    merchant: str
    tiers: tuple[tuple[int, int], ...]
    priority: int


@dataclass(frozen=True, slots=True)
class StoreCoupon:
    """Store lane. When ``code`` is presented and ``merchant``'s lines after the item lane sum
    to at least ``threshold``, ``off`` comes off them."""

    id: str
    code: str
    merchant: str
    threshold: int
    off: int
    priority: int


@dataclass(frozen=True, slots=True)
class EveryXOffY:
    """Platform lane, cross-store. ``min(floor(base / step) * off, cap)`` off the order, where
    base is the order total after the store lane."""

    id: str
    step: int
    off: int
    cap: int
    priority: int


@dataclass(frozen=True, slots=True)
class PlatformPercentCoupon:
    """Platform lane. When ``code`` is presented, ``min(floor(base * percent / 100), cap)`` off
    the order, base being the order total after the store lane. No threshold."""

    id: str
    code: str
    percent: int
    cap: int
    priority: int


@dataclass(frozen=True, slots=True)
class GiftAboveThreshold:
    """Platform lane. When the order total after the store lane is at least ``threshold``, a
    gift line (``gift_sku``, qty 1, price 0, unit cost ``gift_cost``) is added to the order."""

    id: str
    threshold: int
    gift_sku: str
    gift_cost: int
    priority: int


@dataclass(frozen=True, slots=True)
class Guardrail:
    """Margin guardrail, applied after the lanes as described in the module docstring."""

    min_order_margin_pct: int = 5
    min_line_margin_pct: int = 0
    mode: str = "clamp"


@dataclass(frozen=True, slots=True)
class Ruleset:
    """The promotions of the workload, grouped by lane; each group is in priority order."""

    flash: FlashSale
    item: tuple[BuyXGetYFree | CategoryPercentOff, ...]
    store: tuple[LadderTiers | StoreCoupon, ...]
    platform: tuple[EveryXOffY | PlatformPercentCoupon, ...]
    gift: GiftAboveThreshold
    guardrail: Guardrail

    @property
    def promotions(self) -> tuple[object, ...]:
        """Every promotion, lane by lane."""
        return (self.flash, *self.item, *self.store, *self.platform, self.gift)


@dataclass(frozen=True, slots=True)
class Workload:
    """The catalogue and the ruleset built from one seed."""

    seed: int
    catalogue: dict[str, Sku]
    ruleset: Ruleset


@dataclass(frozen=True, slots=True)
class Cart:
    """A cart to price: distinct skus with quantities, the instant, the coupon codes."""

    lines: tuple[tuple[str, int], ...]
    at: datetime
    codes: tuple[str, ...] = field(default=())


# A priced cart, the common result of every pricer the benchmark compares:
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
    flash = FlashSale("flash-d11", flash_prices, FLASH_START, FLASH_END)

    pct_categories = rng.sample(CATEGORIES, 5)
    # Buy-2-get-1 shares its category with a percent-off, so two item-lane promotions meet on
    # one line and their priority order is exercised.
    b2g1 = BuyXGetYFree("b2g1", pct_categories[0], buy=2, free=1, priority=10)
    percents = tuple(
        CategoryPercentOff(f"pct-{cat}", cat, rng.randint(5, 15), priority=20 + n)
        for n, cat in enumerate(pct_categories)
    )

    ladder_tiers = ((30000, 3000), (50000, 6000), (100000, 15000))
    ladders = tuple(
        LadderTiers(f"ladder-{m}", m, ladder_tiers, priority=10 + n)
        for n, m in enumerate(("m1", "m2", "m3"))
    )
    store_coupon = StoreCoupon(
        "coupon-m1", STORE_COUPON_CODE, "m1", threshold=20000, off=3000, priority=20
    )
    every = EveryXOffY("every-300-off-50", step=30000, off=5000, cap=50000, priority=10)
    platform_coupon = PlatformPercentCoupon(
        "coupon-plat10", PLATFORM_COUPON_CODE, percent=10, cap=10000, priority=20
    )
    gift = GiftAboveThreshold(
        "gift-599", threshold=59900, gift_sku=GIFT_SKU, gift_cost=1500, priority=30
    )
    return Ruleset(
        flash=flash,
        item=(b2g1, *percents),
        store=(*ladders, store_coupon),
        platform=(every, platform_coupon),
        gift=gift,
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
    The store coupon is presented with 40% of carts, the platform coupon with 50%.
    """
    skus = sorted((workload or build_workload(seed)).catalogue)
    rng = random.Random(f"{seed}:carts:{n_lines}")
    inside = FLASH_START + timedelta(minutes=30)
    outside = datetime(2026, 11, 11, 10, 0, tzinfo=SHANGHAI)
    for _ in range(count):
        chosen = rng.sample(skus, n_lines)
        lines = tuple((sku, rng.randint(1, 3)) for sku in chosen)
        at = inside if rng.random() < 0.9 else outside
        codes: list[str] = []
        if rng.random() < 0.4:
            codes.append(STORE_COUPON_CODE)
        if rng.random() < 0.5:
            codes.append(PLATFORM_COUPON_CODE)
        yield Cart(lines=lines, at=at, codes=tuple(codes))


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
