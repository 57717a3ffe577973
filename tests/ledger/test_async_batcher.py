"""AsyncBatchingLedger: asyncio tasks' calls coalesce, each with its own outcome.

Runs on every backend, the ledger opened directly (the thread batcher and shards are the
contract suite's modes; this front takes whatever ledger it is given).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from promorules.counters import CounterKey, CounterKind, CounterSpec
from promorules.ledger import (
    AsyncBatchingLedger,
    BackendUnavailable,
    IdempotencyConflict,
    InsufficientError,
    InvalidRequest,
    Ledger,
    Order,
    Outcome,
    Reservation,
    ReservationState,
    UnknownReservation,
    open_ledger,
)
from tests.ledger.conftest import FakeClock

STOCK = CounterKey(CounterKind.FLASH_STOCK, "flash", "sku-1")


@pytest.fixture
def plain(ledger_url: str, clock: FakeClock) -> Iterator[Ledger]:
    ledger = open_ledger(ledger_url, clock=clock)
    ledger.provision([CounterSpec(STOCK, 10)])
    yield ledger
    ledger.close()


def counted(ledger: Ledger) -> list[int]:
    """The sizes of the backend steps ``ledger`` takes from here on."""
    sizes: list[int] = []
    apply = ledger._apply_many

    def step(*args: object) -> object:
        holds, steps = args
        sizes.append(len(holds) + len(steps))  # type: ignore[arg-type]
        return apply(*args)  # type: ignore[arg-type]

    ledger._apply_many = step  # type: ignore[assignment,method-assign]
    return sizes


def test_tasks_coalesce_and_the_stock_sells_out_exactly(plain: Ledger) -> None:
    sizes = counted(plain)

    async def main() -> list[Reservation | InsufficientError]:
        front = AsyncBatchingLedger(plain, max_wait=0.05)

        async def client(i: int) -> Reservation | InsufficientError:
            try:
                return await front.reserve(((STOCK, 1),), f"o{i}", 60)
            except InsufficientError as exc:
                return exc

        got = await asyncio.gather(*(client(i) for i in range(12)))
        won = [r for r in got if isinstance(r, Reservation)]
        committed = await asyncio.gather(*(front.commit(r) for r in won))
        assert {r.state for r in committed} == {ReservationState.COMMITTED}
        return got

    got = asyncio.run(main())
    won = [r for r in got if isinstance(r, Reservation)]
    assert len(won) == 10 and sum(isinstance(r, InsufficientError) for r in got) == 2
    assert {r.key for r in won} == {r.key for r in plain.reservations(ReservationState.COMMITTED)}
    assert plain.audit() == []
    # 12 reserves and 10 commits from 22 tasks: one step for each wave
    assert sizes == [12, 10]


def test_one_batch_mixes_successes_stock_refusals_replays_and_conflicts(plain: Ledger) -> None:
    sizes = counted(plain)

    async def main() -> list[object]:
        front = AsyncBatchingLedger(plain)
        first = await front.reserve(((STOCK, 8),), "early", 60)
        calls = [
            front.reserve(((STOCK, 1),), "a", 60),  # fits
            front.reserve(((STOCK, 5),), "big", 60),  # short: 1 left after "a"
            front.reserve(((STOCK, 8),), "early", 60),  # a replay of the first
            front.reserve(((STOCK, 2),), "early", 60),  # the same key, another payload
            front.reserve(((STOCK, 1),), "a", 60),  # "a" again in the same batch: a replay
            front.commit("nobody"),
            front.commit(first),
        ]
        return list(await asyncio.gather(*calls, return_exceptions=True))

    a, big, replay, conflict, again, nobody, committed = asyncio.run(main())
    # the seven calls went as one batch, in two rounds: a key given twice goes in the second
    assert sizes == [1, 5, 2]
    assert isinstance(a, Reservation) and a.state is ReservationState.HELD
    assert isinstance(big, InsufficientError) and big.shortfalls[0].available == 1
    assert isinstance(replay, Reservation) and replay.key == "early"
    assert isinstance(conflict, IdempotencyConflict)
    assert again == a
    assert isinstance(nobody, UnknownReservation)
    assert isinstance(committed, Reservation) and committed.state is ReservationState.COMMITTED
    row = next(r for r in plain.status() if r.key == STOCK)
    assert (row.held, row.used, row.available) == (1, 8, 1)


def test_many_forms_return_outcomes_and_bad_orders_stop_nothing(plain: Ledger) -> None:
    async def main() -> tuple[list[Outcome], list[Outcome]]:
        front = AsyncBatchingLedger(plain)
        orders = [Order(((STOCK, 2),), "x", 60), Order(((STOCK, 1),), "", 60)]
        reserved = await front.reserve_many(orders)
        released = await front.release_many(["x", "missing"])
        return reserved, released

    (x, bad), (back, missing) = asyncio.run(main())
    assert isinstance(x, Reservation) and isinstance(bad, InvalidRequest)
    assert isinstance(back, Reservation) and back.state is ReservationState.RELEASED
    assert isinstance(missing, UnknownReservation)


def test_a_backend_failure_reaches_every_caller_of_the_batch(plain: Ledger) -> None:
    def broken(*args: object) -> object:
        raise BackendUnavailable("down")

    plain._apply_many = broken  # type: ignore[assignment,method-assign]

    async def main() -> list[object]:
        front = AsyncBatchingLedger(plain)
        calls = [front.reserve(((STOCK, 1),), f"o{i}", 60) for i in range(3)]
        return list(await asyncio.gather(*calls, return_exceptions=True))

    assert all(isinstance(r, BackendUnavailable) for r in asyncio.run(main()))


def test_closed_and_bad_settings_are_refused(plain: Ledger) -> None:
    for wait in (-1, 2, "1ms", True):
        with pytest.raises(InvalidRequest):
            AsyncBatchingLedger(plain, max_wait=wait)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest):
        AsyncBatchingLedger(plain, max_batch=0)

    async def main() -> None:
        front = AsyncBatchingLedger(plain)
        await front.reserve(((STOCK, 1),), "before", 60)
        await front.aclose()
        with pytest.raises(InvalidRequest, match="closed"):
            await front.reserve(((STOCK, 1),), "after", 60)

    asyncio.run(main())
