"""Reserve+commit throughput of each ledger backend at 1, 8 and 32 concurrent clients.

Each client is a separate process (the way checkout workers run; threads would measure
the GIL), opened on the same ledger, started together behind a barrier, looping
``reserve`` then ``commit`` for a fixed time. Every order takes one flash-stock unit and
100 minor units of budget (two hot rows every client contends for) and one use of a
per-customer counter created on first use (a new customer each order: the slow path).
The figure is the median over several runs of total committed orders per second.

    python benchmarks/ledger_bench.py                 # memory, sqlite, and servers if set
    python benchmarks/ledger_bench.py --quick         # one short run each
    python benchmarks/ledger_bench.py --backends sqlite,redis --clients 1,8 --seconds 5

Backends: memory, sqlite (synchronous=full, the default), sqlite-normal, postgres,
postgres-async (synchronous_commit=off), redis.

PostgreSQL and Redis URLs come from --postgres / --redis or from
PROMORULES_TEST_POSTGRES_URL / PROMORULES_TEST_REDIS_URL (see .ci/services.sh).
``memory`` is in-process only, so its clients are threads (say so in any report).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from typing import Any

from promorules.counters import ANY_SUBJECT, CounterKey, CounterKind, CounterSpec
from promorules.ledger import Ledger, RetryableLedgerError, open_ledger

STOCK = CounterKey(CounterKind.FLASH_STOCK, "bench", "sku-1")
BUDGET = CounterKey(CounterKind.BUDGET, "bench")
EACH = CounterKey(CounterKind.COUPON_CUSTOMER_USES, "bench", ANY_SUBJECT)
BIG = 10**12


def _loop(ledger: Ledger, client: str, start: Any, stop_at: list[float]) -> tuple[int, int]:
    """Reserve and commit until the deadline; returns (orders, retries)."""
    start.wait()
    deadline = stop_at[0] if stop_at[0] else time.time() + stop_at[1]
    done = retries = 0
    while time.time() < deadline:
        order = f"{client}-{done}"
        customer = CounterKey(EACH.kind, EACH.promotion, order)
        try:
            ledger.commit(ledger.reserve(((STOCK, 1), (BUDGET, 100), (customer, 1)), order, 60))
            done += 1
        except RetryableLedgerError:
            retries += 1
    return done, retries


def _process_client(url: str, client: str, start: Any, seconds: float, results: Any) -> None:
    ledger = open_ledger(url)
    ledger.availability([STOCK])  # connect before the clock starts
    results.put(_loop(ledger, client, start, [0.0, seconds]))
    ledger.close()


def run_once(url: str, clients: int, seconds: float, threads: bool) -> tuple[float, int]:
    ledger = open_ledger(url)
    ledger.provision([CounterSpec(STOCK, BIG), CounterSpec(BUDGET, BIG), CounterSpec(EACH, 1)])
    if threads:
        barrier = threading.Barrier(clients + 1)
        out: list[tuple[int, int]] = []
        workers = [
            threading.Thread(
                target=lambda c=c: out.append(_loop(ledger, f"t{c}", barrier, [0.0, seconds]))
            )
            for c in range(clients)
        ]
        for w in workers:
            w.start()
        barrier.wait()
        began = time.time()
        for w in workers:
            w.join()
    else:
        ctx = multiprocessing.get_context("forkserver")
        barrier = ctx.Barrier(clients + 1)
        results = ctx.Queue()
        procs = [
            ctx.Process(target=_process_client, args=(url, f"p{c}", barrier, seconds, results))
            for c in range(clients)
        ]
        for p in procs:
            p.start()
        barrier.wait()
        began = time.time()
        out = [results.get(timeout=seconds + 120) for _ in procs]
        for p in procs:
            p.join()
    elapsed = max(time.time() - began, seconds)
    row = next(r for r in ledger.status() if r.key == STOCK)
    assert row.used == sum(d for d, _ in out), "committed orders and stock disagree"
    ledger.destroy()
    ledger.close()
    return sum(d for d, _ in out) / elapsed, sum(r for _, r in out)


def backend_url(name: str, args: argparse.Namespace, folder: str) -> str | None:
    if name == "memory":
        return "memory://"
    if name.startswith("sqlite"):
        sync = "normal" if name == "sqlite-normal" else "full"
        return f"sqlite:///{folder}/{uuid.uuid4().hex}.db?synchronous={sync}"
    base = args.postgres if name.startswith("postgres") else args.redis
    if not base:
        return None
    joiner = "&" if "?" in base else "?"
    extra = "&synchronous_commit=off" if name == "postgres-async" else ""
    return f"{base}{joiner}namespace=bench_{uuid.uuid4().hex[:10]}{extra}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="memory,sqlite,postgres,redis")
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one 1-second run per cell")
    parser.add_argument("--postgres", default=os.environ.get("PROMORULES_TEST_POSTGRES_URL"))
    parser.add_argument("--redis", default=os.environ.get("PROMORULES_TEST_REDIS_URL"))
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.runs = 1.0, 1
    clients = [int(c) for c in args.clients.split(",")]
    print(
        f"reserve+commit per second, median of {args.runs} run(s) of {args.seconds:g}s;"
        f" {os.cpu_count()} CPUs; clients are processes (memory: threads)"
    )
    print(f"{'backend':<14}{'clients':>8}{'ops/s':>10}{'retries':>9}  runs")
    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as folder:
        for name in args.backends.split(","):
            for n in clients:
                figures, retries = [], 0
                for _ in range(args.runs):
                    url = backend_url(name, args, folder)
                    if url is None:
                        break
                    rate, retried = run_once(url, n, args.seconds, threads=name == "memory")
                    figures.append(rate)
                    retries += retried
                if not figures:
                    print(f"{name:<14}{n:>8}{'skipped: no URL':>19}")
                    continue
                runs = " ".join(f"{f:.0f}" for f in figures)
                median = statistics.median(figures)
                print(f"{name:<14}{n:>8}{median:>10.0f}{retries:>9}  {runs}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
