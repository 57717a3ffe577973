"""How many processes a replay should use (``--workers auto``): parallel only when it pays.

The parallel replay (:mod:`promorules.simulate.parallel`) has a coordinator that
re-prices, one by one, every order whose pricing read a counter, and takes every
block's results in log order; workers price the rest and send their results over a
pipe. Whether that beats one process depends on the machine and on the log, so
:func:`probe` measures on the first orders of the log, in this process:

- the time to read and price an order;
- the share of orders whose pricing reads a counter (the coordinator's share);
- the time to send an order's result from a worker to the coordinator (pickle and
  unpickle of what a worker would send).

:func:`choose` then models a run on ``w`` workers: the workers' time per order is
(price + send) / w, the coordinator's is share x price + send, and the slower of the
two sets the pace. The coordinator keeps a core of its own (``w <= cores - 1``): on a
2-core machine, where workers and coordinator took turns on the cores, 2 workers
replayed 1M orders at 5,670 orders/s against 9,710 for one process. Parallel is chosen
when the model gains at least :data:`MIN_GAIN` and the log takes long enough for the
process start-up (each worker compiles the ruleset) not to eat the gain.
"""

from __future__ import annotations

import itertools
import os
import pickle
import time
from typing import TYPE_CHECKING

import attrs

from promorules.cart import Context
from promorules.simulate.parallel import AskRecorder

if TYPE_CHECKING:
    from promorules.engine import Engine
    from promorules.simulate.orders import Order
    from promorules.simulate.parallel import Job

PROBE_ORDERS = 2000
MIN_GAIN = 1.3
"""Parallel must be modelled at least this much faster than one process."""
MIN_SECONDS = 10.0
"""Logs modelled to take less than this on one process are replayed on one process."""


@attrs.frozen
class Probe:
    orders: int
    price_seconds: float
    """Reading and pricing, per order."""
    asking: float
    """Share of the orders whose pricing read a counter."""
    send_seconds: float
    """Sending a worker's result for one order to the coordinator."""


@attrs.frozen
class Choice:
    workers: int
    reason: str


def cores() -> int:
    """Cores this process may run on (its affinity where the system tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def probe(engine: Engine, job: Job, limit: int = PROBE_ORDERS) -> Probe:
    """Measure the log's first ``limit`` orders (see the module docstring)."""
    recorder = AskRecorder()
    events: list[Order | tuple[float, object]] = []
    asked = 0
    started = time.perf_counter()
    count = 0
    for order in itertools.islice(job.reader(engine).read(job.path), limit):
        count += 1
        recorder.asked = False
        context = Context(order.at, order.channel, order.coupons, recorder)
        quote = engine.price(order.cart, context)
        if recorder.asked:
            asked += 1
            events.append(order)
        elif quote.consumption:
            events.append((order.ts, quote.consumption))
    priced = time.perf_counter() - started
    started = time.perf_counter()
    pickle.loads(pickle.dumps(events, pickle.HIGHEST_PROTOCOL))
    sent = time.perf_counter() - started
    if not count:
        return Probe(0, 0.0, 0.0, 0.0)
    return Probe(count, priced / count, asked / count, sent / count)


def choose(measured: Probe, rows: int, available: int) -> Choice:
    """The number of workers for a log of ``rows`` orders on ``available`` cores."""
    if available < 3:
        return Choice(1, f"{available} core(s): no core left for the coordinator")
    price, send = measured.price_seconds, measured.send_seconds
    alone = price * rows
    if alone < MIN_SECONDS:
        return Choice(1, f"about {alone:.1f} s on one process: too short to gain from more")
    best, gain = 1, 1.0
    coordinator = measured.asking * price + send
    for workers in range(2, available):
        pace = max((price + send) / workers, coordinator)
        if price / pace > gain:
            best, gain = workers, price / pace
    if gain < MIN_GAIN:
        return Choice(
            1,
            f"{measured.asking:.0%} of orders read a counter: the coordinator would "
            f"re-price them one by one (modelled gain {gain:.2f}x)",
        )
    return Choice(
        best,
        f"{measured.asking:.0%} of orders read a counter; modelled gain {gain:.2f}x "
        f"on {best} workers",
    )


def auto_workers(engine: Engine, job: Job, rows: int, available: int | None = None) -> Choice:
    """Probe the log and choose (see the module docstring)."""
    here = cores() if available is None else available
    if here < 3:  # no need to probe: the machine decides
        return choose(Probe(0, 0.0, 0.0, 0.0), rows, here)
    return choose(probe(engine, job), rows, here)
