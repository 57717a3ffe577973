"""AsyncBatchingLedger: asyncio tasks' calls coalesce, each with its own outcome.

Runs on every backend, the ledger opened directly and with its counters in three shards
(the thread batcher is the contract suite's mode; this front takes whatever ledger it is
given). On Redis the usual batch is sent from the loop itself (``RedisLedger.
async_batches``) and the others go through the ledger's own path in a thread: both are
counted here, and a test pins which went where.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

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
    PromotionPaused,
    Reservation,
    ReservationState,
    UnknownReservation,
    open_ledger,
)
from promorules.ledger.batcher import AsyncBackend
from tests.ledger.conftest import FakeClock, server_url, with_namespace

STOCK = CounterKey(CounterKind.FLASH_STOCK, "flash", "sku-1")


@pytest.fixture(params=(1, 3), ids=("plain", "sharded"))
def shards(request: pytest.FixtureRequest) -> int:
    return int(request.param)


@pytest.fixture
def plain(ledger_url: str, clock: FakeClock, shards: int) -> Iterator[Ledger]:
    ledger = open_ledger(ledger_url, clock=clock, shards=shards)
    ledger.provision([CounterSpec(STOCK, 10)])
    yield ledger
    ledger.close()


class Steps:
    """The backend steps a ledger takes from here on: their sizes, and where each went."""

    def __init__(self, ledger: Ledger) -> None:
        self.sizes: list[int] = []
        self.paths: list[str] = []
        apply = ledger._apply_many

        def step(*args: Any) -> Any:
            self._saw("thread", *args)
            return apply(*args)

        ledger._apply_many = step  # type: ignore[assignment,method-assign]
        make = getattr(ledger, "async_batches", None)
        if make is not None:

            def batches() -> Any:
                sender = make()
                send = sender.apply_many

                async def sent(*args: Any) -> Any:
                    self._saw("loop", *args)
                    return await send(*args)

                sender.apply_many = sent
                return sender

            ledger.async_batches = batches  # type: ignore[attr-defined]

    def _saw(self, path: str, holds: Any, steps: Any) -> None:
        self.sizes.append(len(holds) + len(steps))
        self.paths.append(path)


def test_tasks_coalesce_and_the_stock_sells_out_exactly(plain: Ledger, shards: int) -> None:
    steps = Steps(plain)

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
        await front.aclose()
        return got

    got = asyncio.run(main())
    won = [r for r in got if isinstance(r, Reservation)]
    assert len(won) == 10 and sum(isinstance(r, InsufficientError) for r in got) == 2
    assert {r.key for r in won} == {r.key for r in plain.reservations(ReservationState.COMMITTED)}
    assert plain.audit() == []
    if shards == 1:  # shards take more steps: a reserve refused by its shard tries others
        # 12 reserves and 10 commits from 22 tasks: one step for each wave
        assert steps.sizes == [12, 10]


def test_one_batch_mixes_successes_stock_refusals_replays_and_conflicts(
    plain: Ledger, shards: int
) -> None:
    steps = Steps(plain)

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
        got: list[object] = list(await asyncio.gather(*calls, return_exceptions=True))
        await front.aclose()
        return got

    a, big, replay, conflict, again, nobody, committed = asyncio.run(main())
    if shards == 1:
        # the seven calls went as one batch, in two rounds: a key given twice goes in the
        # second (the ledger's own path, in a thread, on every backend)
        assert steps.sizes == [1, 5, 2]
        assert steps.paths[1:] == ["thread", "thread"]
    assert isinstance(a, Reservation) and a.state is ReservationState.HELD
    assert isinstance(big, InsufficientError) and big.shortfalls[0].available == 1
    assert isinstance(replay, Reservation) and replay.key == "early"
    assert isinstance(conflict, IdempotencyConflict)
    assert again == a
    assert isinstance(nobody, UnknownReservation)
    assert isinstance(committed, Reservation) and committed.state is ReservationState.COMMITTED
    row = next(r for r in plain.status() if r.key == STOCK)
    assert (row.held, row.used, row.available) == (1, 8, 1)


def test_a_batch_of_distinct_keys_mixes_every_outcome(plain: Ledger, shards: int) -> None:
    other = CounterKey(CounterKind.FLASH_STOCK, "stopped", "sku-9")
    plain.provision([CounterSpec(other, 5)])
    plain.reserve(((other, 2),), "before-pause", 60)
    plain.pause("stopped")
    steps = Steps(plain)

    async def main() -> list[object]:
        front = AsyncBatchingLedger(plain)
        await front.reserve(((STOCK, 8),), "early", 60)
        paid = await front.reserve(((STOCK, 1),), "paid", 60)
        calls = [
            front.reserve(((STOCK, 1),), "a", 60),  # fits: the last unit
            front.reserve(((STOCK, 1),), "b", 60),  # short: "a" took the last
            front.reserve(((STOCK, 8),), "early", 60),  # a replay of an earlier batch's
            front.reserve(((STOCK, 2),), "paid", 60),  # that key with another payload
            front.reserve(((other, 1),), "c", 60),  # its promotion is paused
            front.commit(paid),
            front.release("before-pause"),  # a pause stops new holds only
            front.commit("nobody"),
        ]
        got: list[object] = list(await asyncio.gather(*calls, return_exceptions=True))
        await front.aclose()
        return got

    a, b, replay, conflict, paused, paid, released, nobody = asyncio.run(main())
    if shards == 1:  # one step for the batch, on Redis from the loop
        assert steps.sizes[-1] == 8
        assert steps.paths[-1] == ("loop" if hasattr(plain, "async_batches") else "thread")
    assert isinstance(a, Reservation) and a.state is ReservationState.HELD
    assert isinstance(b, InsufficientError) and b.shortfalls[0].available == 0
    assert isinstance(replay, Reservation) and replay.consumption == ((STOCK, 8),)
    assert replay.state is ReservationState.HELD  # as it stood when the batch began
    assert isinstance(conflict, IdempotencyConflict)
    assert isinstance(paused, PromotionPaused) and paused.promotions == ("stopped",)
    assert isinstance(paid, Reservation) and paid.state is ReservationState.COMMITTED
    assert isinstance(released, Reservation) and released.state is ReservationState.RELEASED
    assert isinstance(nobody, UnknownReservation)
    row = next(r for r in plain.status() if r.key == STOCK)
    assert (row.available, row.held, row.used) == (0, 9, 1)
    assert next(r for r in plain.status() if r.key == other).available == 5
    assert plain.audit() == []


def test_many_forms_return_outcomes_and_bad_orders_stop_nothing(plain: Ledger) -> None:
    async def main() -> tuple[list[Outcome], list[Outcome]]:
        front = AsyncBatchingLedger(plain)
        orders = [Order(((STOCK, 2),), "x", 60), Order(((STOCK, 1),), "", 60)]
        reserved = await front.reserve_many(orders)
        released = await front.release_many(["x", "missing"])
        await front.aclose()
        return reserved, released

    (x, bad), (back, missing) = asyncio.run(main())
    assert isinstance(x, Reservation) and isinstance(bad, InvalidRequest)
    assert isinstance(back, Reservation) and back.state is ReservationState.RELEASED
    assert isinstance(missing, UnknownReservation)


def test_a_backend_failure_reaches_every_caller_of_the_batch(plain: Ledger) -> None:
    def broken(*args: object) -> object:
        raise BackendUnavailable("down")

    plain._apply_many = broken  # type: ignore[assignment,method-assign]

    # a first batch takes the ledger's own path (Redis's from the loop: see below)
    async def main() -> list[object]:
        front = AsyncBatchingLedger(plain)
        calls = [front.reserve(((STOCK, 1),), f"o{i}", 60) for i in range(3)]
        got: list[object] = list(await asyncio.gather(*calls, return_exceptions=True))
        await front.aclose()
        return got

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


@pytest.fixture
def on_redis(clock: FakeClock) -> Iterator[tuple[Ledger, str]]:
    """A Redis ledger whose async connection carries a name of its own (to find it)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    ledger = open_ledger(with_namespace(server_url("redis"), name), clock=clock)
    ledger.url = f"{ledger.url}?client_name={name}"  # the URL async_batches connects with
    ledger.provision([CounterSpec(STOCK, 100)])
    yield ledger, name
    ledger.destroy()
    ledger.close()


