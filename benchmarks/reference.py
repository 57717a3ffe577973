"""The hand-written pricer: this one ruleset, straight-line Python, integer minor units.

This is what a careful engineer would write for exactly the workload's ruleset with no engine
at all: every lookup precomputed once (per sku: list price, cost, flash and member prices, the
item-lane promotions that reach it), then one function per cart with plain loops over ints.
It is the practical floor for pure Python, and it computes exactly what promorules' engine
computes for this ruleset (see the semantics in :mod:`benchmarks.workload`): the same line
payables, shipping, gift, discount per promotion and guardrail trims per promotion. The
benchmark checks that on thousands of random carts before it times anything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from benchmarks.workload import (
    Bundle,
    BuyXGetYFree,
    Cart,
    CategoryPercentOff,
    EveryXOffY,
    LadderTiers,
    PlatformPercentCoupon,
    StoreCoupon,
    Workload,
)

LANES = ("price", "item", "store", "platform")


class RefQuote(NamedTuple):
    """A priced cart as the reference returns it."""

    amounts: list[int]
    """Payable per cart line (the gift line not included)."""
    shipping: int
    """Shipping fee left to pay."""
    gift: bool
    trims: dict[int, int]
    """Discount the clamp took back, per promotion index (declaration order)."""
    given: dict[int, list[list[int]]]
    """Per promotion index: ``[lines, amounts]`` of its adjustments, lines ascending."""
    shipping_off: int


def allocate(total: int, weights: list[int]) -> list[int]:
    """Largest remainder, ties to the earlier position (as :func:`promorules.money.allocate`;
    the caller never passes all-zero weights with a non-zero total)."""
    weight_sum = sum(weights)
    parts = []
    rems = []
    given = 0
    for index, weight in enumerate(weights):
        part, rem = divmod(total * weight, weight_sum)
        parts.append(part)
        given += part
        rems.append((-rem, index))
    left = total - given
    if left:
        rems.sort()
        for _, index in rems[:left]:
            parts[index] += 1
    return parts


def make_reference_pricer(workload: Workload) -> Callable[[Cart], RefQuote]:
    """A function pricing one cart of ``workload`` under its ruleset."""
    rs = workload.ruleset
    promotions = rs.promotions
    index = {id(p): i for i, p in enumerate(promotions)}
    lane_of = [0, 0] + [1] * len(rs.item) + [2] * len(rs.store) + [3] * (len(rs.platform) + 2)
    priority = [p.priority for p in promotions]  # type: ignore[attr-defined]
    # the clamp's order: lowest priority first, then the later lane, then declared later
    trim_order = sorted(range(len(promotions)), key=lambda i: (priority[i], -lane_of[i], -i))

    flash, member = rs.flash, rs.member
    FLASH, MEMBER = index[id(flash)], index[id(member)]
    flash_start, flash_end = flash.start.timestamp(), flash.end.timestamp()
    member_categories = set(member.categories)

    b2g1 = next(p for p in rs.item if isinstance(p, BuyXGetYFree))
    bundle = next(p for p in rs.item if isinstance(p, Bundle))
    B2G1, BUNDLE = index[id(b2g1)], index[id(bundle)]
    b2g1_group, b2g1_free = b2g1.buy + b2g1.free, b2g1.free
    bundle_size, bundle_price = bundle.quantity, bundle.price
    bundle_skus = set(bundle.skus)
    pct_of = {
        p.category: (index[id(p)], p.percent) for p in rs.item if isinstance(p, CategoryPercentOff)
    }
    # the item lane applies by priority: buy-2-get-1, the percent-offs, then the bundle
    item_priorities = sorted(priority[i] for i in (B2G1, BUNDLE, *(v[0] for v in pct_of.values())))
    assert priority[B2G1] == item_priorities[-1] and priority[BUNDLE] == item_priorities[0]

    # per sku: list, cost, merchant, flash price (0: none), member price (0: none),
    # percent-off (promotion, percent) or None, in the buy-2-get-1, in the bundle
    facts = {}
    for s in workload.catalogue.values():
        member_price = s.price - s.price * member.percent // 100
        facts[s.sku] = (
            s.price,
            s.cost,
            s.merchant,
            flash.prices.get(s.sku, 0),
            member_price if s.category in member_categories and member_price < s.price else 0,
            pct_of.get(s.category),
            s.category == b2g1.category,
            s.sku in bundle_skus,
        )

    # store lane, in application order (higher priority first):
    # (promotion, merchant, tiers highest first, coupon code or "", threshold, off)
    store = sorted(rs.store, key=lambda p: (-p.priority, index[id(p)]))
    store_steps = []
    for sp in store:
        if isinstance(sp, LadderTiers):
            store_steps.append((index[id(sp)], sp.merchant, tuple(reversed(sp.tiers)), "", 0, 0))
        elif isinstance(sp, StoreCoupon):
            store_steps.append((index[id(sp)], sp.merchant, (), sp.code, sp.threshold, sp.off))

    every = next(p for p in rs.platform if isinstance(p, EveryXOffY))
    coupon = next(p for p in rs.platform if isinstance(p, PlatformPercentCoupon))
    assert every.priority > coupon.priority
    EVERY, COUPON = index[id(every)], index[id(coupon)]
    step, every_off, every_cap = every.step, every.off, every.cap
    plat_code, plat_pct, plat_cap = coupon.code, coupon.percent, coupon.cap
    gift_threshold, gift_cost = rs.gift.threshold, rs.gift.gift_cost
    ship_threshold = rs.shipping.threshold
    line_gap = 100 - rs.guardrail.min_line_margin_pct
    order_gap = 100 - rs.guardrail.min_order_margin_pct

    def add(given: dict[int, list[list[int]]], p: int, i: int, amount: int) -> None:
        rec = given.get(p)
        if rec is None:
            given[p] = [[i], [amount]]
        else:
            rec[0].append(i)
            rec[1].append(amount)

    def price(cart: Cart) -> RefQuote:
        ts = cart.at.timestamp()
        flash_on = flash_start <= ts < flash_end
        is_member = cart.member
        codes = cart.codes
        n = len(cart.lines)
        amounts = [0] * n
        qtys = [0] * n
        costs = [0] * n
        merchants = [""] * n
        pcts: list[tuple[int, int] | None] = [None] * n
        b2g1_lines = []
        bundle_lines = []
        given: dict[int, list[list[int]]] = {}
        list_total = 0

        # Price lane: each line pays the lowest price offered (flash wins a tie).
        for i, (sku, qty) in enumerate(cart.lines):
            list_price, cost, merchant, fp, mp, pct, in_b2g1, in_bundle = facts[sku]
            amount = list_price * qty
            list_total += amount
            if not flash_on:
                fp = 0
            if not is_member:
                mp = 0
            if fp and (not mp or fp <= mp):
                add(given, FLASH, i, (list_price - fp) * qty)
                amount = fp * qty
            elif mp:
                add(given, MEMBER, i, (list_price - mp) * qty)
                amount = mp * qty
            amounts[i] = amount
            qtys[i] = qty
            costs[i] = cost * qty
            merchants[i] = merchant
            pcts[i] = pct
            if in_b2g1:
                b2g1_lines.append(i)
            if in_bundle:
                bundle_lines.append(i)

        # Item lane. Buy-2-get-1: the cheapest units of the pooled lines are free.
        free: dict[int, int] = {}
        if b2g1_lines:
            count = 0
            units = []
            for i in b2g1_lines:
                q = qtys[i]
                count += q
                low, high = divmod(amounts[i], q)
                if high:
                    units.append((low + 1, i, high))
                if q - high:
                    units.append((low, i, q - high))
            left = count // b2g1_group * b2g1_free
            if left:
                units.sort()
                for value, i, k in units:
                    take = k if k < left else left
                    free[i] = free.get(i, 0) + take * value
                    left -= take
                    if not left:
                        break
        # The bundle: dearest units first, 3 at a time while a group costs more than 99.00.
        bundled: dict[int, int] = {}
        if bundle_lines:
            dearest: list[tuple[int, int]] = []
            for i in bundle_lines:
                q = qtys[i]
                low, high = divmod(amounts[i], q)
                dearest.extend([(-(low + 1), i)] * high)
                dearest.extend([(-low, i)] * (q - high))
            dearest.sort()
            saving = 0
            chosen: dict[int, int] = {}
            for start in range(0, len(dearest) - bundle_size + 1, bundle_size):
                group = dearest[start : start + bundle_size]
                total = -sum(v for v, _ in group)
                if total <= bundle_price:
                    break
                saving += total - bundle_price
                for v, i in group:
                    chosen[i] = chosen.get(i, 0) - v
            if saving:
                order = sorted(chosen)
                for i, part in zip(
                    order, allocate(saving, [chosen[i] for i in order]), strict=True
                ):
                    if part:
                        bundled[i] = part
        # All three measured on the lane-start amounts, applied by priority, capped per line.
        for i in range(n):
            base = amounts[i]
            left = base
            off = free.get(i, 0)
            if off:
                add(given, B2G1, i, off)
                left -= off
            pct = pcts[i]
            if pct is not None:
                off = base * pct[1] // 100
                if off > left:
                    off = left
                if off > 0:
                    add(given, pct[0], i, off)
                    left -= off
            off = bundled.get(i, 0)
            if off:
                if off > left:
                    off = left
                if off > 0:
                    add(given, BUNDLE, i, off)
                    left -= off
            amounts[i] = left

        # Store lane: every step measures on the merchant's lane-start lines.
        by_merchant: dict[str, list[int]] = {}
        for i in range(n):
            by_merchant.setdefault(merchants[i], []).append(i)
        offers = []
        for p, merchant, tiers, code, threshold, off in store_steps:
            idx = by_merchant.get(merchant)
            if not idx:
                continue
            weights = [amounts[i] for i in idx]
            base = sum(weights)
            disc = 0
            if tiers:
                for tier_threshold, tier_off in tiers:
                    if base >= tier_threshold:
                        disc = tier_off
                        break
            elif code in codes and base >= threshold and base > 0:
                disc = off
            if disc > base:
                disc = base
            if disc > 0:
                offers.append((p, idx, allocate(disc, weights)))
        for p, idx, parts in offers:
            for i, part in zip(idx, parts, strict=True):
                left = amounts[i]
                if part > left:
                    part = left
                if part > 0:
                    amounts[i] = left - part
                    add(given, p, i, part)

        # Platform lane: all measure on the order after the store lane.
        base = sum(amounts)
        gift = base >= gift_threshold
        shipping = cart.shipping
        shipping_off = shipping if base >= ship_threshold else 0
        shipping -= shipping_off
        off1 = base // step * every_off
        if off1 > every_cap:
            off1 = every_cap
        off2 = 0
        if plat_code in codes:
            off2 = base * plat_pct // 100
            if off2 > plat_cap:
                off2 = plat_cap
        parts1 = allocate(off1 if off1 < base else base, amounts) if off1 > 0 else None
        parts2 = allocate(off2 if off2 < base else base, amounts) if off2 > 0 else None
        for p, maybe in ((EVERY, parts1), (COUPON, parts2)):
            if maybe is None:
                continue
            parts = maybe
            for i in range(n):
                part = parts[i]
                left = amounts[i]
                if part > left:
                    part = left
                if part > 0:
                    amounts[i] = left - part
                    add(given, p, i, part)

        # Guardrail, clamp: line floors (each line at least its cost), then the order floor.
        trims: dict[int, int] = {}
        cost_total = sum(costs)
        if gift and -(-(cost_total + gift_cost) * 100 // order_gap) > list_total >= -(
            -cost_total * 100 // order_gap
        ):
            gift = False  # even list prices could not hold the floor with the gift's cost
        order_need = -(-(cost_total + gift_cost * gift) * 100 // order_gap) - sum(amounts)
        line_needs = []
        for i in range(n):
            need = -(-costs[i] * 100 // line_gap) - amounts[i]
            if need > 0:
                line_needs.append((i, need))
        for i, need in line_needs:
            for p in trim_order:
                rec = given.get(p)
                if rec is None or i not in rec[0]:
                    continue
                k = rec[0].index(i)
                have = rec[1][k]
                if have <= 0:
                    continue
                take = need if need < have else have
                rec[1][k] = have - take
                amounts[i] += take
                trims[p] = trims.get(p, 0) + take
                order_need -= take
                need -= take
                if not need:
                    break
        if order_need > 0:
            need = order_need
            for p in trim_order:
                rec = given.get(p)
                if rec is None:
                    continue
                lines, amts = rec
                pos = [k for k in range(len(amts)) if amts[k] > 0]
                if not pos:
                    continue
                weights = [amts[k] for k in pos]
                have = sum(weights)
                take = need if need < have else have
                for k, part in zip(pos, allocate(take, weights), strict=True):
                    amts[k] -= part
                    amounts[lines[k]] += part
                trims[p] = trims.get(p, 0) + take
                need -= take
                if not need:
                    break
        return RefQuote(amounts, shipping, gift, trims, given, shipping_off)

    return price
