"""Conservation through crashes: checkout processes are SIGKILLed mid-flight.

``initial == available + held + used`` must hold at every observation while processes
die between reserve and commit (and anywhere else, mid-transaction included); after
the sweeper runs past every deadline the holds of the dead are back, and ``used`` is
exactly what committed reservations account for: nothing lost, nothing counted twice.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import threading
import time
from typing import Any

import pytest

from promorules.counters import CounterKey, CounterKind, CounterSpec
from promorules.ledger import (
    InsufficientError,
    Ledger,
    ReservationState,
    RetryableLedgerError,
    open_ledger,
)
from tests.ledger.conftest import MODES, in_mode, shards_of

STOCK = CounterKey(CounterKind.FLASH_STOCK, "flash", "sku-1")
BUDGET = CounterKey(CounterKind.BUDGET, "flash")
# forkserver, not fork: the watcher thread may sit inside SQLite's or a driver's mutex at
# the moment of a fork, and a forked child would inherit that mutex locked forever.
FORK = multiprocessing.get_context("forkserver")
FORK.set_forkserver_preload(["promorules.ledger", __name__])
CONSUMPTION = ((BUDGET, 250), (STOCK, 1))
UNITS = 100_000  # enough that the workers never sell out: every kill hits live work


def _open(url: str, mode: str) -> Ledger:
    ledger = open_ledger(url)
    return in_mode(ledger, mode)


def _checkout_loop(url: str, seed: int, reserved: Any, mode: str) -> None:
    """Reserve, then commit, release or walk away, forever: until SIGKILL.

    Batched, four threads of the process loop behind one batcher, so the kill lands in
    the middle of batches.
    """
    ledger = _open(url, mode)
    if mode in ("batched", "async", "lanes"):
        for thread in range(1, 4):
            threading.Thread(
                target=_loop, args=(ledger, seed * 10 + thread, reserved), daemon=True
            ).start()
    _loop(ledger, seed * 10, reserved)


def _loop(ledger: Ledger, seed: int, reserved: Any) -> None:
    rng = random.Random(seed)
    for i in range(1_000_000):
        try:
            reservation = ledger.reserve(CONSUMPTION, f"{seed}-{i}", 30)
            reserved.set()  # the parent may now kill us between reserve and commit
            choice = rng.random()
            if choice < 0.6:
                ledger.commit(reservation)
            elif choice < 0.8:
                ledger.release(reservation)
        except (InsufficientError, RetryableLedgerError):
            time.sleep(0.001)


def _reserve_and_wait(url: str, reserved: Any, mode: str) -> None:
    """Take a hold and stall before paying, so the kill lands exactly there."""
    ledger = _open(url, mode)
    ledger.reserve(CONSUMPTION, f"stalled-{os.getpid()}", 30)
    reserved.set()
    time.sleep(600)


def _settle(ledger: Ledger) -> None:
    """Wait until the ledger stops moving: work a killed worker had sent still lands.

    A server finishes a statement its client sent before dying (on PostgreSQL a whole
    batch is one statement), so the counters and reservations may move for a moment
    after the kill; the audit is exact only once they stand still.
    """
    seen = None
    for _ in range(100):
        now = (
            sorted(ledger.status(), key=lambda r: str(r.key)),
            sorted(ledger.reservations(), key=lambda r: r.key),
        )
        if now == seen:
            return
        seen = now
        time.sleep(0.1)
    raise AssertionError("the ledger kept moving after every worker was killed")


@pytest.mark.parametrize("mode", MODES)
def test_sigkill_between_reserve_and_commit_conserves_every_unit(
    shared_url: str, mode: str
) -> None:
    rounds = 12 if mode == "direct" else 3  # the other modes add coverage, not rounds
    with open_ledger(shared_url, shards=shards_of(mode)) as ledger:
        ledger.provision([CounterSpec(STOCK, UNITS), CounterSpec(BUDGET, 250 * UNITS)])
    stop = threading.Event()
    observations: list[int] = [0]
    broken: list[str] = []

    def watch() -> None:
        with open_ledger(shared_url) as watcher:
            while not stop.is_set():
                for row in watcher.status():
                    if (
                        row.initial != row.available + row.held + row.used
                        or min(row.available, row.held, row.used) < 0
                    ):
                        broken.append(repr(row))
                observations[0] += 1

    monitor = threading.Thread(target=watch)
    monitor.start()
    rng = random.Random(7)
    killed_after_reserve = 0
    try:
        for round_ in range(rounds):
            reserved = FORK.Event()
            target = _reserve_and_wait if round_ % 3 == 0 else _checkout_loop
            workers = [
                FORK.Process(
                    target=target,
                    args=(shared_url, reserved, mode)
                    if round_ % 3 == 0
                    else (shared_url, 10 * round_ + w, reserved, mode),
                )
                for w in range(2)
            ]
            for worker in workers:
                worker.start()
            assert reserved.wait(30), "no worker managed to reserve"
            time.sleep(rng.uniform(0.0, 0.15))
            for worker in workers:
                assert worker.pid is not None
                assert worker.exitcode is None, f"worker died on its own: {worker.exitcode}"
                os.kill(worker.pid, signal.SIGKILL)
            for worker in workers:
                worker.join(10)
                assert worker.exitcode == -signal.SIGKILL
            killed_after_reserve += len(workers)
    finally:
        stop.set()
        monitor.join(30)

    assert not broken, broken[:5]
    assert observations[0] > 10
    with open_ledger(shared_url) as ledger:
        _settle(ledger)
        held = ledger.reservations(ReservationState.HELD)
        assert held, "some holds were orphaned by the kills"
        assert ledger.audit() == []
        assert ledger.sweep(now=time.time() + 3_600) == len(held)
        assert ledger.sweep(now=time.time() + 3_600) == 0
        assert ledger.audit() == []
        committed = len(ledger.reservations(ReservationState.COMMITTED))
        figures = {r.key: r for r in ledger.status()}
        assert figures[STOCK].held == 0
        assert figures[STOCK].used == committed
        assert figures[STOCK].available == UNITS - committed
        assert figures[BUDGET].used == 250 * committed
    assert killed_after_reserve == 2 * rounds