def test_redis_sends_the_usual_batch_from_the_loop(on_redis: tuple[Ledger, str]) -> None:
    ledger, _ = on_redis
    steps = Steps(ledger)

    async def main() -> None:
        front = AsyncBatchingLedger(ledger, max_wait=0.05)
        for wave in range(3):
            held = await asyncio.gather(
                *(front.reserve(((STOCK, 1),), f"w{wave}-{i}", 60) for i in range(5))
            )
            await asyncio.gather(*(front.commit(r) for r in held))
        await front.aclose()

    asyncio.run(main())
    # the first batch reads the shard counts (the ledger's path); the others from the loop
    assert steps.paths == ["thread", *["loop"] * 5]
    assert steps.sizes == [5] * 6
    assert [r.state for r in ledger.reservations()] == [ReservationState.COMMITTED] * 15
    assert ledger.audit() == []


def test_redis_a_lost_connection_fails_its_batch_and_the_next_reconnects(
    on_redis: tuple[Ledger, str],
) -> None:
    ledger, name = on_redis
    admin = redis.Redis.from_url(server_url("redis"))

    async def main() -> tuple[list[object], list[object]]:
        front = AsyncBatchingLedger(ledger, max_wait=0.05)
        await front.reserve(((STOCK, 1),), "first", 60)  # thread: reads the shard counts
        await front.reserve(((STOCK, 1),), "second", 60)  # loop: opens its connection
        for client in admin.client_list():
            if client["name"] == name:
                admin.client_kill_filter(_id=client["id"])
        lost = [front.reserve(((STOCK, 1),), f"lost{i}", 60) for i in range(3)]
        failed: list[object] = list(await asyncio.gather(*lost, return_exceptions=True))
        again = [front.reserve(((STOCK, 1),), f"again{i}", 60) for i in range(3)]
        done: list[object] = list(await asyncio.gather(*again, return_exceptions=True))
        await front.aclose()
        return failed, done

    failed, done = asyncio.run(main())
    admin.close()
    assert all(isinstance(r, BackendUnavailable) for r in failed), failed
    assert all(isinstance(r, Reservation) for r in done), done
    held = {r.key for r in ledger.reservations(ReservationState.HELD)}
    assert held == {"first", "second", "again0", "again1", "again2"}
    assert ledger.audit() == []


