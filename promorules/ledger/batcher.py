"""A batcher a checkout process puts in front of any ledger: group commit for orders.

``BatchingLedger(ledger)`` is itself a Ledger. Its ``reserve``, ``commit`` and
``release`` (and the ``_many`` forms) do not go to the backend one by one: concurrent
calls coalesce into one batch, handed to the backend as one step: one transaction, one
disk flush (SQLite, PostgreSQL) or one Lua script (Redis) for every reserve, commit and
release that arrived together. There is no thread of the batcher's own: the first
caller of a batch (its leader) runs it, and the others wait on a lock each that the
leader releases when the outcomes are in.
Each caller gets back its own outcome: its reservation, or the error ``reserve`` would
have raised for its order alone (a short counter, a paused promotion, an idempotency
conflict); a failure of the backend itself (RetryableLedgerError, BackendError) is
raised in every caller of that batch.

When the wait is spent. A batch leaves as soon as the backend is free (no other batch
in it) and either it has as many callers as the last batch had, or ``max_wait`` seconds
have passed since its first order arrived, or it holds ``max_batch`` orders. While one
batch is in the backend the next one fills, so under load batches grow by themselves
(group commit); a lone caller waits for no one (its last batch was itself), and when
callers drop out the wait is paid once, then the batch size follows.

Everything else (``availability``, ``status``, ``pause``, ``adjust``, ``sweep``,
``refund``...) goes straight to the ledger behind. The semantics are the ledger's, order
by order: all or nothing, idempotency keys (a key sent twice in one batch is taken in a
later round of it, so the second sees the first as a replay), expiry checked at the time
of the call.
Threads of one process share one batcher; a forked child starts with no batch of its
parent's. ``lanes=K`` lets K batches be in the backend at once: each thread keeps to one
lane, and a lane's reserves of a sharded counter aim at a shard of its own (so on
PostgreSQL the lanes lock different rows and share their disk flushes). ``close()``
refuses new calls, waits for the batches already taken in and closes the ledger behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import random
import threading
import time
from _thread import LockType, allocate_lock
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, Protocol, TypeVar, runtime_checkable

from promorules.counters import CounterKey, CounterSpec
from promorules.ledger import shards as sharding
from promorules.ledger.base import (
    CounterRow,
    GiveBack,
    Hold,
    Ledger,
    Order,
    Outcome,
    ProvisionResult,
    Refunded,
    Reservation,
    ReservationState,
    Step,
    _batch_key,
    _settled,
)
from promorules.ledger.errors import InvalidRequest, LedgerError, UnknownCounter

T = TypeVar("T")

DEFAULT_WAIT = 0.001
DEFAULT_BATCH = 1_000
MAX_LANES = 64


class _Batch(Generic[T]):
    """The orders of callers that go to the backend together, and what came back."""

    __slots__ = ("at", "error", "gates", "items", "outcomes")

    def __init__(self) -> None:
        self.at = time.monotonic()
        self.items: list[T] = []
        self.gates: list[LockType] = []  # one per caller but the leader, held until done
        self.outcomes: list[Outcome] = []
        self.error: BaseException | None = None


class _Lane(Generic[T]):
    """Calls coalesced into batches, each run by the first of its callers (its leader).

    The first caller to find no batch filling opens one and leads it: it waits until
    the backend is free (no other batch in it) and the batch is due, takes it out of
    the lane, runs it, and lets its other callers go. Those wait on a lock of their own
    that the leader releases, so a batch costs its followers one lock each and no
    thread of the batcher's own.
    """

    def __init__(
        self, run: Callable[[Sequence[T]], list[Outcome]], max_wait: float, max_batch: int
    ) -> None:
        self._run = run
        self._max_wait = max_wait
        self._max_batch = max_batch
        self._closed = False
        self._fresh()

    def _fresh(self) -> None:
        self._mutex = threading.Lock()
        self._free = threading.Condition(self._mutex)  # the backend is free, or closing
        self._joined = threading.Condition(self._mutex)  # the filling batch is due
        self._filling: _Batch[T] | None = None
        self._busy = False
        self._callers = 1  # callers in the last batch: as many again need no more wait
        self._pid = os.getpid()

    def submit(self, items: Sequence[T]) -> list[Outcome]:
        if not items:
            return []
        if os.getpid() != self._pid:
            self._fresh()  # forked: a batch of the parent's threads is not ours
        with self._mutex:
            if self._closed:
                raise InvalidRequest("the batching ledger is closed")
            batch = self._filling
            if batch is None or len(batch.items) + len(items) > self._max_batch:
                batch = self._filling = _Batch()
                gate = None
            else:
                gate = allocate_lock()
                gate.acquire()
                batch.gates.append(gate)
                if len(batch.gates) + 1 >= self._callers:
                    self._joined.notify()
            start = len(batch.items)
            batch.items.extend(items)
        if gate is None:
            self._lead(batch)
        else:
            gate.acquire()
        if batch.error is not None:
            raise batch.error
        return batch.outcomes[start : start + len(items)]

    def _lead(self, batch: _Batch[T]) -> None:
        """Wait for the backend and for the batch to be due, run it, let its callers go."""
        try:
            with self._mutex:
                while self._busy:
                    self._free.wait()
                due = batch.at + self._max_wait
                while (
                    batch is self._filling
                    and len(batch.gates) + 1 < self._callers
                    and len(batch.items) < self._max_batch
                    and not self._closed
                ):
                    left = due - time.monotonic()
                    if left <= 0:
                        break
                    self._joined.wait(left)
                if batch is self._filling:
                    self._filling = None
                self._busy = True
                self._callers = len(batch.gates) + 1
        except BaseException as exc:  # interrupted while waiting: no caller is left hanging
            with self._mutex:
                if batch is self._filling:
                    self._filling = None
                self._free.notify_all()  # close() may be waiting for this batch
            batch.error = exc
            for gate in batch.gates:
                gate.release()
            raise
        try:
            batch.outcomes = self._run(batch.items)
        except BaseException as exc:  # a bug or an interrupt: every caller hears of it
            batch.error = exc
        finally:
            with self._mutex:
                self._busy = False
                self._free.notify_all()
            for gate in batch.gates:
                gate.release()

    def close(self) -> None:
        """Refuse new calls and wait for the batches already taken in."""
        with self._mutex:
            self._closed = True
            self._joined.notify_all()
            if os.getpid() == self._pid:
                while self._busy or self._filling is not None:
                    self._free.wait()


def _check_settings(max_wait: object, max_batch: object) -> tuple[float, int]:
    if isinstance(max_wait, bool) or not isinstance(max_wait, int | float):
        raise InvalidRequest(f"max_wait is seconds, got {max_wait!r}")
    if not 0 <= max_wait <= 1:
        raise InvalidRequest(f"max_wait is 0 to 1 second, got {max_wait}")
    if isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1:
        raise InvalidRequest(f"max_batch is a positive integer, got {max_batch!r}")
    return float(max_wait), max_batch


class BatchingLedger(Ledger):
    """``ledger`` behind a batcher: concurrent reserves, commits and releases coalesce.

    ``max_wait`` (seconds, default 1 ms) bounds how long an order waits for others to
    join its batch; ``max_batch`` (default 1,000) bounds a batch's size. ``lanes``
    (default 1) is how many batches may be in the backend at once: each calling thread
    keeps to one lane, and a lane's reserves of a sharded counter aim at a shard of the
    lane's own (falling back to the others when it is short), so on PostgreSQL the
    lanes' transactions lock different rows and their commits share disk flushes. Give
    a hot counter at least as many shards as there are lanes; the ledger behind needs a
    connection per lane (its pool).
    """

    def __init__(
        self,
        ledger: Ledger,
        *,
        max_wait: float = DEFAULT_WAIT,
        max_batch: int = DEFAULT_BATCH,
        lanes: int = 1,
    ) -> None:
        self.max_wait, self.max_batch = _check_settings(max_wait, max_batch)
        if isinstance(lanes, bool) or not isinstance(lanes, int) or not 1 <= lanes <= MAX_LANES:
            raise InvalidRequest(f"lanes is 1 to {MAX_LANES}, got {lanes!r}")
        super().__init__(ledger._clock)
        self.inner = ledger
        self.url = ledger.url
        self.default_shards = ledger.default_shards  # provision as the ledger behind would
        self._lanes: list[_Lane[Hold | Step]] = [
            _Lane(ledger._batch_raw, self.max_wait, max_batch) for _ in range(lanes)
        ]
        # the lanes of batchers in other processes start elsewhere among the shards
        self._first_home = random.randrange(sharding.MAX_SHARDS)
        self._joined = itertools.count()
        self._mine = threading.local()

    def _lane_index(self) -> int:
        """The calling thread's lane: given out in turn on a thread's first call."""
        index: int | None = getattr(self._mine, "lane", None)
        if index is None:
            index = self._mine.lane = next(self._joined) % len(self._lanes)
        return index

    def _home_shard(self) -> int:
        return self._first_home + self._lane_index()

    def close(self) -> None:
        for lane in self._lanes:
            lane.close()
        self.inner.close()

    def destroy(self) -> None:
        self.inner.destroy()

    # -- the batched calls ---------------------------------------------------------------

    def _batch_raw(self, items: Sequence[Hold | Step]) -> list[Outcome]:
        # the whole batch goes through the ledger behind's own _batch_raw, which takes
        # a key given twice (by one caller or two) in a later round
        return self._lanes[self._lane_index()].submit(items)

    def _reserve_many(self, holds: Sequence[Hold]) -> list[Outcome]:
        return self._batch_raw(holds)

    def _transition_many(self, steps: Sequence[Step]) -> list[Outcome]:
        return self._batch_raw(steps)

    # -- everything else goes straight through -------------------------------------------

    def _provision(self, specs: Sequence[CounterSpec], head: str) -> ProvisionResult:
        return self.inner._provision(specs, head)

    def _availability(
        self, keys: Sequence[CounterKey] | None
    ) -> tuple[dict[CounterKey, int], frozenset[str]]:
        return self.inner._availability(keys)

    def _get(self, idempotency_key: str) -> Reservation | None:
        return self.inner._get(idempotency_key)

    def _sweep(self, now: float) -> int:
        return self.inner._sweep(now)

    def _refund(self, give: GiveBack) -> Refunded:
        return self.inner._refund(give)

    def _refunds(self, reservation: str | None) -> Iterable[Refunded]:
        return self.inner._refunds(reservation)

    def _set_paused(self, promotion: str, paused: bool, head: str) -> None:
        self.inner._set_paused(promotion, paused, head)

    def _adjust(self, key: CounterKey, delta: int, clamp: bool, head: str) -> CounterRow:
        return self.inner._adjust(key, delta, clamp, head)

    def _status(self, promotion: str | None) -> Iterable[CounterRow]:
        return self.inner._status(promotion)

    def _reservations(self, state: ReservationState | None) -> Iterable[Reservation]:
        return self.inner._reservations(state)

    def _counter_names(self) -> Iterable[str]:
        return self.inner._counter_names()

    def _meta_get(self, name: str) -> str | None:
        return self.inner._meta_get(name)

    def _meta_set(self, name: str, value: str) -> None:
        self.inner._meta_set(name, value)

    def _read_log(self) -> Iterable[tuple[int, str]]:
        return self.inner._read_log()


class AsyncBatchingLedger:
    """asyncio tasks' reserves, commits and releases coalesced into batches of ``ledger``.

    For checkout code that runs on an event loop: ``await reserve(...)``, ``await
    commit(...)`` and ``await release(...)`` (and the ``_many`` forms) join the batch
    filling on the loop; one batch at a time goes to the backend and the next fills
    meanwhile. A ledger that can send a batch from the loop (:class:`AsyncBackend`:
    Redis) sends the usual one so, with no thread between; any other batch goes through
    ``ledger._batch`` in a thread of the front's, so the loop keeps running. A batch
    leaves when the one before is done and either it has as many callers as the last one
    had, or ``max_wait`` seconds have passed since its first call, or it holds
    ``max_batch`` orders: the thread batcher's rules (:class:`BatchingLedger`). Each
    caller gets its own outcome (the reservation, or the error raised); a backend failure
    is raised in every caller of that batch. A caller cancelled while its batch is in the
    backend does not stop it: its order may be taken, and a replay with its key says how
    it went. Everything else is the ledger's (``.ledger``). Use it from one event loop;
    ``await aclose()`` waits for the batches taken in and closes its connection and the
    ledger.
    """

    def __init__(
        self, ledger: Ledger, *, max_wait: float = DEFAULT_WAIT, max_batch: int = DEFAULT_BATCH
    ) -> None:
        self.max_wait, self.max_batch = _check_settings(max_wait, max_batch)
        self.ledger = ledger
        self._pending: list[tuple[Sequence[Hold | Step], asyncio.Future[list[Outcome]]]] = []
        self._count = 0
        self._callers = 1
        self._joined: asyncio.Event | None = None
        self._runner: asyncio.Task[None] | None = None
        self._closed = False
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="ledger-batch")
        self._sender = ledger.async_batches() if isinstance(ledger, AsyncBackend) else None
        self._shards_unread = True

    async def reserve(
        self,
        request: object,
        idempotency_key: str,
        ttl: float | None = None,
        *,
        expires_at: float | None = None,
        now: float | None = None,
    ) -> Reservation:
        """``Ledger.reserve``, batched with the other tasks' calls."""
        order = Order(request, idempotency_key, ttl, expires_at)
        hold = self.ledger._hold(order, self.ledger.now(now))
        return _settled((await self._submit([hold]))[0])

    async def commit(
        self, reservation: Reservation | str, *, now: float | None = None
    ) -> Reservation:
        """``Ledger.commit``, batched with the other tasks' calls."""
        step = self.ledger._step(reservation, ReservationState.COMMITTED, now)
        return _settled((await self._submit([step]))[0])

    async def release(
        self, reservation: Reservation | str, *, now: float | None = None
    ) -> Reservation:
        """``Ledger.release``, batched with the other tasks' calls."""
        step = self.ledger._step(reservation, ReservationState.RELEASED, now)
        return _settled((await self._submit([step]))[0])

    async def reserve_many(
        self, orders: Iterable[Order], *, now: float | None = None
    ) -> list[Outcome]:
        """``Ledger.reserve_many``: one outcome per order, in order, never raised."""
        at = self.ledger.now(now)
        checked: list[Hold | LedgerError] = []
        for order in orders:
            try:
                checked.append(self.ledger._hold(order, at))
            except LedgerError as exc:
                checked.append(exc)
        return await self._submit_checked(checked)

    async def commit_many(
        self, reservations: Iterable[Reservation | str], *, now: float | None = None
    ) -> list[Outcome]:
        """``Ledger.commit_many``: one outcome per reservation, in order, never raised."""
        return await self._steps(reservations, ReservationState.COMMITTED, now)

    async def release_many(
        self, reservations: Iterable[Reservation | str], *, now: float | None = None
    ) -> list[Outcome]:
        """``Ledger.release_many``: one outcome per reservation, in order, never raised."""
        return await self._steps(reservations, ReservationState.RELEASED, now)

    async def aclose(self) -> None:
        """Refuse new calls, wait for the batches taken in, close the ledger."""
        self._closed = True
        if self._joined is not None:
            self._joined.set()
        if self._runner is not None:
            await asyncio.shield(self._runner)
        self._thread.shutdown()
        if self._sender is not None:
            await self._sender.aclose()
        self.ledger.close()

    async def _steps(
        self, reservations: Iterable[Reservation | str], target: ReservationState, now: float | None
    ) -> list[Outcome]:
        at = self.ledger.now(now)
        checked: list[Step | LedgerError] = []
        for reservation in reservations:
            try:
                checked.append(self.ledger._step(reservation, target, at))
            except LedgerError as exc:
                checked.append(exc)
        return await self._submit_checked(checked)

    async def _submit_checked(self, checked: Sequence[Hold | Step | LedgerError]) -> list[Outcome]:
        valid = [c for c in checked if not isinstance(c, LedgerError)]
        done = iter(await self._submit(valid) if valid else [])
        return [c if isinstance(c, LedgerError) else next(done) for c in checked]

    async def _submit(self, items: Sequence[Hold | Step]) -> list[Outcome]:
        if self._closed:
            raise InvalidRequest("the batching ledger is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Outcome]] = loop.create_future()
        self._pending.append((items, future))
        self._count += len(items)
        if self._runner is None or self._runner.done():
            self._joined = asyncio.Event()
            self._runner = loop.create_task(self._run_batches())
        elif self._joined is not None and (
            len(self._pending) >= self._callers or self._count >= self.max_batch
        ):
            self._joined.set()
        return await future

    async def _run_batches(self) -> None:
        """Take batches while calls are waiting, one in the backend at a time."""
        loop = asyncio.get_running_loop()
        while self._pending:
            joined = self._joined
            assert joined is not None
            due = loop.time() + self.max_wait
            await asyncio.sleep(0)  # the tasks already running on the loop join first
            while (
                len(self._pending) < self._callers
                and self._count < self.max_batch
                and not self._closed
                and (left := due - loop.time()) > 0
            ):
                joined.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(joined.wait(), left)
            taken: list[tuple[Sequence[Hold | Step], asyncio.Future[list[Outcome]]]] = []
            size = 0
            while self._pending and (
                not taken or size + len(self._pending[0][0]) <= self.max_batch
            ):
                taken.append(self._pending.pop(0))
                size += len(taken[-1][0])
            self._count -= size
            self._callers = len(taken)
            items = [item for chunk, _ in taken for item in chunk]
            try:
                outcomes = await self._run(items)
            except asyncio.CancelledError:  # the loop is going away: so are its callers
                for _, future in (*taken, *self._pending):
                    future.cancel()
                self._pending.clear()
                raise
            except BaseException as exc:  # a bug or an interrupt: every caller hears of it
                for _, future in taken:
                    if not future.done():
                        future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
                continue
            at = 0
            for chunk, future in taken:
                if not future.done():  # a caller cancelled meanwhile does not want it
                    future.set_result(outcomes[at : at + len(chunk)])
                at += len(chunk)

    async def _run(self, items: Sequence[Hold | Step]) -> list[Outcome]:
        """One batch: from the loop when the ledger can, else ``ledger._batch`` in a thread.

        From the loop goes the usual batch: no key twice, no sharded counter. Anything
        else takes the ledger's own path (rounds, shards), which is the definition.
        """
        loop = asyncio.get_running_loop()
        sender = self._sender
        if (
            sender is None
            or self._shards_unread
            or self.ledger._shard_map()
            or len({_batch_key(item) for item in items}) < len(items)
        ):
            self._shards_unread = False  # _batch reads the ledger's shard counts
            return await loop.run_in_executor(self._thread, self.ledger._batch, items)
        holds = [item for item in items if isinstance(item, Hold)]
        steps = [item for item in items if isinstance(item, Step)]
        try:
            reserved, moved = await sender.apply_many(holds, steps)
        except LedgerError as exc:
            return [exc] * len(items)
        done, stepped = iter(reserved), iter(moved)
        outcomes = [next(done) if isinstance(item, Hold) else next(stepped) for item in items]
        stale = [
            i
            for i, (item, outcome) in enumerate(zip(items, outcomes, strict=True))
            if isinstance(item, Hold) and isinstance(outcome, UnknownCounter)
        ]
        if stale:
            # maybe a counter another process sharded since the shard counts were read:
            # the ledger's own path reads them again (nothing was written for these)
            again = await loop.run_in_executor(
                self._thread, self.ledger._batch, [items[i] for i in stale]
            )
            for i, outcome in zip(stale, again, strict=True):
                outcomes[i] = outcome
        return outcomes


class AsyncBatchSender(Protocol):
    """What a ledger's ``async_batches()`` gives: its batch step, sent from the loop."""

    async def apply_many(
        self, holds: Sequence[Hold], steps: Sequence[Step]
    ) -> tuple[list[Outcome], list[Outcome]]:
        """``Ledger._apply_many``, awaited."""

    async def aclose(self) -> None:
        """Close its connection."""


@runtime_checkable
class AsyncBackend(Protocol):
    """A ledger that can send a batch from an event loop (the Redis ledger)."""

    def async_batches(self) -> AsyncBatchSender: ...
