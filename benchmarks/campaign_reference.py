"""The hand-written pricer of the campaign workload: plain Python, integer minor units.

What a careful engineer would write for :mod:`benchmarks.campaign`'s 1,000 promotions with
no engine: every lookup worked out once (per sku: its list price, cost, flash prices by
hour, member prices by segment, and the promotions of each lane that reach it), then one
function per cart that gathers the few dozen promotions its lines reach, works each one's
figures on the lane-start amounts and applies them by priority, capped per line. It prices
what promorules' engine prices (the semantics of :mod:`benchmarks.workload`'s docstring:
lowest unit price in the price lane, lanes measuring on what earlier lanes left, largest
remainder splits on lane-start amounts, ``not_with`` taking lines an earlier-lane partner
discounted out of scope, the clamp's trim order and its gift drops, and exclusive groups
as docs/rulesets.md states them).

Exclusive groups (issue 13): a group is settled when its first member comes up in its
lane's application order (priority, higher first, then declaration order), after the
promotions before it have claimed their part of each line. Each member's worth is its
*real* total: what it would give on the amounts left at that moment, every line capped.
The member worth most wins, ties to the higher priority, then the earlier declaration; it
alone is applied, there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from benchmarks.campaign import DAY, Campaign, CampaignCart, Promo

LANES = ("price", "item", "store", "platform")
ORDER_MARGIN_PCT = 5  # the ruleset's guardrails: see campaign_toml
LINE_MARGIN_PCT = 0


class CampaignQuote(NamedTuple):
    """A priced cart as the reference returns it."""

    amounts: list[int]
    """Payable per cart line (gift lines not included)."""
    shipping: int
    """Shipping fee left to pay."""
    gifts: list[str]
    """Gift skus given, in the order given."""
    trims: dict[int, int]
    """Discount the clamp took back, per promotion index (declaration order)."""
    given: dict[int, list[list[int]]]
    """Per promotion index: ``[lines, amounts]`` of its adjustments (after the clamp)."""


def allocate(total: int, weights: list[int]) -> list[int]:
    """Largest remainder, ties to the earlier position (as :func:`promorules.money.allocate`,
    with its short cuts for one and two lines and one unit left over); ``total`` never
    exceeds ``sum(weights)``, which is positive."""
    count = len(weights)
    if count == 1:
        return [total]
    weight_sum = sum(weights)
    if count == 2:
        first, remainder = divmod(total * weights[0], weight_sum)
        second = total * weights[1] // weight_sum
        if first + second < total:
            if 2 * remainder >= weight_sum:
                first += 1
            else:
                second += 1
        return [first, second]
    parts = [total * weight // weight_sum for weight in weights]
    left = total - sum(parts)
    if left:
        remainders = [total * weight % weight_sum for weight in weights]
        if left == 1:
            parts[remainders.index(max(remainders))] += 1
        else:  # the sort is stable, reversed too: ties stay in position order
            for index in sorted(range(count), key=remainders.__getitem__, reverse=True)[:left]:
                parts[index] += 1
    return parts


Evaluator = Callable[[list[int], list[int], list[int]], "list[int] | int | None"]
"""What a promotion offers on its ``lines`` given the lane-start ``amounts`` and the
quantities: parts per line, -1 (free shipping: the whole fee left), 0 (its gift), or None
for nothing."""


def _nothing(lines: list[int], amounts: list[int], qtys: list[int]) -> None:
    return None


def _reach(campaign: Campaign) -> list[list[str] | None]:
    """Per promotion, the skus it reaches (None: every sku), found through the smallest
    declared dimension rather than by testing 20,000 skus against each promotion."""
    by: dict[str, dict[str, list[str]]] = {"category": {}, "brand": {}, "merchant": {}}
    for s in campaign.catalogue.values():
        by["category"].setdefault(s.category, []).append(s.sku)
        by["brand"].setdefault(s.brand, []).append(s.sku)
        by["merchant"].setdefault(s.merchant, []).append(s.sku)
    out: list[list[str] | None] = []
    for p in campaign.promotions:
        t = p.target
        if p.kind == "flash_sale":
            out.append(sorted(p.config["prices"]))
            continue
        if t.everywhere:
            out.append(None)
            continue
        candidates: list[list[str]] = []
        if t.skus:
            candidates.append(sorted(t.skus))
        for values, index in (
            (t.categories, by["category"]),
            (t.brands, by["brand"]),
            (t.merchants, by["merchant"]),
        ):
            if values:
                candidates.append([s for v in sorted(values) for s in index.get(v, [])])
        smallest = min(candidates, key=len)
        out.append([s for s in smallest if t.reaches(campaign.catalogue[s])])
    return out


def _evaluator(p: Promo) -> Evaluator:
    """Promotion ``p``'s figures as a function with its constants bound."""
    c = p.config
    kind = p.kind
    if kind == "discount" and "percent" in c:
        pct = int(c["percent"])

        def percent_off(lines: list[int], amounts: list[int], qtys: list[int]) -> list[int] | None:
            parts = [amounts[i] * pct // 100 for i in lines]
            return parts if any(parts) else None

        return percent_off
    if kind == "discount":
        each = int(c["off_each"])

        def off_each(lines: list[int], amounts: list[int], qtys: list[int]) -> list[int] | None:
            parts = [min(each * qtys[i], amounts[i]) for i in lines]
            return parts if any(parts) else None

        return off_each
    if kind == "tiered" and c["mode"] == "ladder":
        first = c["tiers"][0][0]
        highest_first = tuple(reversed(c["tiers"]))

        def ladder(lines: list[int], amounts: list[int], qtys: list[int]) -> list[int] | None:
            weights = [amounts[i] for i in lines]
            base = sum(weights)
            if base < first:
                return None
            off = 0  # base reaches the first tier: some tier is found
            for threshold, tier_off in highest_first:
                if base >= threshold:
                    off = tier_off
                    break
            if off > base:
                off = base
            return allocate(off, weights) if off > 0 else None

        return ladder
    if kind == "tiered":
        step, step_off, cap = int(c["step"]), int(c["off"]), int(c["cap"])

        def every(lines: list[int], amounts: list[int], qtys: list[int]) -> list[int] | None:
            weights = [amounts[i] for i in lines]
            base = sum(weights)
            if base < step:
                return None
            off = base // step * step_off
            if cap and off > cap:
                off = cap
            if off > base:
                off = base
            return allocate(off, weights)

        return every
    if kind == "coupon":
        threshold, fixed = int(c["threshold"]), int(c.get("off", 0))
        pct, most = int(c.get("percent", 0)), int(c.get("cap", 0))

        def coupon(lines: list[int], amounts: list[int], qtys: list[int]) -> list[int] | None:
            weights = [amounts[i] for i in lines]
            base = sum(weights)
            if base <= 0 or base < threshold:
                return None
            off = fixed
            if not off:
                off = base * pct // 100
                if off > most:
                    off = most
            if off > base:
                off = base
            return allocate(off, weights) if off > 0 else None

        return coupon
    if kind in ("gift", "free_shipping"):
        need = int(c["threshold"])
        offered = 0 if kind == "gift" else -1

        def above(lines: list[int], amounts: list[int], qtys: list[int]) -> int | None:
            return offered if sum([amounts[i] for i in lines]) >= need else None

        return above
    if kind == "bxgy":
        group, free = int(c["buy"]) + int(c["get"]), int(c["get"])
        return lambda lines, amounts, qtys: _bxgy(group, free, lines, amounts, qtys)
    if kind == "bundle":
        size, price = int(c["quantity"]), int(c["price"])
        return lambda lines, amounts, qtys: _bundle(size, price, lines, amounts, qtys)
    raise ValueError(f"{p.id}: kind {kind} not in the campaign's lanes 1-3")


def make_campaign_pricer(campaign: Campaign) -> Callable[[CampaignCart], CampaignQuote]:
    """A function pricing one cart of ``campaign``."""
    promos = campaign.promotions
    count = len(promos)
    lane_of = [LANES.index(p.lane) for p in promos]
    priority = [p.priority for p in promos]
    # application order within a lane: priority (higher first), then declaration
    apply_rank = [0] * count
    for position, index in enumerate(sorted(range(count), key=lambda i: (-priority[i], i))):
        apply_rank[index] = position
    # the clamp's order: lowest priority first, then the later lane, then declared later
    trim_order = sorted(range(count), key=lambda i: (priority[i], -lane_of[i], -i))
    trim_rank = [0] * count
    for position, index in enumerate(trim_order):
        trim_rank[index] = position
    ids = {p.id: i for i, p in enumerate(promos)}
    partners: list[frozenset[int]] = [frozenset()] * count
    for i, p in enumerate(promos):
        for other in p.not_with:  # symmetric, whichever side declares it
            j = ids[other]
            partners[i] |= {j}
            partners[j] |= {i}
    paired = frozenset(i for i in range(count) if partners[i])
    groups: list[str | None] = [p.implicit_group() for p in promos]
    codes_of = [str(p.config["code"]) if p.kind == "coupon" else "" for p in promos]
    evaluators = [_evaluator(p) if p.lane != "price" else _nothing for p in promos]
    gift_cost = [int(p.config.get("cost", 0)) for p in promos]
    gift_sku = [str(p.config.get("sku", "")) for p in promos]

    # per sku: list price, cost, flash offers (start, end, price, rank, promotion), member
    # offers (segment, price, rank, promotion), and the promotions of lanes 1-3 reaching it
    flash: dict[str, list[tuple[int, int, int, int, int]]] = {}
    member: dict[str, list[tuple[str, int, int, int]]] = {}
    targeted: list[dict[str, list[int]]] = [{}, {}, {}, {}]
    everywhere: list[list[int]] = [[], [], [], []]
    day = int(DAY.timestamp())
    for index, (p, reach) in enumerate(zip(promos, _reach(campaign), strict=True)):
        if p.kind == "flash_sale":
            start = day + 3600 * int(p.config["hour"])
            for sku, flash_price in p.config["prices"].items():
                flash.setdefault(sku, []).append(
                    (start, start + 3600, flash_price, apply_rank[index], index)
                )
            continue
        if p.kind == "member_price":
            percent = int(p.config["percent"])
            segment = str(p.config["segment"])
            for sku in reach or campaign.catalogue:
                list_price = campaign.catalogue[sku].price
                offer = list_price - list_price * percent // 100
                if offer < list_price:
                    member.setdefault(sku, []).append((segment, offer, apply_rank[index], index))
            continue
        lane = lane_of[index]
        if reach is None:
            everywhere[lane].append(index)
        else:
            for sku in reach:
                targeted[lane].setdefault(sku, []).append(index)
    facts = {
        s.sku: (
            s.price,
            s.cost,
            tuple(flash.get(s.sku, ())),
            tuple(member.get(s.sku, ())),
            tuple(targeted[1].get(s.sku, ())),
            tuple(targeted[2].get(s.sku, ())),
            tuple(targeted[3].get(s.sku, ())),
        )
        for s in campaign.catalogue.values()
    }
    line_gap = 100 - LINE_MARGIN_PCT
    order_gap = 100 - ORDER_MARGIN_PCT

    def price(cart: CampaignCart) -> CampaignQuote:
        ts = int(cart.at.timestamp())
        segments = cart.segments
        presented = set(cart.codes)
        n = len(cart.lines)
        amounts = [0] * n
        qtys = [0] * n
        costs = [0] * n
        reach: list[tuple[tuple[int, ...], ...]] = [()] * n
        given: dict[int, list[list[int]]] = {}
        # per line, the promotions of a not_with pair that discounted it
        touched: dict[int, set[int]] = {}
        list_total = 0

        # Price lane: each unit pays the lowest price offered (ties: the first applied).
        for i, (sku, qty) in enumerate(cart.lines):
            list_price, cost, flashes, members, item, store, platform = facts[sku]
            amount = list_price * qty
            list_total += amount
            best = list_price
            best_rank = -1
            winner = -1
            for start, end, offered, rank, p in flashes:
                if start <= ts < end and (
                    offered < best or (offered == best and winner >= 0 and rank < best_rank)
                ):
                    best, best_rank, winner = offered, rank, p
            if segments:
                for segment, offered, rank, p in members:
                    if segment in segments and (
                        offered < best or (offered == best and winner >= 0 and rank < best_rank)
                    ):
                        best, best_rank, winner = offered, rank, p
            if winner >= 0:
                rec = given.get(winner)
                if rec is None:
                    given[winner] = [[i], [(list_price - best) * qty]]
                else:
                    rec[0].append(i)
                    rec[1].append((list_price - best) * qty)
                if winner in paired:
                    touched.setdefault(i, set()).add(winner)
                amount = best * qty
            amounts[i] = amount
            qtys[i] = qty
            costs[i] = cost * qty
            reach[i] = (item, store, platform)

        shipping = cart.shipping
        gifts: list[tuple[int, str, int]] = []  # (promotion, sku, cost)
        every_line = list(range(n))
        for lane in (1, 2, 3):
            scope: dict[int, list[int]] = {}
            for i in range(n):
                for p in reach[i][lane - 1]:
                    found = scope.get(p)
                    if found is None:
                        scope[p] = [i]
                    else:
                        found.append(i)
            for p in everywhere[lane]:
                scope[p] = every_line
            offers: list[tuple[int, int, list[int], list[int] | int]] = []
            for p, lines in scope.items():
                code = codes_of[p]
                if code and code not in presented:
                    continue
                if p in paired:
                    mine = partners[p]
                    lines = [i for i in lines if i not in touched or mine.isdisjoint(touched[i])]
                    if not lines:
                        continue
                got = evaluators[p](lines, amounts, qtys)
                if got is not None:
                    offers.append((apply_rank[p], p, lines, got))
            if not offers:
                continue
            offers.sort()
            settled: set[str] = set()
            for _, p, lines, got in offers:
                group = groups[p]
                if group is not None:
                    if group in settled:
                        continue
                    settled.add(group)
                    top: tuple[int, ...] = ()
                    for _, q, q_lines, q_got in offers:
                        if groups[q] != group:
                            continue
                        assert type(q_got) is list  # the campaign groups discounts only
                        # worth what it would give now, every line capped at what is left
                        total = 0
                        for i, part in zip(q_lines, q_got, strict=True):
                            left = amounts[i]
                            total += part if part < left else left
                        key = (total, priority[q], -q)  # ties: priority, then declaration
                        if key > top:
                            top, p, lines, got = key, q, q_lines, q_got
                if type(got) is list:
                    # a promotion of lanes 1-3 applies once a cart: its record starts here
                    on: list[int] = []
                    given_amounts: list[int] = []
                    for i, part in zip(lines, got, strict=True):
                        left = amounts[i]
                        if part > left:
                            part = left
                        if part > 0:
                            amounts[i] = left - part
                            on.append(i)
                            given_amounts.append(part)
                    if on:
                        given[p] = [on, given_amounts]
                        if p in paired:
                            for i in on:
                                touched.setdefault(i, set()).add(p)
                elif got == 0:
                    gifts.append((p, gift_sku[p], gift_cost[p]))
                elif shipping > 0:  # free shipping: the fee left, all of it
                    given[p] = [[-1], [shipping]]
                    shipping = 0

        trims = _clamp(amounts, costs, list_total, gifts, given, trim_rank, line_gap, order_gap)
        return CampaignQuote(amounts, shipping, [sku for _, sku, _ in gifts], trims, given)

    return price


def _bxgy(
    group: int, free: int, lines: list[int], amounts: list[int], qtys: list[int]
) -> list[int] | None:
    """Buy-X-get-Y pooled over ``lines``: for every ``group`` units the ``free`` cheapest
    are free (a line's amount split over its units exactly: the first ``amount % qty``
    units are a minor unit dearer); ties to the earlier line."""
    count = 0
    units = []
    for k, i in enumerate(lines):
        q = qtys[i]
        count += q
        low, high = divmod(amounts[i], q)
        if high:
            units.append((low + 1, k, high))
        if q - high:
            units.append((low, k, q - high))
    left = count // group * free
    if not left:
        return None
    parts = [0] * len(lines)
    units.sort()
    for value, k, units_left in units:
        take = units_left if units_left < left else left
        parts[k] += take * value
        left -= take
        if not left:
            break
    return parts if any(parts) else None


def _bundle(
    size: int, price: int, lines: list[int], amounts: list[int], qtys: list[int]
) -> list[int] | None:
    """Units of ``lines``, dearest first, ``size`` at a time for ``price`` while a group
    costs more; the saving spread over the bundled amounts of each line."""
    dearest: list[tuple[int, int]] = []
    for k, i in enumerate(lines):
        q = qtys[i]
        low, high = divmod(amounts[i], q)
        dearest.extend([(-(low + 1), k)] * high)
        dearest.extend([(-low, k)] * (q - high))
    dearest.sort()
    saving = 0
    chosen: dict[int, int] = {}
    for start in range(0, len(dearest) - size + 1, size):
        bundle = dearest[start : start + size]
        total = -sum(v for v, _ in bundle)
        if total <= price:
            break
        saving += total - price
        for v, k in bundle:
            chosen[k] = chosen.get(k, 0) - v
    if not saving:
        return None
    parts = [0] * len(lines)
    order = sorted(chosen)
    for k, part in zip(order, allocate(saving, [chosen[k] for k in order]), strict=True):
        parts[k] = part
    return parts


def _least(cost: int, gap: int) -> int:
    """The least revenue that keeps a margin floor of ``100 - gap`` percent on ``cost``."""
    return -(-cost * 100 // gap)


def _clamp(
    amounts: list[int],
    costs: list[int],
    list_total: int,
    gifts: list[tuple[int, str, int]],
    given: dict[int, list[list[int]]],
    trim_rank: list[int],
    line_gap: int,
    order_gap: int,
) -> dict[int, int]:
    """The guardrail's clamp: line floors first (each short line's own discounts, lowest
    trim rank first), then the order floor (gifts dropped first, lowest rank first, only
    when even list prices could not hold it with their cost; then whole promotions in
    trim order, a partial take spread over its lines by largest remainder). Changes
    ``amounts``, ``given`` and ``gifts``; returns what was taken per promotion."""
    trims: dict[int, int] = {}
    needs = {}
    for i, amount in enumerate(amounts):
        need = -(-costs[i] * 100 // line_gap) - amount  # _least, inline: every line, every cart
        if need > 0:
            needs[i] = need
    if needs:
        per_line: dict[int, list[tuple[int, list[int], int]]] = {i: [] for i in needs}
        for p, rec in given.items():
            for k, i in enumerate(rec[0]):
                if i in per_line and rec[1][k] > 0:
                    per_line[i].append((trim_rank[p], rec[1], k))
        by_rank = {trim_rank[p]: p for p in given}
        for i, need in needs.items():
            mine = per_line[i]
            mine.sort()
            for rank, amts, k in mine:
                have = amts[k]
                take = need if need < have else have
                amts[k] = have - take
                amounts[i] += take
                p = by_rank[rank]
                trims[p] = trims.get(p, 0) + take
                need -= take
                if not need:
                    break
    cost_total = sum(costs)
    least = _least(cost_total + sum(cost for _, _, cost in gifts), order_gap)
    revenue = sum(amounts)
    if least <= revenue:
        return trims
    if gifts and least > list_total and _least(cost_total, order_gap) <= list_total:
        # even list prices cannot carry the gifts' cost: drop them, lowest rank first
        order = sorted(range(len(gifts)), key=lambda k: (trim_rank[gifts[k][0]], -k))
        dropped = set()
        for k in order:
            if least <= list_total:
                break
            dropped.add(k)
            kept = sum(cost for j, (_, _, cost) in enumerate(gifts) if j not in dropped)
            least = _least(cost_total + kept, order_gap)
        gifts[:] = [g for j, g in enumerate(gifts) if j not in dropped]
    need = least - revenue
    if need <= 0:
        return trims
    for p in sorted(given, key=lambda p: trim_rank[p]):
        lines, amts = given[p]
        pos = sorted((lines[k], k) for k in range(len(amts)) if amts[k] > 0 and lines[k] >= 0)
        if not pos:
            continue
        weights = [amts[k] for _, k in pos]
        have = sum(weights)
        take = need if need < have else have
        for (i, k), part in zip(pos, allocate(take, weights), strict=True):
            amts[k] -= part
            amounts[i] += part
        trims[p] = trims.get(p, 0) + take
        need -= take
        if not need:
            break
    return trims
