"""Replay on several cores (processes) or on a Dask cluster, with exactly the sequential totals.

Stock, coupon uses and budgets make a replay sequential: whether an order gets a
discount may depend on every order before it. What does not depend on them is
reading and parsing the log, and pricing every order whose quote never looks at a
counter. So:

1. The log is cut into byte ranges of whole rows (:func:`~promorules.simulate.orders.plan_blocks`);
   workers read and price their blocks in parallel, each order against an
   availability that only *records* whether pricing asked about any counter.
2. Pricing is a pure function of the cart, the context and the answers the
   availability gives. An order whose pricing asked nothing would get the same quote
   whatever the counters held, so the worker's quote is final: the worker adds it to
   its block's totals and passes on only what it consumes (if anything).
3. An order whose pricing asked about a counter goes back, parsed, to the
   coordinator. The coordinator walks the blocks in log order and, within each, the
   orders in order: it takes the consumption of final quotes and re-prices the
   others against the live counters, exactly as the sequential replay does.

The counters therefore change in the same order, by the same amounts, as in the
sequential replay, and every quote is the one the sequential replay computes; totals
are sums of integers, so adding the blocks' totals in any order gives the same figures.
``docs/simulate.md`` tells the same for planners.
"""

from __future__ import annotations

import importlib
import uuid
from collections import deque
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from promorules.cart import Context
from promorules.counters import Consumption, CounterKey
from promorules.simulate.orders import Block, LogFormat, Order, OrderError, OrderReader, plan_blocks
from promorules.simulate.periods import Periods
from promorules.simulate.replay import Outcome, Progress, Replayer
from promorules.simulate.totals import Totals

if TYPE_CHECKING:
    from promorules.cartfile import CatalogItem
    from promorules.engine import Engine

DEFAULT_BLOCK_BYTES = 2 * 1024 * 1024


@attrs.frozen(eq=False)
class Job:
    """Everything a worker needs to price blocks of one log, and nothing heavy: the
    ruleset as text (workers compile their own engine once), plugin module names
    (``None``: the installed entry points), the catalogue, and the log's path."""

    ruleset_text: str
    ruleset_source: str
    plugins: tuple[str, ...] | None
    catalog: Mapping[str, CatalogItem] | None
    path: str
    fmt: LogFormat
    baseline: bool = False
    """Price with the ruleset's promotions removed (a "no promotions" baseline)."""
    key: str = attrs.field(factory=lambda: uuid.uuid4().hex)

    def engine(self) -> Engine:
        from promorules.engine import Engine
        from promorules.simulate.replay import without_promotions

        plugins = (
            None
            if self.plugins is None
            else [importlib.import_module(name) for name in self.plugins]
        )
        engine = Engine.from_string(self.ruleset_text, plugins=plugins, source=self.ruleset_source)
        return without_promotions(engine) if self.baseline else engine

    def reader(self, engine: Engine) -> OrderReader:
        return OrderReader(self.path, self.fmt, engine.currency, engine.ruleset.tz, self.catalog)


@attrs.define
class BlockResult:
    """A block priced by a worker: totals of its final quotes, and the events the
    coordinator must play in order (an Order to re-price, or a consumption to take)."""

    totals: Totals
    events: list[Order | tuple[float, Consumption]]
    first: tuple[float, int] | None
    last: tuple[float, int] | None
    count: int


class AskRecorder:
    """An availability that answers "unlimited" and notes whether it was asked."""

    __slots__ = ("asked",)

    def __init__(self) -> None:
        self.asked = False

    def remaining(self, key: CounterKey) -> int | None:
        self.asked = True
        return None

    def paused(self, promotion: str) -> bool:
        # replays have no emergency controls (ReplayState.paused is always False too)
        return False


_PREPARED: dict[str, tuple[Engine, OrderReader]] = {}


