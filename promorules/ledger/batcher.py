"""A batcher a checkout process puts in front of any ledger: group commit for orders.

``BatchingLedger(ledger)`` is itself a Ledger. Its ``reserve``, ``commit`` and
``release`` (and the ``_many`` forms) do not go to the backend one by one: each call
joins a queue, and one flusher thread takes everything queued and hands it to the
backend as one batch: one transaction, one disk flush (SQLite, PostgreSQL) or one Lua
script (Redis) for every reserve, commit and release that arrived together.
Each caller gets back its own outcome: its reservation, or the error ``reserve`` would
have raised for its order alone (a short counter, a paused promotion, an idempotency
conflict); a failure of the backend itself (RetryableLedgerError, BackendError) is
raised in every caller of that batch.

When the wait is spent. A batch leaves as soon as the flusher is free and either it has
as many callers as the last batch had, or ``max_wait`` seconds have passed since its
first order arrived, or it holds ``max_batch`` orders. While one batch is in the backend
the next one fills, so under load batches grow by themselves (group commit); a lone
caller waits for no one (its last batch was itself), and when callers drop out the wait
is paid once, then the batch size follows.

Everything else (``availability``, ``status``, ``pause``, ``adjust``, ``sweep``,
``refund``...) goes straight to the ledger behind. The semantics are the ledger's, order
by order: all or nothing, idempotency keys (a key sent twice in one batch is taken in a
later round of it, so the second sees the first as a replay), expiry checked at the time
of the call.
Threads of one process share one batcher; a forked child starts with an empty queue
and its own flusher. ``close()`` stops the flusher (after the batches it holds) and
closes the ledger behind.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Generic, TypeVar

from promorules.counters import CounterKey, CounterSpec
from promorules.ledger.base import (
    CounterRow,
    GiveBack,
    Hold,
    Ledger,
    Outcome,
    ProvisionResult,
    Refunded,
    Reservation,
    ReservationState,
    Step,
)
from promorules.ledger.errors import InvalidRequest

T = TypeVar("T")

DEFAULT_WAIT = 0.001
DEFAULT_BATCH = 1_000


class _Ticket(Generic[T]):
    """One caller's items in the queue, and what came back for them."""

    __slots__ = ("at", "done", "error", "items", "outcomes")

    def __init__(self, items: Sequence[T]) -> None:
        self.items = items
        self.at = time.monotonic()
        self.done = threading.Event()
        self.outcomes: list[Outcome] = []
        self.error: BaseException | None = None


class _Lane(Generic[T]):
    """A queue of one kind of call and the thread that flushes it in batches."""

    def __init__(
        self, run: Callable[[Sequence[T]], list[Outcome]], max_wait: float, max_batch: int
    ) -> None:
        self._run = run
        self._max_wait = max_wait
        self._max_batch = max_batch
        self._closed = False
        self._fresh()

    def _fresh(self) -> None:
        self._cond = threading.Condition()
        self._pending: list[_Ticket[T]] = []
        self._count = 0
        self._callers = 1  # callers in the last batch: as many again need no more wait
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def submit(self, items: Sequence[T]) -> list[Outcome]:
        if not items:
            return []
        if os.getpid() != self._pid:
            self._fresh()  # forked: the parent's flusher and queue are not ours
        ticket = _Ticket(items)
        with self._cond:
            if self._closed:
                raise InvalidRequest("the batching ledger is closed")
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._flush_forever, name="ledger-batcher", daemon=True
                )
                self._thread.start()
            self._pending.append(ticket)
            self._count += len(items)
            self._cond.notify()
        ticket.done.wait()
        if ticket.error is not None:
            raise ticket.error
        return ticket.outcomes

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread if os.getpid() == self._pid else None
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _next_batch(self) -> list[_Ticket[T]] | None:
        """Wait for a batch to be due and take it; None once closed and drained."""
        with self._cond:
            while not self._pending:
                if self._closed:
                    return None
                self._cond.wait()
            due = self._pending[0].at + self._max_wait
            while (
                self._count < self._max_batch
                and len(self._pending) < self._callers
                and not self._closed
            ):
                left = due - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            taken: list[_Ticket[T]] = []
            size = 0
            while self._pending and (
                not taken or size + len(self._pending[0].items) <= self._max_batch
            ):
                ticket = self._pending.pop(0)
                taken.append(ticket)
                size += len(ticket.items)
            self._count -= size
            self._callers = len(taken)
            return taken

    def _flush_forever(self) -> None:
        while (tickets := self._next_batch()) is not None:
            items = [item for ticket in tickets for item in ticket.items]
            try:
                outcomes = self._run(items)
            except BaseException as exc:  # a bug or an interrupt: every caller hears of it
                for ticket in tickets:
                    ticket.error = exc
                    ticket.done.set()
                continue
            at = 0
            for ticket in tickets:
                ticket.outcomes = outcomes[at : at + len(ticket.items)]
                at += len(ticket.items)
                ticket.done.set()


class BatchingLedger(Ledger):
    """``ledger`` behind a batcher: concurrent reserves, commits and releases coalesce.

    ``max_wait`` (seconds, default 1 ms) bounds how long an order waits for others to
    join its batch; ``max_batch`` (default 1,000) bounds a batch's size.
    """

    def __init__(
        self, ledger: Ledger, *, max_wait: float = DEFAULT_WAIT, max_batch: int = DEFAULT_BATCH
    ) -> None:
        if isinstance(max_wait, bool) or not isinstance(max_wait, int | float):
            raise InvalidRequest(f"max_wait is seconds, got {max_wait!r}")
        if not 0 <= max_wait <= 1:
            raise InvalidRequest(f"max_wait is 0 to 1 second, got {max_wait}")
        if isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1:
            raise InvalidRequest(f"max_batch is a positive integer, got {max_batch!r}")
        super().__init__(ledger._clock)
        self.inner = ledger
        self.url = ledger.url
        self.max_wait = float(max_wait)
        self.max_batch = max_batch
        self._lane: _Lane[Hold | Step] = _Lane(ledger._batch_raw, self.max_wait, max_batch)

    def close(self) -> None:
        self._lane.close()
        self.inner.close()

    def destroy(self) -> None:
        self.inner.destroy()

    # -- the batched calls ---------------------------------------------------------------

    def _apply_many(
        self, holds: Sequence[Hold], steps: Sequence[Step]
    ) -> tuple[list[Outcome], list[Outcome]]:
        outcomes = self._lane.submit([*holds, *steps])
        return outcomes[: len(holds)], outcomes[len(holds) :]

    def _reserve_many(self, holds: Sequence[Hold]) -> list[Outcome]:
        return self._apply_many(holds, ())[0]

    def _transition_many(self, steps: Sequence[Step]) -> list[Outcome]:
        return self._apply_many((), steps)[1]

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
