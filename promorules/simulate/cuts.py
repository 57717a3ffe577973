"""Budget cuts: which orders a promotion's or a funder's budget trimmed or refused, by
how much, and on which day.

Pricing trims (or refuses) a discount that would exceed what is left of a budget, and
the quote does not say what the discount would otherwise have been. The replay finds
out only where a budget can have bound: pricing read a budget whose remaining amount
is below the most the order can be discounted (its list value plus its shipping fee).
Then the order is priced a second time with every budget untouched, and the
difference per promotion is what the budgets cut: a promotion left with nothing was
refused, one left with less was trimmed. Where no budget was that low no cut can have
happened, and no second pricing is spent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from promorules.cart import Context
from promorules.counters import CounterKey, CounterKind

if TYPE_CHECKING:
    from promorules.engine import Engine
    from promorules.quote import Quote
    from promorules.simulate.orders import Order
    from promorules.simulate.periods import Periods
    from promorules.simulate.state import ReplayState

BUDGET_KINDS = (CounterKind.BUDGET, CounterKind.FUNDER_BUDGET)
_UNTOUCHED = 1 << 62
"""What an untouched budget answers: more than any order can be discounted."""

# per (day, promotion): orders trimmed, amount trimmed, orders refused
TRIMMED_ORDERS, TRIMMED, REFUSED_ORDERS = range(3)


class _Watching:
    """The replay state as pricing's availability, noting the lowest budget it read."""

    __slots__ = ("budgets", "low", "state")

    def __init__(self, state: ReplayState, budgets: frozenset[CounterKey]) -> None:
        self.state = state
        self.budgets = budgets
        self.low: int | None = None

    def remaining(self, key: CounterKey) -> int | None:
        left = self.state.remaining(key)
        if left is not None and key in self.budgets and (self.low is None or left < self.low):
            self.low = left
        return left

    def paused(self, promotion: str) -> bool:
        return self.state.paused(promotion)


class _Untouched:
    """The replay state with every budget as if nothing had been spent from it."""

    __slots__ = ("budgets", "state")

    def __init__(self, state: ReplayState, budgets: frozenset[CounterKey]) -> None:
        self.state = state
        self.budgets = budgets

    def remaining(self, key: CounterKey) -> int | None:
        return _UNTOUCHED if key in self.budgets else self.state.remaining(key)

    def paused(self, promotion: str) -> bool:
        return self.state.paused(promotion)


class BudgetCuts:
    """Finds and sums the budget cuts of the orders a replayer prices."""

    def __init__(self, engine: Engine, state: ReplayState, periods: Periods) -> None:
        self.engine = engine
        self.periods = periods
        budgets = frozenset(s.key for s in engine.counters if s.key.kind in BUDGET_KINDS)
        self._watching = _Watching(state, budgets) if budgets else None
        self._untouched = _Untouched(state, budgets)
        self.rows: dict[tuple[str, str], list[int]] = {}
        """(day, promotion id) -> [orders trimmed, amount trimmed, orders refused]."""
        self.repriced = 0
        """Orders priced a second time to measure a cut."""

    @property
    def availability(self) -> _Watching | ReplayState:
        """What to price orders against: the state itself when nothing has a budget."""
        return self._watching if self._watching is not None else self._untouched.state

    def after(self, order: Order, quote: Quote) -> None:
        """Note ``quote``'s cuts, if any; call after pricing, before consuming."""
        watching = self._watching
        if watching is None or watching.low is None:
            return
        low, watching.low = watching.low, None
        if low >= quote.list_total + quote.shipping_fee:
            return
        self.repriced += 1
        context = Context(order.at, order.channel, order.coupons, self._untouched)
        free = self.engine.price(order.cart, context).discounts_by_promotion
        given = quote.discounts_by_promotion
        day = ""
        for pid, wanted in free.items():
            got = given.get(pid, 0)
            if got >= wanted:
                continue
            day = day or self.periods.day(order.ts)
            row = self.rows.setdefault((day, pid), [0, 0, 0])
            if got:
                row[TRIMMED_ORDERS] += 1
            else:
                row[REFUSED_ORDERS] += 1
            row[TRIMMED] += wanted - got

    def by_promotion(self) -> dict[str, list[int]]:
        """The rows summed over days."""
        out: dict[str, list[int]] = {}
        for (_day, pid), row in self.rows.items():
            found = out.setdefault(pid, [0, 0, 0])
            for i, value in enumerate(row):
                found[i] += value
        return out
