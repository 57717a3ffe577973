"""The hand-written pricer: this one ruleset, straight-line Python, integer minor units.

This is what a careful engineer would write for exactly the workload's ruleset with no engine
at all: lookups precomputed into dicts and tuples once, then one function per cart with plain
loops over ints. It is the speed a rules engine is measured against, and the oracle the other
pricers are checked against. The semantics are those of :mod:`benchmarks.workload`.
"""

from __future__ import annotations

from collections.abc import Callable

from benchmarks.workload import (
    BuyXGetYFree,
    Cart,
    CategoryPercentOff,
    EveryXOffY,
    LadderTiers,
    PlatformPercentCoupon,
    Priced,
    StoreCoupon,
    Workload,
    allocate,
)


def make_reference_pricer(workload: Workload) -> Callable[[Cart], Priced]:
    """A function pricing one cart of ``workload`` under its ruleset."""
    rs = workload.ruleset
    sku_info = {
        s.sku: (s.price, s.cost, s.category, s.merchant) for s in workload.catalogue.values()
    }
    flash_prices = rs.flash.prices
    flash_start = rs.flash.start.timestamp()
    flash_end = rs.flash.end.timestamp()

    # Item lane, in priority order: per category, the (kind, parameter) steps to apply.
    item_steps: dict[str, list[tuple[str, int, int]]] = {}
    for promo in rs.item:
        if isinstance(promo, BuyXGetYFree):
            item_steps.setdefault(promo.category, []).append(
                ("bxgy", promo.buy + promo.free, promo.free)
            )
        elif isinstance(promo, CategoryPercentOff):
            item_steps.setdefault(promo.category, []).append(("pct", promo.percent, 0))

    # Store lane, in priority order: (merchant, tiers high to low, coupon code, threshold, off).
    store_steps: list[tuple[str, tuple[tuple[int, int], ...], str, int, int]] = []
    for sp in rs.store:
        if isinstance(sp, LadderTiers):
            store_steps.append((sp.merchant, tuple(reversed(sp.tiers)), "", 0, 0))
        elif isinstance(sp, StoreCoupon):
            store_steps.append((sp.merchant, (), sp.code, sp.threshold, sp.off))

    every: EveryXOffY | None = None
    coupon: PlatformPercentCoupon | None = None
    for pp in rs.platform:
        if isinstance(pp, EveryXOffY):
            every = pp
        elif isinstance(pp, PlatformPercentCoupon):
            coupon = pp
    assert every is not None and coupon is not None
    step, every_off, every_cap = every.step, every.off, every.cap
    plat_code, plat_pct, plat_cap = coupon.code, coupon.percent, coupon.cap
    gift_threshold, gift_cost = rs.gift.threshold, rs.gift.gift_cost
    line_margin = rs.guardrail.min_line_margin_pct
    order_margin = rs.guardrail.min_order_margin_pct

    def price(cart: Cart) -> Priced:
        ts = cart.at.timestamp()
        flash_on = flash_start <= ts < flash_end
        codes = cart.codes
        n = len(cart.lines)
        list_amounts = [0] * n
        amounts = [0] * n
        floors = [0] * n
        merchants = [""] * n
        cost_total = 0

        # Price lane and item lane, line by line.
        for i, (sku, qty) in enumerate(cart.lines):
            list_price, cost, category, merchant = sku_info[sku]
            unit = flash_prices.get(sku, list_price) if flash_on else list_price
            base = unit * qty
            left = base
            for kind, a, b in item_steps.get(category, ()):
                off = qty // a * b * unit if kind == "bxgy" else base * a // 100
                left -= off if off < left else left
            list_amounts[i] = list_price * qty
            amounts[i] = left
            merchants[i] = merchant
            line_cost = cost * qty
            cost_total += line_cost
            floors[i] = -(-line_cost * 100 // (100 - line_margin))

        # Store lane: every step measures on the merchant's base after the item lane.
        bases: dict[str, int] = {}
        for i in range(n):
            bases[merchants[i]] = bases.get(merchants[i], 0) + amounts[i]
        for merchant, tiers, code, threshold, off in store_steps:
            base = bases.get(merchant, 0)
            disc = 0
            if tiers:
                for tier_threshold, tier_off in tiers:
                    if base >= tier_threshold:
                        disc = tier_off
                        break
            elif code in codes and base >= threshold:
                disc = off
            if disc:
                idx = [i for i in range(n) if merchants[i] == merchant]
                current = [amounts[i] for i in idx]
                left = sum(current)
                parts = allocate(disc if disc < left else left, current)
                for i, part in zip(idx, parts, strict=True):
                    amounts[i] -= part

        # Platform lane: all measure on the order total after the store lane.
        base = sum(amounts)
        gift = base >= gift_threshold
        steps = (
            min(base // step * every_off, every_cap),
            min(base * plat_pct // 100, plat_cap) if plat_code in codes else 0,
        )
        for disc in steps:
            if disc:
                left = sum(amounts)
                parts = allocate(disc if disc < left else left, amounts)
                for i in range(n):
                    amounts[i] -= parts[i]

        # Guardrail, clamp: line floors, then the order floor.
        for i in range(n):
            if amounts[i] < floors[i]:
                amounts[i] = floors[i]
        if gift:
            cost_total += gift_cost
        order_floor = -(-cost_total * 100 // (100 - order_margin))
        payable = sum(amounts)
        if payable < order_floor:
            given = [list_amounts[i] - amounts[i] for i in range(n)]
            short = order_floor - payable
            total_given = sum(given)
            parts = allocate(short if short < total_given else total_given, given)
            for i in range(n):
                amounts[i] += parts[i]
            payable = sum(amounts)

        list_total = sum(list_amounts)
        lines = (*amounts, 0) if gift else tuple(amounts)
        return (list_total, list_total - payable, payable, lines, gift)

    return price
