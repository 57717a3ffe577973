"""Running sums of a replay: what the report is made of, kept as plain integers.

A :class:`Totals` takes one priced order at a time and keeps only sums (per promotion,
funder, category, channel, segment, day, phase, guardrail floor, margin bucket), never
the quotes,
so memory does not grow with the log. Totals of parts of a log merge by addition, in
any order, into the totals of the whole: that is what lets workers sum their share of
the orders and the coordinator add the parts up.

Vocabulary: GMV is the list value of the goods ordered (before any discount); the
discount includes shipping taken off; payable is what customers pay for goods and
shipping; cost is the cost of goods sold, gifts included.

A deposit pre-sale comes as two rows of one order: the deposit (priced in the deposit
window, its quote leaves a balance due later) and the final payment (its lines carry
the deposit paid). The sale is counted once, at the final payment; a deposit row only
adds to the deposits taken, and deposits never followed by their final payment are
forfeited.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from promorules.money import allocate
from promorules.quote import GuardrailStatus, PaymentStatus

if TYPE_CHECKING:
    from promorules.quote import Quote
    from promorules.simulate.orders import Order
    from promorules.simulate.periods import Periods

# per-dimension row: orders (lines for categories), units, GMV, discount, payable, cost
ORDERS, UNITS, GMV, DISCOUNT, PAYABLE, COST = range(6)
# per-promotion row: orders it applied to, its discount, and its share (in proportion
# to what it gave: discount plus gift cost) of those orders' GMV, goods payable and
# cost of goods, for ROI; then the gift units it added and their cost
P_ORDERS, P_DISCOUNT, P_GMV, P_PAYABLE, P_COST, P_GIFT_UNITS, P_GIFT_COST = range(7)

MARGIN_LOW, MARGIN_HIGH = -100, 100
"""Margin buckets are whole percents, clipped to this range."""


def _bucket(revenue: int, cost: int) -> int | None:
    if revenue <= 0:
        return None
    return max(MARGIN_LOW, min(MARGIN_HIGH, (revenue - cost) * 100 // revenue))


class Totals:
    """Sums over the orders replayed so far (see the module docstring)."""

    def __init__(self, periods: Periods | None = None) -> None:
        self.periods = periods
        """Days and phases to sum by (none: no per-day or per-phase table)."""
        self.first: float | None = None
        self.last: float | None = None
        """Times of the first and last orders (POSIX seconds): how far the log reaches."""
        self.orders = 0
        self.deposit_orders = 0
        """Deposit rows of pre-sales: not sales yet (see the module docstring)."""
        self.deposits_taken = 0
        self.final_payments = 0
        self.deposits_credited = 0
        """Deposits counted towards final payments (the lines' ``deposit_paid``)."""
        self.promoted = 0
        self.units = 0
        self.gmv = 0
        self.discount = 0
        self.payable = 0
        self.goods_payable = 0
        self.shipping_fee = 0
        self.cost_goods = 0
        self.cost_gifts = 0
        self.by_category: dict[str, list[int]] = {}
        self.by_channel: dict[str, list[int]] = {}
        self.by_segment: dict[str, list[int]] = {}
        self.by_day: dict[str, list[int]] = {}
        self.by_phase: dict[str, list[int]] = {}
        self.by_promotion: dict[str, list[int]] = {}
        self.promotion_days: dict[tuple[str, str], list[int]] = {}
        """(day, promotion id) -> [orders, discount, gift cost]: each promotion's spend
        over time (kept when days are summed: ``periods`` given)."""
        self.by_funder: dict[str, int] = {}
        self.guardrail: dict[str, int] = {}
        """Orders per guardrail status (ok, clamped, rejected, breached)."""
        self.clamp_by_promotion: dict[str, list[int]] = {}
        """Per promotion: [orders clamped, amount taken back]."""
        self.clamp_by_floor: dict[str, list[int]] = {}
        """Per floor (order, line, category:x): [orders, amount taken back]."""
        self.rejected: dict[str, int] = {}
        self.margin_before: dict[int, int] = {}
        self.margin_after: dict[int, int] = {}

    def add(self, order: Order, quote: Quote) -> None:
        """Add one priced order."""
        cart = order.cart
        payments = quote.payments  # empty unless the order holds a deposit pre-sale
        if payments:
            if any(p.status is PaymentStatus.DUE_LATER for p in payments):
                self.deposit_orders += 1
                self.deposits_taken += sum(p.amount for p in payments if p.label == "deposit")
                return
            credited = sum(p.amount for p in payments if p.status is PaymentStatus.PAID)
            if credited:
                self.final_payments += 1
                self.deposits_credited += credited
        gmv = quote.list_total
        discount = quote.discount_total
        payable = quote.payable
        goods = quote.goods_payable
        cost = quote.cost_total
        cost_goods = 0
        units = 0
        ts = order.ts
        if self.last is None or ts > self.last:
            self.last = ts
        if self.first is None or ts < self.first:
            self.first = ts
        self.orders += 1
        self.gmv += gmv
        self.discount += discount
        self.payable += payable
        self.goods_payable += goods
        self.shipping_fee += quote.shipping_fee
        self.cost_gifts += cost
        by_category = self.by_category
        count = len(cart.lines)
        for index, line in enumerate(quote.lines):
            if index >= count:
                break
            units += line.quantity
            cost_goods += line.cost
            row = by_category.get(cart.lines[index].category)
            if row is None:
                row = by_category[cart.lines[index].category] = [0, 0, 0, 0, 0, 0]
            row[ORDERS] += 1
            row[UNITS] += line.quantity
            row[GMV] += line.list_amount
            row[DISCOUNT] += line.list_amount - line.payable
            row[PAYABLE] += line.payable
            row[COST] += line.cost
        self.units += units
        self.cost_goods += cost_goods
        self.cost_gifts -= cost_goods
        keyed = [(self.by_channel, order.channel or ""), (self.by_segment, order.segment)]
        periods = self.periods
        day = ""
        if periods is not None:
            day, phase = periods.at(ts)
            keyed.append((self.by_day, day))
            keyed.append((self.by_phase, phase))
        for table, key in keyed:
            row = table.get(key)
            if row is None:
                row = table[key] = [0, 0, 0, 0, 0, 0]
            row[ORDERS] += 1
            row[UNITS] += units
            row[GMV] += gmv
            row[DISCOUNT] += discount
            row[PAYABLE] += payable
            row[COST] += cost
        by_promotion = quote.discounts_by_promotion
        gifts = quote.gifts_by_promotion
        if by_promotion or gifts:
            self.promoted += 1
            ids = list(by_promotion)
            ids += [pid for pid in gifts if pid not in by_promotion]
            gift_of = [gifts.get(pid, (0, 0)) for pid in ids]
            # what each promotion gave the order: its discount, and a gift's cost
            weights = [
                by_promotion.get(pid, 0) + gift[1] for pid, gift in zip(ids, gift_of, strict=True)
            ]
            if not any(weights):  # only gifts that cost nothing: share the order evenly
                weights = [1] * len(ids)
            shares = zip(
                ids,
                weights,
                gift_of,
                allocate(gmv, weights),
                allocate(goods, weights),
                allocate(cost_goods, weights),
                strict=True,
            )
            for pid, given, gift, share_gmv, share_payable, share_cost in shares:
                row = self.by_promotion.get(pid)
                if row is None:
                    row = self.by_promotion[pid] = [0, 0, 0, 0, 0, 0, 0]
                row[P_ORDERS] += 1
                row[P_DISCOUNT] += given - gift[1]
                row[P_GMV] += share_gmv
                row[P_PAYABLE] += share_payable
                row[P_COST] += share_cost
                row[P_GIFT_UNITS] += gift[0]
                row[P_GIFT_COST] += gift[1]
                if day:
                    spend = self.promotion_days.get((day, pid))
                    if spend is None:
                        spend = self.promotion_days[(day, pid)] = [0, 0, 0]
                    spend[0] += 1
                    spend[1] += given - gift[1]
                    spend[2] += gift[1]
            for funder, amount in quote.discounts_by_funder.items():
                self.by_funder[funder.value] = self.by_funder.get(funder.value, 0) + amount
        guard = quote.guardrail
        status = guard.status.value
        self.guardrail[status] = self.guardrail.get(status, 0) + 1
        if guard.status is not GuardrailStatus.OK:
            for pid, amount in guard.trims.items():
                row = self.clamp_by_promotion.setdefault(pid, [0, 0])
                row[0] += 1
                row[1] += amount
            for floor in guard.floors:
                if floor.trimmed:
                    name = "line" if floor.name.startswith("line[") else floor.name
                    row = self.clamp_by_floor.setdefault(name, [0, 0])
                    row[0] += 1
                    row[1] += floor.trimmed
            for pid in guard.rejected:
                self.rejected[pid] = self.rejected.get(pid, 0) + 1
        before = _bucket(gmv, cost_goods)
        if before is not None:
            self.margin_before[before] = self.margin_before.get(before, 0) + 1
        after = _bucket(goods, cost)
        if after is not None:
            self.margin_after[after] = self.margin_after.get(after, 0) + 1

    @property
    def cost(self) -> int:
        return self.cost_goods + self.cost_gifts

    def merge(self, other: Totals) -> None:
        """Add ``other`` (the totals of other orders) into these."""
        for name in (
            "orders",
            "deposit_orders",
            "deposits_taken",
            "final_payments",
            "deposits_credited",
            "promoted",
            "units",
            "gmv",
            "discount",
            "payable",
            "goods_payable",
            "shipping_fee",
            "cost_goods",
            "cost_gifts",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name, pick in (("first", min), ("last", max)):
            values = [v for v in (getattr(self, name), getattr(other, name)) if v is not None]
            setattr(self, name, pick(values) if values else None)
        for mine, theirs in self._tables(other):
            for key, row in theirs.items():
                found = mine.get(key)
                if found is None:
                    mine[key] = list(row)
                else:
                    for i, value in enumerate(row):
                        found[i] += value
        for when, spend in other.promotion_days.items():
            kept = self.promotion_days.setdefault(when, [0, 0, 0])
            for i, value in enumerate(spend):
                kept[i] += value
        for counts, more in (
            (self.by_funder, other.by_funder),
            (self.guardrail, other.guardrail),
            (self.rejected, other.rejected),
        ):
            for name, value in more.items():
                counts[name] = counts.get(name, 0) + value
        for buckets, extra in (
            (self.margin_before, other.margin_before),
            (self.margin_after, other.margin_after),
        ):
            for bucket, value in extra.items():
                buckets[bucket] = buckets.get(bucket, 0) + value

    def _tables(self, other: Totals) -> Iterable[tuple[dict[str, list[int]], dict[str, list[int]]]]:
        yield self.by_category, other.by_category
        yield self.by_channel, other.by_channel
        yield self.by_segment, other.by_segment
        yield self.by_day, other.by_day
        yield self.by_phase, other.by_phase
        yield self.by_promotion, other.by_promotion
        yield self.clamp_by_promotion, other.clamp_by_promotion
        yield self.clamp_by_floor, other.clamp_by_floor

    def figures(self) -> dict[str, object]:
        """Every sum, for comparing two runs (sequential against parallel) exactly."""
        return {name: getattr(self, name) for name in sorted(vars(self)) if name != "periods"}