def test_redis_a_counter_sharded_by_another_handle_is_found_from_the_loop(
    on_redis: tuple[Ledger, str],
) -> None:
    ledger, name = on_redis
    later = CounterKey(CounterKind.FLASH_STOCK, "flash", "sku-2")
    steps = Steps(ledger)

    async def main() -> Reservation:
        front = AsyncBatchingLedger(ledger)
        await front.reserve(((STOCK, 1),), "first", 60)  # reads the shard counts: none
        with open_ledger(with_namespace(server_url("redis"), name)) as other:
            other.provision([CounterSpec(later, 6)], shards={later: 3})  # 2 + 2 + 2
        got = await front.reserve(((later, 5),), "later", 60)
        await front.aclose()
        return got

    got = asyncio.run(main())
    # the loop's try names the counter, which is now its shards: unknown there, so the
    # ledger's own path reads the shard counts again and takes 5 from the shards (from
    # its home shard first, then the others: steps as the shards fall)
    assert steps.paths[:3] == ["thread", "loop", "thread"]
    assert set(steps.paths[2:]) == {"thread"}
    assert got.consumption == ((later, 5),) and got.state is ReservationState.HELD
    row = next(r for r in ledger.status() if r.key == later)
    assert (row.held, row.available) == (5, 1)
    assert ledger.audit() == []


def test_redis_batches_sent_at_once_on_one_connection_each_get_their_reply(
    on_redis: tuple[Ledger, str],
) -> None:
    ledger, _ = on_redis
    assert isinstance(ledger, AsyncBackend)
    holds = [ledger._hold(Order(((STOCK, n),), f"h{n}", 60), ledger.now()) for n in (1, 2, 3)]

    async def main() -> list[tuple[list[Outcome], list[Outcome]]]:
        sender = ledger.async_batches()
        got = await asyncio.gather(*(sender.apply_many([hold], []) for hold in holds))
        await sender.aclose()
        return list(got)

    replies = asyncio.run(main())
    for hold, (reserved, moved) in zip(holds, replies, strict=True):
        assert moved == [] and len(reserved) == 1
        assert isinstance(reserved[0], Reservation) and reserved[0].key == hold.key
        assert reserved[0].consumption == hold.consumption
    assert ledger.audit() == []
