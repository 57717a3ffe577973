"""Concurrent redeemers against a limit: the ledger never oversells, on every backend.

Every contender first reads availability (as pricing does), then waits at a barrier
until all contenders have read, so they all act on the same "there is stock" read and
truly race. The same harness runs a deliberately unprotected check-then-act path
(``unprotected.py``) to show it can see an oversell when there is one.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from promorules.counters import ANY_SUBJECT, Consumption, CounterKey, CounterKind, CounterSpec
from promorules.ledger import (
    InsufficientError,
    Ledger,
    ReservationState,
    RetryableLedgerError,
    open_ledger,
)
from tests.ledger.conftest import in_mode, shards_of
from tests.ledger.unprotected import NaiveStock, naive_stock, naive_take

STOCK = CounterKey(CounterKind.FLASH_STOCK, "flash", "sku-1")
COUPON = CounterKey(CounterKind.COUPON_USES, "c10")
PER_CUSTOMER = CounterKey(CounterKind.COUPON_CUSTOMER_USES, "c10", ANY_SUBJECT)
ALICE = CounterKey(CounterKind.COUPON_CUSTOMER_USES, "c10", "alice")

Contender = Callable[[int, Any], bool]


def take(ledger: Ledger, consumption: Consumption, order: str) -> bool:
    """Reserve and commit like a checkout: retry what is retryable, report the verdict."""
    for attempt in range(200):
        try:
            ledger.commit(ledger.reserve(consumption, order, 60))
            return True
        except InsufficientError:
            return False
        except RetryableLedgerError:
            time.sleep(0.001 * min(attempt + 1, 20))
    raise AssertionError(f"{order}: still contended after 200 attempts")


def protected(ledger: Ledger, consumption: Consumption) -> Contender:
    key = consumption[0][0]

    def contender(i: int, barrier: Any) -> bool:
        remaining = ledger.availability([key]).remaining(key)
        barrier.wait()
        # Every contender read "in stock": the read is stale by the time they act.
        assert remaining is not None and remaining > 0
        return take(ledger, consumption, f"order-{i}")

    return contender


def race_threads(n: int, contender: Contender) -> list[bool]:
    barrier = threading.Barrier(n, timeout=120)
    results: list[bool | BaseException] = [False] * n

    def run(i: int) -> None:
        try:
            results[i] = contender(i, barrier)
        except BaseException as exc:  # reported below, with the contender's index
            results[i] = exc
            barrier.abort()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, f"{len(errors)} contenders failed, first: {errors[0]!r}"
    return [bool(r) for r in results]


def used(ledger: Ledger, key: CounterKey) -> tuple[int, int, int]:
    row = next(r for r in ledger.status() if r.key == key)
    assert row.initial == row.available + row.held + row.used
    return row.used, row.held, row.available


@pytest.mark.parametrize(("n", "k"), [(1000, 100), (64, 10), (20, 50)])
def test_threads_never_oversell(backend: str, ledger: Ledger, n: int, k: int) -> None:
    ledger.provision([CounterSpec(STOCK, k)])
    wins = race_threads(n, protected(ledger, ((STOCK, 1),)))
    assert sum(wins) == min(n, k)
    assert used(ledger, STOCK) == (sum(wins), 0, k - sum(wins))
    assert ledger.audit() == []


def test_one_customer_many_attempts_gets_one_use(ledger: Ledger) -> None:
    ledger.provision([CounterSpec(COUPON, 1_000), CounterSpec(PER_CUSTOMER, 1)])
    wins = race_threads(40, protected(ledger, ((ALICE, 1), (COUPON, 1))))
    assert sum(wins) == 1
    assert used(ledger, ALICE) == (1, 0, 0)
    assert used(ledger, COUPON) == (1, 0, 999)


def test_parallel_retries_with_one_key_take_once(ledger: Ledger) -> None:
    ledger.provision([CounterSpec(STOCK, 10)])

    def contender(i: int, barrier: Any) -> bool:
        barrier.wait()
        for _ in range(200):
            try:
                reservation = ledger.reserve(((STOCK, 3),), "the-same-order", 60)
                return reservation.state is ReservationState.HELD
            except RetryableLedgerError:
                time.sleep(0.001)
        raise AssertionError("still contended")

    assert all(race_threads(30, contender))
    assert used(ledger, STOCK) == (0, 3, 7)
    assert len(ledger.reservations()) == 1


def test_negative_control_the_harness_sees_an_oversell(backend: str, ledger_url: str) -> None:
    stock = naive_stock(backend, ledger_url)
    stock.set(10)
    try:
        wins = race_threads(40, lambda i, barrier: naive_take(stock, barrier))
        # Forty "successes" against ten units, and the stock says only one went.
        assert sum(wins) > 10
        assert stock.read() == 9
    finally:
        if hasattr(stock, "drop"):
            stock.drop()


# -- separate processes ----------------------------------------------------------------

# forkserver: children start from a clean process, never from a copy of one whose
# driver threads or mutexes were mid-use.
FORK = multiprocessing.get_context("forkserver")
FORK.set_forkserver_preload(["promorules.ledger", __name__])


def _process_body(
    url: str,
    naive_backend: str | None,
    barrier: Any,
    first: int,
    threads: int,
    results: Any,
    mode: str,
) -> None:
    """One checkout process running ``threads`` contenders (behind one batcher, batched)."""
    if naive_backend is None:
        ledger = open_ledger(url)
        ledger = in_mode(ledger, mode)
        contender = protected(ledger, ((STOCK, 1),))
    else:
        stock: NaiveStock = naive_stock(naive_backend, url)

        def contender(i: int, barrier: Any) -> bool:
            return naive_take(stock, barrier)

    outcome: list[bool | str] = [False] * threads

    def run(j: int) -> None:
        try:
            outcome[j] = contender(first + j, barrier)
        except BaseException as exc:
            outcome[j] = repr(exc)
            barrier.abort()

    pool = [threading.Thread(target=run, args=(j,)) for j in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    results.put(outcome)


def race_processes(
    url: str, naive_backend: str | None, processes: int, threads: int, mode: str = "direct"
) -> list[bool]:
    barrier = FORK.Barrier(processes * threads, timeout=120)
    results = FORK.Queue()
    workers = [
        FORK.Process(
            target=_process_body,
            args=(url, naive_backend, barrier, p * threads, threads, results, mode),
        )
        for p in range(processes)
    ]
    for worker in workers:
        worker.start()
    collected: list[bool | str] = []
    for _ in workers:
        collected += results.get(timeout=240)
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    errors = [r for r in collected if isinstance(r, str)]
    assert not errors, f"{len(errors)} contenders failed, first: {errors[0]}"
    return [bool(r) for r in collected]


@pytest.mark.parametrize(("processes", "threads", "k"), [(8, 125, 100), (16, 1, 5)])
def test_processes_never_oversell(
    shared_url: str, mode: str, processes: int, threads: int, k: int
) -> None:
    with open_ledger(shared_url, shards=shards_of(mode)) as ledger:
        ledger.provision([CounterSpec(STOCK, k)])
    wins = race_processes(shared_url, None, processes=processes, threads=threads, mode=mode)
    assert sum(wins) == k
    with open_ledger(shared_url) as ledger:
        assert used(ledger, STOCK) == (k, 0, 0)
        assert ledger.audit() == []


def test_negative_control_in_processes(shared_backend: str, shared_url: str) -> None:
    stock = naive_stock(shared_backend, shared_url)
    stock.set(10)
    try:
        wins = race_processes(shared_url, shared_backend, processes=8, threads=4)
        assert sum(wins) > 10
    finally:
        if hasattr(stock, "drop"):
            stock.drop()
