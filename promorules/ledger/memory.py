"""An in-process ledger: one lock around plain dicts.

For simulations, single-process tools and tests. It cannot oversell because every
operation runs under one ``threading.Lock``; it shares nothing across processes and
keeps nothing across restarts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence

from promorules.counters import ANY_SUBJECT, Consumption, CounterKey, CounterSpec
from promorules.ledger.base import (
    Clock,
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
    Transition,
    add_up,
    adjust_entry,
    adjusted,
    check_transition,
    decide_refund,
    pause_entry,
    provision_entry,
    refund_entries,
    replayed_refund,
    verb,
)
from promorules.ledger.errors import (
    IdempotencyConflict,
    InsufficientError,
    LedgerError,
    PromotionPaused,
    ReservationClosed,
    Shortfall,
    UnknownCounter,
    UnknownReservation,
)


class _Counter:
    __slots__ = ("available", "held", "initial", "used")

    def __init__(self, initial: int) -> None:
        self.initial = initial
        self.available = initial
        self.held = 0
        self.used = 0

    def row(self, key: CounterKey) -> CounterRow:
        return CounterRow(key, self.initial, self.held, self.used, self.available)


class MemoryLedger(Ledger):
    url = "memory://"

    def __init__(self, clock: Clock = time.time) -> None:
        super().__init__(clock)
        self._lock = threading.Lock()
        self._counters: dict[CounterKey, _Counter] = {}
        self._records: dict[str, tuple[Reservation, str]] = {}
        self._refunded: dict[str, Refunded] = {}
        self._given_back: dict[str, Consumption] = {}  # per reservation, all its refunds
        self._paused: set[str] = set()
        self._meta: dict[str, str] = {}
        self._entries: list[str] = []
        self._settle_key_format()

    def destroy(self) -> None:
        with self._lock:
            self._counters.clear()
            self._records.clear()
            self._refunded.clear()
            self._given_back.clear()
            self._paused.clear()
            self._entries.clear()

    def _provision(self, specs: Sequence[CounterSpec], head: str) -> ProvisionResult:
        created, unchanged, differing = [], [], []
        with self._lock:
            for key, initial in specs:
                found = self._counters.get(key)
                if found is None:
                    self._counters[key] = _Counter(initial)
                    created.append(key)
                elif found.initial == initial:
                    unchanged.append(key)
                else:
                    differing.append((key, found.initial, initial))
            if created:
                made = {str(k): self._counters[k].initial for k in created}
                self._entries.append(provision_entry(head, made))
        return ProvisionResult(tuple(created), tuple(unchanged), tuple(differing))

    def _availability(
        self, keys: Sequence[CounterKey] | None
    ) -> tuple[dict[CounterKey, int], frozenset[str]]:
        with self._lock:
            if keys is None:
                found = {k: c.available for k, c in self._counters.items()}
            else:
                found = {}
                for key in keys:
                    for k in (key, key.template()):
                        if k in self._counters:
                            found[k] = self._counters[k].available
            return found, frozenset(self._paused)

    def _counter(self, key: CounterKey) -> _Counter | None:
        """The counter, or a fresh (unstored) instance of its template, or None."""
        found = self._counters.get(key)
        if found is None and key.subject != ANY_SUBJECT:
            template = self._counters.get(key.template())
            if template is not None:
                found = _Counter(template.initial)
        return found

    def _reserve_many(self, holds: Sequence[Hold]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        with self._lock:
            for hold in holds:
                try:
                    outcomes.append(self._reserve_one(*hold))
                except LedgerError as exc:
                    outcomes.append(exc)
        return outcomes

    def _reserve_one(
        self,
        idempotency_key: str,
        consumption: Consumption,
        fingerprint: str,
        now: float,
        expires_at: float,
    ) -> Reservation:
        """One reserve; the caller holds the lock."""
        seen = self._records.get(idempotency_key)
        if seen is not None:
            if seen[1] != fingerprint:
                raise IdempotencyConflict(idempotency_key)
            return seen[0]
        paused = sorted({k.promotion for k, _ in consumption} & self._paused)
        if paused:
            raise PromotionPaused(tuple(paused))
        counters = {k: self._counter(k) for k, _ in consumption}
        unknown = tuple(k for k, c in counters.items() if c is None)
        if unknown:
            raise UnknownCounter(unknown)
        short = tuple(
            Shortfall(k, n, c.available)
            for k, n in consumption
            if (c := counters[k]) is not None and c.available < n
        )
        if short:
            raise InsufficientError(short)
        for key, amount in consumption:
            counter = counters[key]
            assert counter is not None
            self._counters.setdefault(key, counter)
            counter.available -= amount
            counter.held += amount
        reservation = Reservation(
            idempotency_key, consumption, ReservationState.HELD, now, expires_at
        )
        self._records[idempotency_key] = (reservation, fingerprint)
        return reservation

    def _move(self, reservation: Reservation, to: ReservationState) -> Reservation:
        """Move a held reservation's amounts out of held; the caller holds the lock."""
        for key, amount in reservation.consumption:
            counter = self._counters[key]
            counter.held -= amount
            if to is ReservationState.COMMITTED:
                counter.used += amount
            else:
                counter.available += amount
        moved = Reservation(
            reservation.key,
            reservation.consumption,
            to,
            reservation.created_at,
            reservation.expires_at,
        )
        self._records[reservation.key] = (moved, self._records[reservation.key][1])
        return moved

    def _transition_many(self, steps: Sequence[Step]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        with self._lock:
            for step in steps:
                try:
                    outcomes.append(self._transition_one(*step))
                except LedgerError as exc:
                    outcomes.append(exc)
        return outcomes

    def _transition_one(self, key: str, target: ReservationState, now: float) -> Reservation:
        """One commit or release; the caller holds the lock."""
        seen = self._records.get(key)
        if seen is None:
            raise UnknownReservation(key)
        current = seen[0]
        plan = check_transition(key, current.state, current.expires_at, target, now)
        if plan is Transition.KEEP:
            return current
        if plan is Transition.APPLY:
            return self._move(current, target)
        self._move(current, ReservationState.EXPIRED)
        raise ReservationClosed(key, ReservationState.EXPIRED.value, verb(target))

    def _get(self, idempotency_key: str) -> Reservation | None:
        with self._lock:
            seen = self._records.get(idempotency_key)
            return None if seen is None else seen[0]

    def _refund(self, give: GiveBack) -> Refunded:
        with self._lock:
            stored = self._refunded.get(give.refund_id)
            if stored is not None:
                return replayed_refund(give, stored)
            seen = self._records.get(give.reservation)
            before = self._given_back.get(give.reservation, ())
            moves = decide_refund(give, None if seen is None else seen[0], before)
            for key, amount in moves:
                counter = self._counters[key]
                counter.used -= amount
                counter.available += amount
            self._entries += refund_entries(give, before, moves)
            done = Refunded(give.refund_id, give.reservation, moves, give.now)
            self._refunded[give.refund_id] = done
            self._given_back[give.reservation] = add_up(before, moves)
            return done

    def _refunds(self, reservation: str | None) -> Iterable[Refunded]:
        with self._lock:
            return [r for r in self._refunded.values() if reservation in (None, r.reservation)]

    def _sweep(self, now: float) -> int:
        with self._lock:
            due = [
                r
                for r, _ in self._records.values()
                if r.state is ReservationState.HELD and r.expires_at <= now
            ]
            for reservation in due:
                self._move(reservation, ReservationState.EXPIRED)
            return len(due)

    def _set_paused(self, promotion: str, paused: bool, head: str) -> None:
        with self._lock:
            self._entries.append(pause_entry(head, promotion in self._paused, paused))
            if paused:
                self._paused.add(promotion)
            else:
                self._paused.discard(promotion)

    def _adjust(self, key: CounterKey, delta: int, clamp: bool, head: str) -> CounterRow:
        with self._lock:
            counter = self._counters.get(key)
            if counter is None:
                raise UnknownCounter((key,))
            applied = adjusted(counter.initial, counter.available, delta, clamp)
            if applied is None:
                raise InsufficientError((Shortfall(key, -delta, counter.available),))
            before = counter.row(key)
            counter.initial += applied
            counter.available += applied
            after = counter.row(key)
            self._entries.append(adjust_entry(head, before, after, delta, clamp))
            return after

    def _status(self, promotion: str | None) -> Iterable[CounterRow]:
        with self._lock:
            return [
                c.row(k)
                for k, c in self._counters.items()
                if promotion is None or k.promotion == promotion
            ]

    def _reservations(self, state: ReservationState | None) -> Iterable[Reservation]:
        with self._lock:
            return [r for r, _ in self._records.values() if state in (None, r.state)]

    def _counter_names(self) -> Iterable[str]:
        with self._lock:
            return [str(k) for k in self._counters]

    def _meta_get(self, name: str) -> str | None:
        with self._lock:
            return self._meta.get(name)

    def _meta_set(self, name: str, value: str) -> None:
        with self._lock:
            self._meta[name] = value

    def _read_log(self) -> Iterable[tuple[int, str]]:
        with self._lock:
            return list(enumerate(self._entries, 1))
