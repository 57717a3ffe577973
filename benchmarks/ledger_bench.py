"""Reserve + commit per second, p99 latency and transactions per order, per ledger backend.

Two workloads: ``hot``, every order takes one unit of one flash-sale SKU (the first
second of a flash sale), and ``cold``, every order takes one unit of one of 1,000 SKUs
picked at random. Each at 1 / 8 / 32 / 128 concurrent clients, two ways:

* ``direct``: each client is a separate process (the way checkout workers run) with its
  own handle, each reserve and each commit its own transaction or script;
* ``batched``: the clients are threads of one checkout process sharing one
  ``BatchingLedger`` (``--wait`` seconds of bounded wait, default 1 ms), which
  coalesces their reserves and commits into batches; ``batched/P`` spreads them over P
  checkout processes, a batcher each;
* ``async``: the clients are asyncio tasks of one checkout process's event loop sharing
  one ``AsyncBatchingLedger`` (same ``--wait``), a checkout service on an event loop;
  ``async/P`` spreads them over P processes, an event loop and a batcher each.

Clients start together behind a barrier and loop reserve then commit for ``--seconds``.
Reported per cell: committed orders per second and the p99 of one order's reserve +
commit latency (medians over ``--runs`` runs), and the backend transactions per order
(each a disk flush on SQLite with synchronous=full and PostgreSQL with
synchronous_commit=on; one Lua script on Redis, whose AOF is flushed once a second),
and the checkout side's CPU microseconds per order (the client processes' CPU time over
the run, the servers' not included: on a loaded machine, steadier than the rates); on
Redis also the server's (``srv us``: its main thread's CPU over the run, per order).
SQLite and PostgreSQL run durable, as shipped; memory is one process, so its ``direct``
clients are threads. The load average is printed with the figures: on a shared machine,
read them with it.

    python benchmarks/ledger_bench.py                      # everything (about 15 minutes)
    python benchmarks/ledger_bench.py --quick              # one short run per cell
    python benchmarks/ledger_bench.py --backends sqlite,redis --clients 32 --modes batched

PostgreSQL and Redis URLs come from --postgres / --redis or from
PROMORULES_TEST_POSTGRES_URL / PROMORULES_TEST_REDIS_URL (see .ci/services.sh).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any, NamedTuple

from promorules.counters import CounterKey, CounterKind, CounterSpec
from promorules.ledger import (
    AsyncBatchingLedger,
    BatchingLedger,
    Ledger,
    Outcome,
    RetryableLedgerError,
    open_ledger,
)
from promorules.ledger.base import Hold, Step

HOT = CounterKey(CounterKind.FLASH_STOCK, "bench", "sku-hot")
COLD = tuple(CounterKey(CounterKind.FLASH_STOCK, "bench", f"sku-{i}") for i in range(1_000))
BIG = 10**12


class Tally(NamedTuple):
    """What one client (or one process of them) did."""

    orders: int
    retries: int
    latencies: list[float]


class Cell(NamedTuple):
    rate: float
    p99_ms: float
    txns_per_order: float
    retries: int
    cpu_us: float
    server_us: float | None


def _server_cpu(ledger: Ledger) -> float | None:
    """The Redis server's CPU seconds so far (its main thread), or None on other backends.

    Sampled before and after the clients run; the server also serves anyone else using
    it meanwhile, so on a shared server read it as an upper bound.
    """
    client = getattr(ledger, "_redis", None)
    if client is None:
        return None
    found = client.info("cpu")
    return float(found["used_cpu_user_main_thread"]) + float(found["used_cpu_sys_main_thread"])


def _count_transactions(ledger: Ledger) -> list[int]:
    """Count the backend steps (transactions, scripts) ``ledger`` takes from here on."""
    count = [0]
    apply = ledger._apply_many

    def counted(
        holds: Sequence[Hold], steps: Sequence[Step]
    ) -> tuple[list[Outcome], list[Outcome]]:
        count[0] += 1
        return apply(holds, steps)

    ledger._apply_many = counted  # type: ignore[method-assign]
    return count


def _loop(ledger: Ledger, workload: str, client: str, start: Any, seconds: float) -> Tally:
    """Reserve and commit until the time is up."""
    rng = random.Random(client)
    start.wait()
    deadline = time.perf_counter() + seconds
    done = retries = 0
    latencies: list[float] = []
    while (began := time.perf_counter()) < deadline:
        key = HOT if workload == "hot" else COLD[rng.randrange(len(COLD))]
        try:
            ledger.commit(ledger.reserve(((key, 1),), f"{client}-{done}", 60))
        except RetryableLedgerError:
            retries += 1
            continue
        latencies.append(time.perf_counter() - began)
        done += 1
    return Tally(done, retries, latencies)


def _threads(
    ledger: Ledger,
    workload: str,
    clients: int,
    seconds: float,
    prefix: str,
    start: Any = None,
) -> tuple[list[Tally], float]:
    barrier = threading.Barrier(clients + 1)
    gate = barrier if start is None else start
    out: list[Tally] = []
    workers = [
        threading.Thread(
            target=lambda c=c: out.append(_loop(ledger, workload, f"{prefix}{c}", gate, seconds))
        )
        for c in range(clients)
    ]
    for worker in workers:
        worker.start()
    if start is None:
        barrier.wait()
    began = time.perf_counter()
    for worker in workers:
        worker.join()
    return out, time.perf_counter() - began


def _process_client(
    url: str, workload: str, client: str, start: Any, seconds: float, results: Any
) -> None:
    ledger = open_ledger(url)
    ledger.availability([HOT])  # connect before the clock starts
    count = _count_transactions(ledger)
    cpu = time.process_time()
    tally = _loop(ledger, workload, client, start, seconds)
    results.put((tally, count[0], time.process_time() - cpu))
    ledger.close()


def _batched_process(
    url: str,
    workload: str,
    prefix: str,
    clients: int,
    start: Any,
    seconds: float,
    wait: float,
    results: Any,
    lanes: int = 1,
) -> None:
    """``clients`` threads of one checkout process sharing one BatchingLedger."""
    ledger = open_ledger(url)
    ledger.availability([HOT])
    count = _count_transactions(ledger)
    front = BatchingLedger(ledger, max_wait=wait, lanes=lanes)
    gate = _Relay(start)
    cpu = time.process_time()
    tallies, _ = _threads(front, workload, clients, seconds, prefix, gate)
    cpu = time.process_time() - cpu
    merged = Tally(
        sum(t.orders for t in tallies),
        sum(t.retries for t in tallies),
        [x for t in tallies for x in t.latencies],
    )
    results.put((merged, count[0], cpu))
    front.close()


class _Relay:
    """The threads of one process start when every process passed ``start``."""

    def __init__(self, start: Any) -> None:
        self._start = start
        self._lock = threading.Lock()
        self._passed = False

    def wait(self) -> None:
        with self._lock:
            if not self._passed:
                self._start.wait()
                self._passed = True


async def _async_loop(
    front: AsyncBatchingLedger, workload: str, client: str, deadline: float
) -> Tally:
    """``_loop`` for a task of an event loop, through an AsyncBatchingLedger."""
    rng = random.Random(client)
    done = retries = 0
    latencies: list[float] = []
    while (began := time.perf_counter()) < deadline:
        key = HOT if workload == "hot" else COLD[rng.randrange(len(COLD))]
        try:
            await front.commit(await front.reserve(((key, 1),), f"{client}-{done}", 60))
        except RetryableLedgerError:
            retries += 1
            continue
        latencies.append(time.perf_counter() - began)
        done += 1
    return Tally(done, retries, latencies)


def _tasks(
    ledger: Ledger, workload: str, clients: int, seconds: float, prefix: str, wait: float
) -> tuple[list[Tally], float, int]:
    """``clients`` tasks of one event loop sharing one AsyncBatchingLedger of ``ledger``.

    Returns their tallies, the time they ran and the batches the backend took.
    """

    async def run() -> tuple[list[Tally], float, int]:
        front = AsyncBatchingLedger(ledger, max_wait=wait)
        count = _count_transactions(ledger)
        sender = front._sender
        if sender is not None:  # batches sent from the loop, not through _apply_many
            send = sender.apply_many

            async def counted(
                holds: Sequence[Hold], steps: Sequence[Step]
            ) -> tuple[list[Outcome], list[Outcome]]:
                count[0] += 1
                return await send(holds, steps)

            sender.apply_many = counted  # type: ignore[method-assign]
        began = time.perf_counter()
        tallies = await asyncio.gather(
            *(_async_loop(front, workload, f"{prefix}{c}", began + seconds) for c in range(clients))
        )
        elapsed = time.perf_counter() - began
        await front.aclose()
        return list(tallies), elapsed, count[0]

    return asyncio.run(run())


def _async_process(
    url: str,
    workload: str,
    prefix: str,
    clients: int,
    start: Any,
    seconds: float,
    wait: float,
    results: Any,
) -> None:
    """``clients`` asyncio tasks of one checkout process sharing one AsyncBatchingLedger."""
    ledger = open_ledger(url)
    ledger.availability([HOT])
    start.wait()
    cpu = time.process_time()
    tallies, _, transactions = _tasks(ledger, workload, clients, seconds, prefix, wait)
    cpu = time.process_time() - cpu
    merged = Tally(
        sum(t.orders for t in tallies),
        sum(t.retries for t in tallies),
        [x for t in tallies for x in t.latencies],
    )
    results.put((merged, transactions, cpu))


def processes_of(mode: str) -> int:
    """``batched`` is one checkout process; ``batched/P`` spreads the clients over P."""
    _, _, procs = mode.partition("/")
    return int(procs) if procs else 1


def run_once(
    url: str,
    workload: str,
    clients: int,
    mode: str,
    seconds: float,
    wait: float,
    shards: int = 1,
    lanes: int = 1,
) -> Cell:
    ledger = open_ledger(url)
    ledger.provision(
        [CounterSpec(HOT, BIG), *(CounterSpec(k, BIG) for k in COLD)],
        shards={HOT: shards} if shards > 1 else None,
    )
    batched = mode.startswith(("batched", "async"))
    spread = processes_of(mode) if batched and not url.startswith("memory") else 1
    server = _server_cpu(ledger)
    if mode.startswith("async") and spread == 1:
        # the front closes the handle it is given: its own one, unless in-process memory
        handle = ledger if url.startswith("memory") else open_ledger(url)
        handle.availability([HOT])
        cpu = time.process_time()
        tallies, elapsed, transactions = _tasks(handle, workload, clients, seconds, "a", wait)
        cpu = time.process_time() - cpu
    elif (batched and spread == 1) or url.startswith("memory"):
        count = _count_transactions(ledger)
        front = BatchingLedger(ledger, max_wait=wait, lanes=lanes) if batched else ledger
        cpu = time.process_time()
        tallies, elapsed = _threads(front, workload, clients, seconds, "t")
        cpu = time.process_time() - cpu
        transactions = count[0]
    else:
        ctx = multiprocessing.get_context("forkserver")
        workers = min(spread, clients) if batched else clients
        barrier = ctx.Barrier(workers + 1)
        results = ctx.Queue()
        each = _async_process if mode.startswith("async") else _batched_process
        procs = [
            ctx.Process(
                target=each,
                args=(url, workload, f"p{c}-", share, barrier, seconds, wait, results),
                kwargs={} if each is _async_process else {"lanes": lanes},
            )
            if batched
            else ctx.Process(
                target=_process_client, args=(url, workload, f"p{c}", barrier, seconds, results)
            )
            for c, share in enumerate(_shares(clients, workers))
        ]
        for proc in procs:
            proc.start()
        barrier.wait()
        began = time.perf_counter()
        got = [results.get(timeout=seconds + 300) for _ in procs]
        elapsed = time.perf_counter() - began
        for proc in procs:
            proc.join()
        tallies = [t for t, _, _ in got]
        transactions = sum(n for _, n, _ in got)
        cpu = sum(c for _, _, c in got)
    orders = sum(t.orders for t in tallies)
    after = _server_cpu(ledger)
    server_us = (
        None if server is None or after is None or not orders else (after - server) / orders * 1e6
    )
    used = sum(r.used for r in ledger.status())
    assert used == orders, f"committed orders ({orders}) and counters ({used}) disagree"
    assert ledger.audit() == []
    ledger.destroy()
    ledger.close()
    latencies = sorted(x for t in tallies for x in t.latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else 0.0
    return Cell(
        orders / max(elapsed, seconds),
        p99 * 1000,
        transactions / orders if orders else 0.0,
        sum(t.retries for t in tallies),
        cpu / orders * 1e6 if orders else 0.0,
        server_us,
    )


def _median_or_dash(values: Sequence[float | None]) -> str:
    known = [v for v in values if v is not None]
    return f"{statistics.median(known):.0f}" if known else "-"


def _shares(clients: int, workers: int) -> list[int]:
    """``clients`` spread over ``workers`` processes as evenly as integers go."""
    each, rest = divmod(clients, workers)
    return [each + (1 if i < rest else 0) for i in range(workers)]


def backend_url(name: str, args: argparse.Namespace, folder: str) -> str | None:
    if name == "memory":
        return "memory://"
    if name == "sqlite":
        return f"sqlite:///{folder}/{uuid.uuid4().hex}.db?synchronous=full"
    base = args.postgres if name == "postgres" else args.redis
    if not base:
        return None
    joiner = "&" if "?" in base else "?"
    extra = "&synchronous_commit=on&pool=140" if name == "postgres" else "&pool=140"
    return f"{base}{joiner}namespace=bench_{uuid.uuid4().hex[:10]}{extra}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--backends", default="memory,sqlite,postgres,redis")
    parser.add_argument("--workloads", default="hot,cold")
    parser.add_argument("--clients", default="1,8,32,128")
    parser.add_argument(
        "--modes",
        default="direct,batched",
        help="direct, batched, batched/P, async, async/P (P checkout processes)",
    )
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--wait", type=float, default=0.001, help="the batcher's max_wait")
    parser.add_argument(
        "--shards", type=int, default=1, help="shards of the hot counter (ledger init --shards)"
    )
    parser.add_argument(
        "--lanes", type=int, default=1, help="the batcher's lanes (batches in the backend at once)"
    )
    parser.add_argument("--quick", action="store_true", help="one 1-second run per cell")
    parser.add_argument("--postgres", default=os.environ.get("PROMORULES_TEST_POSTGRES_URL"))
    parser.add_argument("--redis", default=os.environ.get("PROMORULES_TEST_REDIS_URL"))
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.runs = 1.0, 1
    clients = [int(c) for c in args.clients.split(",")]
    print(
        f"reserve+commit: medians of {args.runs} run(s) of {args.seconds:g}s;"
        f" {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f} at start;"
        f" batched max_wait {args.wait * 1000:g} ms, lanes {args.lanes};"
        f" hot counter in {args.shards} shard(s)"
    )
    print(
        f"{'backend':<10}{'work':<6}{'clients':>8}{'mode':>11}{'orders/s':>10}{'p99 ms':>9}"
        f"{'txn/order':>10}{'cpu us':>8}{'srv us':>8}{'retries':>8}  orders/s of each run"
    )
    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as folder:
        for name in args.backends.split(","):
            for workload in args.workloads.split(","):
                for mode in args.modes.split(","):
                    for n in clients:
                        cells = []
                        for _ in range(args.runs):
                            url = backend_url(name, args, folder)
                            if url is None:
                                break
                            cells.append(
                                run_once(
                                    url,
                                    workload,
                                    n,
                                    mode,
                                    args.seconds,
                                    args.wait,
                                    args.shards,
                                    args.lanes,
                                )
                            )
                        if not cells:
                            print(f"{name:<10}{workload:<6}{n:>8}{mode:>11}  skipped: no URL")
                            continue
                        runs = " ".join(f"{c.rate:.0f}" for c in cells)
                        print(
                            f"{name:<10}{workload:<6}{n:>8}{mode:>11}"
                            f"{statistics.median(c.rate for c in cells):>10.0f}"
                            f"{statistics.median(c.p99_ms for c in cells):>9.1f}"
                            f"{statistics.median(c.txns_per_order for c in cells):>10.3f}"
                            f"{statistics.median(c.cpu_us for c in cells):>8.0f}"
                            f"{_median_or_dash([c.server_us for c in cells]):>8}"
                            f"{sum(c.retries for c in cells):>8}  {runs}",
                            flush=True,
                        )
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
