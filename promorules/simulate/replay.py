"""Replay: orders priced in time order against counters that run down as they would have.

:class:`Replayer` holds the engine, the counter state and the running totals. For each
order it prices the cart against what is left (:meth:`Replayer.replay`), takes what
the quote consumes, records the burn, and adds the order to the totals. This
sequential replay is the reference: :mod:`promorules.simulate.parallel` spreads the
work over processes and gives exactly the same totals.

What an order consumes is the quote's ``consumption``, taken as it is: it already
lists every counter once (coupon uses, stock, gifts, each budgeted promotion's discount
and each budgeted funder's share). Pricing enforces promotion and funder budgets alike
(trimming or refusing discounts against what is left), so a replay never adds to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import attrs

from promorules.cart import Context
from promorules.counters import Consumption
from promorules.simulate.burn import BurnLog
from promorules.simulate.cuts import BudgetCuts
from promorules.simulate.orders import Order, OrderError
from promorules.simulate.periods import Periods
from promorules.simulate.state import ReplayState
from promorules.simulate.totals import Totals

if TYPE_CHECKING:
    from promorules.engine import Engine
    from promorules.quote import Quote

Progress = Callable[[int], None]
"""Called with the number of orders replayed so far."""


def without_promotions(engine: Engine) -> Engine:
    """The same campaign, guardrails and catalogue with no promotion: a "no promotions"
    baseline."""
    from promorules.engine import Engine

    return Engine(attrs.evolve(engine.ruleset, promotions=()), engine.kinds)


@attrs.define
class Outcome:
    """What a replay found: the totals, the burn, and how many orders the ledger would
    have refused (a quote consuming more than was left)."""

    totals: Totals
    burn: BurnLog
    cuts: BudgetCuts
    refused: int = 0
    workers: int = 1
    backend: str = "sequential"
    repriced: int = 0
    """Orders the coordinator priced itself because they read a counter (parallel runs)."""


class Replayer:
    """Prices orders in time order against the replay state and sums the results."""

    def __init__(self, engine: Engine, state: ReplayState | None = None) -> None:
        self.engine = engine
        self.state = state if state is not None else ReplayState.provisioned(engine.counters)
        periods = Periods.of(engine.ruleset)
        self.totals = Totals(periods)
        self.burn = BurnLog(engine.counters)
        self.cuts = BudgetCuts(engine, self.state, periods)
        self.refused = 0
        self._last: tuple[float, int, str] | None = None

    def check_order(self, order: Order, source: str) -> None:
        """Orders must come in time order (ties keep their order in the log)."""
        self.check_time(order.ts, order.line, source)

    def check_time(self, ts: float, line: int, source: str) -> None:
        last = self._last
        if last is not None and ts < last[0]:
            raise OrderError(
                source,
                line,
                f"orders must be in time order: this order is "
                f"earlier than the one on line {last[1]}",
                "PR304",
            )
        self._last = (ts, line, source)

    def price(self, order: Order) -> Quote:
        context = Context(order.at, order.channel, order.coupons, self.cuts.availability)
        return self.engine.price(order.cart, context)

    def replay(self, order: Order) -> Quote:
        """Price one order against what is left, take its consumption, add it up."""
        quote = self.price(order)
        self.cuts.after(order, quote)
        self.consume(order.ts, quote.consumption)
        self.totals.add(order, quote)
        return quote

    def consume(self, ts: float, consumption: Consumption) -> None:
        if consumption:
            if self.state.take(consumption):
                self.burn.record(ts, consumption)
            else:
                self.refused += 1
                self.burn.refused(consumption)

    def outcome(self) -> Outcome:
        return Outcome(self.totals, self.burn, self.cuts, self.refused)


def replay(
    engine: Engine,
    orders: Iterable[Order],
    *,
    source: str = "<orders>",
    progress: Progress | None = None,
    every: int = 5000,
) -> Outcome:
    """Replay ``orders`` (in time order) one by one: the reference replay."""
    replayer = Replayer(engine)
    count = 0
    for order in orders:
        replayer.check_order(order, source)
        replayer.replay(order)
        count += 1
        if progress is not None and count % every == 0:
            progress(count)
    if progress is not None:
        progress(count)
    return replayer.outcome()