def _prepared(job: Job) -> tuple[Engine, OrderReader]:
    found = _PREPARED.get(job.key)
    if found is None:
        _PREPARED.clear()  # one job at a time per worker process
        engine = job.engine()
        found = _PREPARED[job.key] = (engine, job.reader(engine))
    return found


def price_block(job: Job, block: Block) -> BlockResult:
    """Read and price one block (runs in a worker process)."""
    engine, reader = _prepared(job)
    totals = Totals(Periods.of(engine.ruleset))
    events: list[Order | tuple[float, Consumption]] = []
    recorder = AskRecorder()
    first: tuple[float, int] | None = None
    last: tuple[float, int] | None = None
    count = 0
    for order in reader.read(job.path, block):
        if last is not None and order.ts < last[0]:
            raise OrderError(
                job.path,
                order.line,
                "orders must be in time order: this order "
                f"is earlier than the one on line {last[1]}",
                "PR304",
            )
        last = (order.ts, order.line)
        if first is None:
            first = last
        count += 1
        recorder.asked = False
        quote = engine.price(order.cart, Context(order.at, order.channel, order.coupons, recorder))
        if recorder.asked:
            events.append(order)
            continue
        totals.add(order, quote)
        consumption = quote.consumption
        if consumption:
            events.append((order.ts, consumption))
    return BlockResult(totals, events, first, last, count)


def _local(job: Job, workers: int, block_bytes: int) -> Iterator[BlockResult]:
    from concurrent.futures import Future, ProcessPoolExecutor

    pool = ProcessPoolExecutor(max_workers=workers)
    pending: deque[Future[BlockResult]] = deque()
    try:
        # a bounded window of blocks in flight keeps memory flat on any log size
        for block in plan_blocks(job.path, job.fmt, block_bytes):
            pending.append(pool.submit(price_block, job, block))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _dask(job: Job, workers: int, block_bytes: int, address: str | None) -> Iterator[BlockResult]:
    try:
        distributed: Any = importlib.import_module("dask.distributed")
    except ImportError:
        from promorules.diagnostics import PromorulesError

        raise PromorulesError(
            "the dask backend needs Dask: pip install 'promorules[distributed]'"
        ) from None
    cluster: Any = None
    if address is None:
        cluster = distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = distributed.Client(cluster)
    else:
        client = distributed.Client(address)
    pending: deque[Any] = deque()
    try:
        [shared] = client.scatter([job], broadcast=True)
        window = 2 * max(workers, len(client.scheduler_info().get("workers", {})))
        for block in plan_blocks(job.path, job.fmt, block_bytes):
            pending.append(client.submit(price_block, shared, block, pure=False))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()
        client.close()
        if cluster is not None:
            cluster.close()


def replay_blocks(
    engine: Engine,
    job: Job,
    *,
    workers: int = 2,
    backend: str = "local",
    block_bytes: int = DEFAULT_BLOCK_BYTES,
    address: str | None = None,
    progress: Progress | None = None,
) -> Outcome:
    """Replay the log of ``job`` over ``workers`` processes (``backend`` ``"local"``) or
    a Dask cluster (``"dask"``; ``address`` of a running scheduler, else a local cluster
    of ``workers`` processes). ``engine`` must be the engine the job compiles."""
    if backend == "dask":
        results = _dask(job, workers, block_bytes, address)
    else:
        results = _local(job, workers, block_bytes)
    replayer = Replayer(engine)
    parts = Totals()
    repriced = 0
    count = 0
    for result in results:
        if result.first is None or result.last is None:
            continue
        replayer.check_time(result.first[0], result.first[1], job.path)
        for event in result.events:
            if isinstance(event, Order):
                replayer.replay(event)
                repriced += 1
            else:
                replayer.consume(*event)
        replayer.check_time(result.last[0], result.last[1], job.path)
        parts.merge(result.totals)
        count += result.count
        if progress is not None:
            progress(count)
    replayer.totals.merge(parts)
    outcome = replayer.outcome()
    outcome.workers, outcome.backend, outcome.repriced = workers, backend, repriced
    return outcome
