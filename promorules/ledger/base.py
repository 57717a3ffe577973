"""The ledger contract every backend implements, and the pieces they share.

A ledger keeps the counters a ruleset declares (coupon uses, flash stock, gift stock,
budgets). Each counter holds four integers that always satisfy
``initial == available + held + used``:

* ``reserve`` moves a quote's whole consumption from *available* to *held*, all or
  nothing, under an idempotency key and with an expiry;
* ``commit`` (payment) moves it from *held* to *used*;
* ``release`` (cancel) and ``sweep`` (expiry) move it from *held* back to *available*;
* ``refund`` (goods returned) moves part of a committed reservation from *used* back to
  *available*, under a refund id, never beyond what the reservation used;
* ``adjust`` (emergency top-up or cut) changes *initial* and *available* together.

This module holds what is the same for every backend: argument checking, the canonical
form of a consumption (which doubles as the idempotency fingerprint), the state machine
of a reservation, and the audit used by tests and ``promorules ledger status``.
Backends implement the ``_``-prefixed primitives, each as one atomic step.
"""

from __future__ import annotations

import abc
import difflib
import enum
import functools
import getpass
import json
import random
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from types import TracebackType
from typing import NamedTuple, TypeVar

import attrs

from promorules.counters import (
    ANY_SUBJECT,
    Consumption,
    CounterKey,
    CounterKind,
    CounterSpec,
    Snapshot,
    Wildcard,
)
from promorules.ledger import shards as sharding
from promorules.ledger.errors import (
    ContentionError,
    IdempotencyConflict,
    InsufficientError,
    InvalidRequest,
    LedgerError,
    LedgerFormatError,
    PromotionPaused,
    RefundExceeded,
    ReservationClosed,
    Shortfall,
    UnknownCounter,
    UnknownReservation,
)
from promorules.ledger.legacy import KEY_FORMAT, reads_the_same, refusal

Clock = Callable[[], float]
"""Seconds since the epoch; injectable so tests can move time."""

MAX_AMOUNT = 2**63 - 1
"""The largest figure a counter may hold, and so the largest amount, initial or top-up.

Every backend stores figures as signed 64-bit integers (SQLite INTEGER, PostgreSQL
bigint, Redis HINCRBY); past this they would overflow or silently turn to floating point,
so the ledger refuses such requests with InvalidRequest instead (92,233,720,368,547,758.07
in a two-decimal currency)."""


class ReservationState(str, enum.Enum):
    HELD = "held"
    COMMITTED = "committed"
    RELEASED = "released"
    EXPIRED = "expired"


@attrs.frozen
class Reservation:
    """What a successful ``reserve`` returns; its identity is the idempotency key."""

    key: str
    consumption: Consumption
    state: ReservationState
    created_at: float
    expires_at: float


@attrs.frozen
class Order:
    """One order of ``reserve_many``: what ``reserve`` takes, as one value."""

    request: object
    idempotency_key: str
    ttl: float | None = None
    expires_at: float | None = None


@attrs.frozen
class Refunded:
    """What a successful ``refund`` returns; its identity is the refund id."""

    refund_id: str
    reservation: str
    """The idempotency key of the reservation it gave back from."""
    consumption: Consumption
    """What it gave back: moved from *used* to *available*."""
    at: float


class GiveBack(NamedTuple):
    """A checked refund, as backends take it: ``fingerprint`` is ``encode(consumption)``.

    ``heads`` holds the fixed fields of its audit log entry per promotion it gives
    back to (``Ledger._head``); the backend adds the figures (:func:`refund_entries`).
    """

    refund_id: str
    reservation: str
    consumption: Consumption
    fingerprint: str
    now: float
    heads: Mapping[str, str]


class Hold(NamedTuple):
    """A checked reserve, as backends take it: ``fingerprint`` is ``encode(consumption)``."""

    key: str
    consumption: Consumption
    fingerprint: str
    now: float
    expires_at: float


class Step(NamedTuple):
    """A checked commit or release, as backends take it."""

    key: str
    target: ReservationState
    now: float


Outcome = Reservation | LedgerError
"""What one order of a batch comes to: its reservation, or the error it would raise."""

T = TypeVar("T")


def in_rounds(
    items: Sequence[T], key: Callable[[T], str], run: Callable[[Sequence[T]], list[Outcome]]
) -> list[Outcome]:
    """Run ``items`` through ``run`` in rounds in which no key repeats; outcomes in order.

    A key given twice in one batch (a client retrying while its first try is in
    flight) is taken in a later round, so it sees the first one's outcome exactly as a
    replay would. A failure of a whole round is the outcome of each of its items.
    """
    if len(items) == 1 or len({key(item) for item in items}) == len(items):
        try:
            return run(items)  # one round: the usual case, no key twice
        except LedgerError as exc:
            return [exc] * len(items)
    outcomes: list[Outcome | None] = [None] * len(items)
    pending = list(range(len(items)))
    while pending:
        seen: set[str] = set()
        now: list[int] = []
        later: list[int] = []
        for i in pending:
            name = key(items[i])
            (later if name in seen else now).append(i)
            seen.add(name)
        try:
            done: list[Outcome] = run([items[i] for i in now])
        except LedgerError as exc:
            done = [exc] * len(now)
        for i, outcome in zip(now, done, strict=True):
            outcomes[i] = outcome
        pending = later
    return [o for o in outcomes if o is not None]


def decide(hold: Hold, paused: Collection[str], available: Mapping[str, int]) -> Outcome:
    """A new order's outcome against the counters (by name) as the orders before it left them.

    For the backends that decide a batch in Python under their locks; a counter missing
    from ``available`` is unknown. The caller moves the amounts of a reservation.
    """
    stopped = sorted({k.promotion for k, _ in hold.consumption}.intersection(paused))
    if stopped:
        return PromotionPaused(tuple(stopped))
    unknown = tuple(k for k, _ in hold.consumption if str(k) not in available)
    if unknown:
        return UnknownCounter(unknown)
    short = tuple(
        Shortfall(k, n, available[str(k)]) for k, n in hold.consumption if available[str(k)] < n
    )
    if short:
        return InsufficientError(short)
    return Reservation(hold.key, hold.consumption, ReservationState.HELD, hold.now, hold.expires_at)


def _settled(outcome: Outcome) -> Reservation:
    if isinstance(outcome, LedgerError):
        raise outcome
    return outcome


class CounterRow(NamedTuple):
    """One line of ``status()``: the four figures of one counter."""

    key: CounterKey
    initial: int
    held: int
    used: int
    available: int

    @property
    def is_template(self) -> bool:
        return self.key.subject == ANY_SUBJECT


@attrs.frozen
class ProvisionResult:
    """What ``provision`` did: counters created, and existing ones it left alone.

    ``differing`` lists counters whose ledger ``initial`` is not the spec's; provisioning
    never changes a live counter, planners use ``adjust`` for that.
    """

    created: tuple[CounterKey, ...] = ()
    unchanged: tuple[CounterKey, ...] = ()
    differing: tuple[tuple[CounterKey, int, int], ...] = ()


class Action(str, enum.Enum):
    """What an entry of the audit log records."""

    PAUSE = "pause"
    RESUME = "resume"
    ADJUST = "adjust"
    PROVISION = "provision"
    REFUND = "refund"


@attrs.frozen
class LogEntry:
    """One line of the audit log: who changed what, when, from what to what, and why.

    ``target`` is the promotion (pause, resume), the counter key's text (adjust), the
    reservation's key (refund: one entry per promotion it gives back to) or ``""``
    (provision); ``before`` and ``after`` hold the figures that changed.
    """

    seq: int
    at: float
    actor: str
    action: Action
    promotion: str
    target: str
    before: dict[str, object]
    after: dict[str, object]
    reason: str | None = None

    def to_json(self) -> str:
        """The stored form (``seq`` is the backend's: its position in the log)."""
        data = attrs.asdict(self)
        del data["seq"]
        data["action"] = self.action.value
        return json.dumps(data, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, seq: int, text: str) -> LogEntry:
        data = json.loads(text)
        return cls(
            seq,
            float(data["at"]),
            str(data["actor"]),
            Action(data["action"]),
            str(data["promotion"]),
            str(data["target"]),
            dict(data["before"]),
            dict(data["after"]),
            data.get("reason"),
        )


def current_user() -> str:
    """Who is at the terminal, for the audit log when no actor is given."""
    try:
        return getpass.getuser()
    except Exception:  # no login name in containers without a passwd entry
        return "unknown"


class Transition(enum.Enum):
    """What a commit or release does to a reservation in a given state."""

    KEEP = "keep"  # already there: return it unchanged (idempotent replay)
    APPLY = "apply"  # move the hold
    EXPIRE = "expire"  # overdue: give the hold back, mark expired, then refuse
    REFUSE = "refuse"  # closed the other way


def plan_transition(
    state: ReservationState, expires_at: float, target: ReservationState, now: float
) -> Transition:
    """The reservation state machine, shared so every backend decides alike."""
    if state is target:
        return Transition.KEEP
    if target is ReservationState.COMMITTED:
        if state is ReservationState.HELD:
            return Transition.APPLY if now < expires_at else Transition.EXPIRE
        return Transition.REFUSE
    if target is ReservationState.RELEASED:
        if state is ReservationState.HELD:
            return Transition.APPLY
        if state is ReservationState.EXPIRED:
            return Transition.KEEP  # the hold is already back: cancel is a no-op
        return Transition.REFUSE
    raise InvalidRequest(f"cannot move a reservation to {target.value}")


def check_transition(
    key: str, state: ReservationState, expires_at: float, target: ReservationState, now: float
) -> Transition:
    """``plan_transition`` that raises for REFUSE, so backends handle three cases."""
    plan = plan_transition(state, expires_at, target, now)
    if plan is Transition.REFUSE:
        raise ReservationClosed(key, state.value, verb(target))
    return plan


class StepPlan(NamedTuple):
    """A batch of commits and releases decided (:func:`plan_steps`)."""

    outcomes: dict[str, Outcome]
    """Per reservation key: the reservation as it will stand, or its error."""
    used: dict[str, int]
    """Per counter: what moves from held to used (commits)."""
    back: dict[str, int]
    """Per counter: what moves from held back to available (releases, expiries)."""
    states: dict[str, str]
    """Per reservation key that moves: its new state, in the steps' order."""


def plan_steps(steps: Sequence[Step], current: Mapping[str, Reservation]) -> StepPlan:
    """Decide each step of a batch against the reservations as read (and locked) by the
    backend: one statement of the state machine for every backend that writes a batch
    with its own statements."""
    plan = StepPlan({}, defaultdict(int), defaultdict(int), {})
    for step in steps:
        found = current.get(step.key)
        if found is None:
            plan.outcomes[step.key] = UnknownReservation(step.key)
            continue
        try:
            move = check_transition(step.key, found.state, found.expires_at, step.target, step.now)
        except ReservationClosed as exc:
            plan.outcomes[step.key] = exc
            continue
        if move is Transition.KEEP:
            plan.outcomes[step.key] = found
            continue
        to = step.target if move is Transition.APPLY else ReservationState.EXPIRED
        moved = plan.used if to is ReservationState.COMMITTED else plan.back
        for counter, amount in found.consumption:
            moved[str(counter)] += amount
        plan.states[step.key] = to.value
        plan.outcomes[step.key] = (
            ReservationClosed(step.key, to.value, verb(step.target))
            if move is Transition.EXPIRE
            else attrs.evolve(found, state=to)
        )
    return plan


COMMIT = ReservationState.COMMITTED
RELEASE = ReservationState.RELEASED


def verb(target: ReservationState) -> str:
    return "commit" if target is ReservationState.COMMITTED else "release"


def consumption_of(request: object) -> Consumption:
    """Accept a Consumption or anything with a ``.consumption`` (the pricing Quote)."""
    found = getattr(request, "consumption", request)
    if not isinstance(found, tuple):
        raise InvalidRequest(f"expected a consumption or a quote, got {type(request).__name__}")
    return found


def normalise(consumption: Iterable[tuple[CounterKey, int]]) -> Consumption:
    """Merge repeated keys, drop zeros and sort by key, so equal requests compare equal.

    The sorted order is also the lock order the SQL backends use.
    """
    totals: dict[CounterKey, int] = {}
    for key, amount in consumption:
        check_key(key)
        if key.subject == ANY_SUBJECT:
            raise InvalidRequest(f"cannot consume from a template counter: {key}")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
            raise InvalidRequest(f"amount for {key} must be a non-negative integer: {amount!r}")
        total = totals[key] = totals.get(key, 0) + amount
        if total > MAX_AMOUNT:
            raise InvalidRequest(f"amount for {key} is above the ledger maximum {MAX_AMOUNT}")
    kept = [(k, n) for k, n in totals.items() if n]
    if len(kept) > 1:
        kept.sort(key=lambda kv: str(kv[0]))
    return tuple(kept)


def check_key(key: object) -> CounterKey:
    """A CounterKey whose parts have the types its text form can carry back exactly."""
    if not isinstance(key, CounterKey) or not isinstance(key.kind, CounterKind):
        raise InvalidRequest(f"not a CounterKey: {key!r}")
    if not isinstance(key.promotion, str) or not key.promotion or "\x00" in key.promotion:
        raise InvalidRequest(f"a counter's promotion must be a non-empty string: {key!r}")
    subject = key.subject
    if isinstance(subject, tuple):
        # one part would print as a plain subject and read back as a string
        if len(subject) < 2 or not all(isinstance(part, str) for part in subject):
            raise InvalidRequest(f"a structured subject is two or more strings: {key!r}")
    elif not isinstance(subject, str | Wildcard):
        raise InvalidRequest(f"a counter's subject must be a string or a tuple: {key!r}")
    parts = (
        subject if isinstance(subject, tuple) else (subject,) if isinstance(subject, str) else ()
    )
    if any("\x00" in part for part in parts):
        # NUL marks the names of shards (promorules.ledger.shards): no declared counter's
        raise InvalidRequest(f"a counter's subject must not contain NUL: {key!r}")
    return key


def check_shard_count(n: object, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= sharding.MAX_SHARDS:
        raise InvalidRequest(f"{what} is 1 to {sharding.MAX_SHARDS}, got {n!r}")
    return n


def same_payload(stored: str, fingerprint: str) -> bool:
    """Whether a stored consumption (maybe over shards) is the one ``fingerprint`` encodes."""
    return stored == fingerprint or encode(sharding.fold(decode(stored))) == fingerprint


# A flash sale sends one consumption (one unit of one SKU) thousands of times a second:
# both directions are pure functions of immutable values, kept for the recent ones.
@functools.lru_cache(maxsize=4096)
def encode(consumption: Consumption) -> str:
    """Canonical text of a normalised consumption; equal text means equal payload."""
    return json.dumps([[str(k), n] for k, n in consumption], separators=(",", ":"))


@functools.lru_cache(maxsize=4096)
def decode(text: str) -> Consumption:
    return tuple((CounterKey.parse(k), int(n)) for k, n in json.loads(text))


def check_spec(spec: CounterSpec) -> CounterSpec:
    check_key(spec.key)
    if spec.key.subject == "*":
        # A plugin written before ANY_SUBJECT was a sentinel meant a template here; a
        # concrete counter for the subject "*" is never declared by a ruleset.
        raise InvalidRequest(
            f"counter {spec.key} names the subject '*': declare a template with"
            " promorules.counters.ANY_SUBJECT"
        )
    if not isinstance(spec.initial, int) or isinstance(spec.initial, bool) or spec.initial < 0:
        raise InvalidRequest(f"initial for {spec.key} must be a non-negative integer")
    if spec.initial > MAX_AMOUNT:
        raise InvalidRequest(f"initial for {spec.key} is above the ledger maximum {MAX_AMOUNT}")
    return spec


class Ledger(abc.ABC):
    """Shared state for stateful limits. Every method is safe to call concurrently.

    Subclasses implement the ``_``-prefixed methods atomically; this class checks the
    arguments and owns the clock.
    """

    url: str = ""

    def __init__(self, clock: Clock = time.time) -> None:
        self._clock = clock
        self._shards: dict[CounterKey, int] | None = None
        self.default_shards = 1
        """Shards of each counter ``provision`` creates unless told otherwise (templates: 1)."""

    # -- time -------------------------------------------------------------------------

    def now(self, now: float | None = None) -> float:
        return self._clock() if now is None else float(now)

    # -- setup ------------------------------------------------------------------------

    def provision(
        self,
        specs: Iterable[CounterSpec],
        *,
        shards: Mapping[CounterKey, int] | None = None,
        actor: str | None = None,
        reason: str | None = None,
    ) -> ProvisionResult:
        """Create the counters a ruleset declares; counters that exist are left alone.

        ``shards`` splits hot counters: ``{key: n}`` stores a new counter as ``n`` shards
        whose initials add up to its own (``promorules.ledger.shards``); a counter that
        exists keeps the form it has. Logged in the audit log when it creates anything.
        """
        merged: dict[CounterKey, int] = {}
        for spec in specs:
            check_spec(spec)
            if merged.setdefault(spec.key, spec.initial) != spec.initial:
                raise InvalidRequest(f"counter {spec.key} declared twice with different initial")
        split_into = self._declare_shards(merged, shards or {})
        ordered = []
        for key, initial in sorted(merged.items(), key=lambda kv: str(kv[0])):
            n = split_into.get(key, 1)
            if n == 1:
                ordered.append(CounterSpec(key, initial))
            else:
                parts = sharding.split(initial, n)
                ordered += [CounterSpec(sharding.shard_key(key, i), p) for i, p in enumerate(parts)]
        promotions = {k.promotion for k in merged}
        only = next(iter(promotions)) if len(promotions) == 1 else ""
        made = self._provision(ordered, self._head(Action.PROVISION, only, "", actor, reason))
        # every per-subject counter comes from a declared template of its promotion, so
        # the declared ones name every promotion with counters: no scan needed later
        self.record_promotions(promotions)
        return _fold_provision(made, ordered)

    def _declare_shards(
        self, merged: Mapping[CounterKey, int], wanted: Mapping[CounterKey, int]
    ) -> dict[CounterKey, int]:
        """Record the shard counts of new counters; the counts of every sharded counter."""
        for key, n in wanted.items():
            check_key(key)
            if key not in merged:
                raise InvalidRequest(f"shards given for {key}, which is not provisioned here")
            if key.subject == ANY_SUBJECT:
                raise InvalidRequest(f"a template cannot be sharded: {key}")
            check_shard_count(n, f"shards of {key}")
        if self.default_shards > 1:
            wanted = {
                **{k: self.default_shards for k in merged if k.subject != ANY_SUBJECT},
                **wanted,
            }
        known = self._shard_map(refresh=True)
        plain = self._availability(tuple(sorted(wanted, key=str)))[0] if wanted else {}
        new = {k: n for k, n in wanted.items() if n > 1 and k not in known and k not in plain}
        if new:
            merged_map = {**known, **new}
            self._meta_set(
                "shards", json.dumps({str(k): n for k, n in merged_map.items()}, sort_keys=True)
            )
            self._shards = merged_map
        return {k: n for k, n in self._shard_map().items() if k in merged}

    def _shard_map(self, *, refresh: bool = False) -> dict[CounterKey, int]:
        """The sharded counters and their shard counts (read once, and when they change)."""
        if refresh or self._shards is None:
            text = self._meta_get("shards")
            found = json.loads(text) if text else {}
            self._shards = {CounterKey.parse(k): int(n) for k, n in found.items()}
        return self._shards

    # -- the pricing read -------------------------------------------------------------

    def availability(
        self, keys: Iterable[CounterKey] | None = None, *, reservation: str | None = None
    ) -> Snapshot:
        """One consistent read for pricing: what is available, and what is paused.

        With ``keys``, reads those counters and their templates; without, every counter.
        ``reservation`` names the order's own reservation when an order that holds one
        prices again (a changed address): while it is held, what it holds counts as
        available, so the order is not refused the last coupon use it holds itself. A
        reservation that is not (or no longer) held adds nothing, nor one never made.
        """
        wanted = None if keys is None else tuple(sorted(set(keys), key=str))
        remaining, paused = self._available(wanted)
        if reservation is not None:
            _key_of(reservation)
            # read after the counters: a reservation held now was held at that read too
            # (nothing moves back to held), so its amounts were among the held then
            own = self.get(reservation)
            if own is not None and own.state is ReservationState.HELD:
                for key, amount in own.consumption:
                    if key in remaining:
                        remaining[key] += amount
        return Snapshot(remaining, paused)

    def _available(
        self, keys: Sequence[CounterKey] | None
    ) -> tuple[dict[CounterKey, int], frozenset[str]]:
        """``_availability`` of the declared counters: a sharded one reads its shards' sum."""
        split_into = self._shard_map()
        asked = keys
        if keys is not None and split_into:
            asked = [
                s
                for key in keys
                for s in (
                    [sharding.shard_key(key, i) for i in range(split_into[key])]
                    if key in split_into
                    else [key]
                )
            ]
        remaining, paused = self._availability(asked)
        if (
            keys is not None
            and any(k not in remaining and k.template() not in remaining for k in keys)
            and self._shard_map(refresh=True) != split_into
        ):
            # a counter sharded by another process since this one read the shard counts
            return self._available(keys)
        return sharding.fold_available(remaining), paused

    # -- the checkout path ------------------------------------------------------------

    def reserve(
        self,
        request: object,
        idempotency_key: str,
        ttl: float | None = None,
        *,
        expires_at: float | None = None,
        now: float | None = None,
    ) -> Reservation:
        """Hold everything ``request`` consumes, all or nothing, until ``ttl`` passes.

        ``request`` is a Consumption or a quote with ``.consumption``. Give ``ttl``
        (seconds) or an absolute ``expires_at`` (a presale deposit holds until its
        final-payment window closes). Replaying the same key and consumption returns
        the first reservation unchanged; the same key with another consumption raises
        IdempotencyConflict. A refused reserve records nothing.
        """
        hold = self._hold(Order(request, idempotency_key, ttl, expires_at), self.now(now))
        return _settled(self._batch([hold])[0])

    def reserve_many(
        self, orders: Iterable[Order], *, now: float | None = None
    ) -> list[Reservation | LedgerError]:
        """Reserve many orders in one step of the backend; one outcome per order, in order.

        Each order is all or nothing on its own, exactly as ``reserve`` would take it,
        and gets its own outcome: the Reservation, or the error ``reserve`` would have
        raised (InsufficientError, IdempotencyConflict, InvalidRequest, ...), returned
        rather than raised. Orders are decided in the order given, so of two orders
        wanting the last unit the first gets it. A backend failure (RetryableLedgerError,
        BackendError) is the outcome of every order it stopped. SQLite and PostgreSQL take
        the batch in one transaction (one disk flush), Redis in one Lua script.
        """
        at = self.now(now)
        holds: list[Hold | LedgerError] = []
        for order in orders:
            try:
                holds.append(self._hold(order, at))
            except LedgerError as exc:
                holds.append(exc)
        valid = [h for h in holds if isinstance(h, Hold)]
        done = iter(self._batch(valid))
        return [next(done) if isinstance(h, Hold) else h for h in holds]

    def _hold(self, order: Order, at: float) -> Hold:
        """Check one order and put it in the form backends take; raises InvalidRequest."""
        if not isinstance(order, Order):
            raise InvalidRequest(f"expected an Order, got {type(order).__name__}")
        key = order.idempotency_key
        if not isinstance(key, str) or not key:
            raise InvalidRequest("idempotency_key must be a non-empty string")
        if "\x00" in key:
            # PostgreSQL text cannot hold NUL: refused alike on every backend
            raise InvalidRequest("idempotency_key must not contain NUL")
        consumption = normalise(consumption_of(order.request))
        if (order.ttl is None) == (order.expires_at is None):
            raise InvalidRequest("give exactly one of ttl and expires_at")
        deadline = at + order.ttl if order.ttl is not None else float(order.expires_at)  # type: ignore[arg-type]
        if deadline <= at:
            raise InvalidRequest("a reservation must expire in the future")
        return Hold(key, consumption, encode(consumption), at, deadline)

    def commit(self, reservation: Reservation | str, *, now: float | None = None) -> Reservation:
        """Payment arrived: the hold becomes used. Idempotent; refuses past expiry."""
        return _settled(self._batch([self._step(reservation, COMMIT, now)])[0])

    def release(self, reservation: Reservation | str, *, now: float | None = None) -> Reservation:
        """Cancel: the hold goes back to available. Idempotent."""
        return _settled(self._batch([self._step(reservation, RELEASE, now)])[0])

    def commit_many(
        self, reservations: Iterable[Reservation | str], *, now: float | None = None
    ) -> list[Reservation | LedgerError]:
        """Commit many reservations in one step of the backend; one outcome each, in order.

        Each outcome is what ``commit`` would return, or the error it would raise.
        """
        return self._many(reservations, COMMIT, now)

    def release_many(
        self, reservations: Iterable[Reservation | str], *, now: float | None = None
    ) -> list[Reservation | LedgerError]:
        """Release many reservations in one step of the backend; one outcome each, in order."""
        return self._many(reservations, RELEASE, now)

    def _many(
        self, reservations: Iterable[Reservation | str], target: ReservationState, now: float | None
    ) -> list[Reservation | LedgerError]:
        at = self.now(now)
        steps: list[Step | LedgerError] = []
        for reservation in reservations:
            try:
                steps.append(self._step(reservation, target, at))
            except LedgerError as exc:
                steps.append(exc)
        valid = [s for s in steps if isinstance(s, Step)]
        done = iter(self._batch(valid))
        return [next(done) if isinstance(s, Step) else s for s in steps]

    def _step(
        self, reservation: Reservation | str, target: ReservationState, now: float | None
    ) -> Step:
        return Step(_key_of(reservation), target, self.now(now))

    def _batch(self, items: Sequence[Hold | Step]) -> list[Outcome]:
        """Reserves, commits and releases in one backend step; one outcome each, in order.

        Reserves are taken before commits and releases. A reserve of a sharded counter
        takes from one shard (the same for the whole batch), and if that one is short,
        from the others, fullest first, against a fresh read of them all: it is refused
        only when all the shards together hold less than it asks.
        """
        split_into = self._shard_map()
        outcomes = self._batch_sharded(items, split_into) if split_into else self._batch_raw(items)
        stale = [
            i
            for i, o in enumerate(outcomes)
            if isinstance(o, UnknownCounter) and isinstance(items[i], Hold)
        ]
        if stale and self._shard_map(refresh=True) != split_into:
            # counters sharded by another process since this one read the shard counts
            again = self._batch_sharded([items[i] for i in stale], self._shard_map())
            for i, outcome in zip(stale, again, strict=True):
                outcomes[i] = outcome
        return [_folded(o) for o in outcomes]

    def _batch_raw(self, items: Sequence[Hold | Step]) -> list[Outcome]:
        """The batch as the backend takes it: a key given twice goes in a later round."""
        return in_rounds(items, _batch_key, self._apply_round)

    def _batch_sharded(
        self, items: Sequence[Hold | Step], split_into: Mapping[CounterKey, int]
    ) -> list[Outcome]:
        home = self._home_shard()
        placed = [_placed(i, split_into, home) if isinstance(i, Hold) else i for i in items]
        outcomes = self._batch_raw(placed)
        for _ in range(FALLBACK_ROUNDS):
            short = [i for i, o in enumerate(outcomes) if _shard_short(o)]
            if not short:
                return outcomes
            counters = {
                k for i in short for k, _ in _hold_of(items[i]).consumption if k in split_into
            }
            names = [sharding.shard_key(k, j) for k in counters for j in range(split_into[k])]
            found = self._availability(sorted(names, key=str))[0]
            left = {
                k: [found.get(sharding.shard_key(k, j), 0) for j in range(split_into[k])]
                for k in counters
            }
            retry = []
            planned: dict[str, Consumption] = {}
            for i in short:
                hold, refused = _hold_of(items[i]), outcomes[i]
                assert isinstance(refused, InsufficientError)
                if hold.key in planned:
                    # the same key again: a replay (or conflict) of the retry planned above
                    placed[i] = hold._replace(consumption=planned[hold.key])
                    retry.append(i)
                    continue
                physical = _spread(hold, refused, split_into, left, home)
                if isinstance(physical, LedgerError):
                    outcomes[i] = physical
                else:
                    placed[i] = hold._replace(consumption=physical)
                    planned[hold.key] = physical
                    retry.append(i)
            for i, outcome in zip(retry, self._batch_raw([placed[i] for i in retry]), strict=True):
                outcomes[i] = outcome
        return [
            ContentionError("the shards kept changing under the reserve") if _shard_short(o) else o
            for o in outcomes
        ]

    def _home_shard(self) -> int:
        """Which shard of each sharded counter a batch aims at first (modulo its count)."""
        return random.randrange(sharding.MAX_SHARDS)

    def _apply_round(self, items: Sequence[Hold | Step]) -> list[Outcome]:
        holds = [i for i in items if isinstance(i, Hold)]
        if len(holds) == len(items):
            return self._apply_many(holds, ())[0]
        steps = [i for i in items if isinstance(i, Step)]
        if not holds:
            return self._apply_many((), steps)[1]
        reserved, moved = self._apply_many(holds, steps)
        done, stepped = iter(reserved), iter(moved)
        return [next(done) if isinstance(i, Hold) else next(stepped) for i in items]

    def _apply_many(
        self, holds: Sequence[Hold], steps: Sequence[Step]
    ) -> tuple[list[Outcome], list[Outcome]]:
        """The reserves, then the commits and releases; keys are distinct within each.

        Backends override this to take both in one transaction (one flush).
        """
        return (
            self._reserve_many(holds) if holds else [],
            self._transition_many(steps) if steps else [],
        )

    def get(self, idempotency_key: str) -> Reservation | None:
        """The reservation made under this key, in its current state, if any."""
        found = self._get(idempotency_key)
        return None if found is None else sharding.fold_reservation(found)

    def sweep(self, *, now: float | None = None) -> int:
        """Expire every hold whose deadline has passed; returns how many. Idempotent."""
        return self._sweep(self.now(now))

    # -- returns ----------------------------------------------------------------------

    def refund(
        self,
        reservation: Reservation | str,
        request: object,
        refund_id: str,
        *,
        now: float | None = None,
        actor: str | None = None,
        reason: str | None = None,
    ) -> Refunded:
        """Goods of a committed order came back: give back part of what it used.

        ``request`` is a Consumption or anything with ``.consumption`` (what
        ``promorules.refund.refund`` works out a return gives back): it moves from
        *used* to *available* on each counter, all or nothing. A reservation may be
        refunded in parts; together they never give back more than it used
        (RefundExceeded, naming each counter asked beyond what is left). Only a
        committed reservation is refunded (ReservationClosed otherwise; a held one is
        released instead). ``refund_id`` makes it idempotent: replaying it returns the
        first refund unchanged and changes nothing; the same id with another
        reservation or consumption raises IdempotencyConflict. Logged in the audit log,
        one entry per promotion it gives back to, in the same atomic step. A sharded
        counter gets the give-back on the shards the reservation took from.
        """
        key = _key_of(reservation)
        if not isinstance(refund_id, str) or not refund_id:
            raise InvalidRequest("refund_id must be a non-empty string")
        if "\x00" in refund_id or "\x00" in key:
            raise InvalidRequest("refund ids and reservation keys must not contain NUL")
        consumption = normalise(consumption_of(request))
        heads = {
            promotion: self._head(Action.REFUND, promotion, key, actor, reason)
            for promotion in sorted({k.promotion for k, _ in consumption})
        }
        give = GiveBack(refund_id, key, consumption, encode(consumption), self.now(now), heads)
        return _folded_refund(self._refund(give))

    def refunds(self, reservation: Reservation | str | None = None) -> list[Refunded]:
        """Every refund (or those of ``reservation``), oldest first. For audits and tests."""
        key = None if reservation is None else _key_of(reservation)
        found = (_folded_refund(r) for r in self._refunds(key))
        return sorted(found, key=lambda r: (r.at, r.refund_id))

    # -- emergency controls -----------------------------------------------------------

    def pause(self, promotion: str, *, actor: str | None = None, reason: str | None = None) -> None:
        """Refuse new reservations that consume from ``promotion`` (holds stay). Logged."""
        self._pause_or_resume(promotion, True, actor, reason)

    def resume(
        self, promotion: str, *, actor: str | None = None, reason: str | None = None
    ) -> None:
        """Accept reservations for ``promotion`` again. Logged."""
        self._pause_or_resume(promotion, False, actor, reason)

    def _pause_or_resume(
        self, promotion: str, paused: bool, actor: str | None, reason: str | None
    ) -> None:
        _check_promotion(promotion)
        action = Action.PAUSE if paused else Action.RESUME
        self._set_paused(promotion, paused, self._head(action, promotion, promotion, actor, reason))

    def paused(self) -> frozenset[str]:
        return self._availability(())[1]

    def adjust(
        self,
        key: CounterKey,
        delta: int,
        *,
        clamp: bool = False,
        actor: str | None = None,
        reason: str | None = None,
    ) -> CounterRow:
        """Top up (``delta > 0``) or cut (``delta < 0``) a counter's initial and available.

        A cut never takes what is held or used: when it exceeds what is available it
        raises InsufficientError, or with ``clamp=True`` cuts available to zero. On a
        template key it changes the initial of subjects created from then on.
        """
        check_key(key)
        if not isinstance(delta, int) or isinstance(delta, bool):
            raise InvalidRequest("delta must be an integer")
        if abs(delta) > MAX_AMOUNT:
            raise InvalidRequest(f"delta is beyond the ledger maximum {MAX_AMOUNT}")
        split_into = self._shard_map()
        if key in split_into:
            return self._adjust_shards(key, split_into[key], delta, clamp, actor, reason)
        head = self._head(Action.ADJUST, key.promotion, str(key), actor, reason)
        return self._adjust(key, delta, clamp, head)

    def _adjust_shards(
        self,
        key: CounterKey,
        count: int,
        delta: int,
        clamp: bool,
        actor: str | None,
        reason: str | None,
    ) -> CounterRow:
        """Spread an adjust over a counter's shards: one logged adjust per shard it changes.

        A top-up is split evenly; a cut takes from the fullest shards first, and is
        refused (unless ``clamp``) when all of them together hold less than it.
        """
        names = [sharding.shard_key(key, i) for i in range(count)]
        whole = next(r for r in self.status(key.promotion) if r.key == key)
        adjusted(whole.initial, whole.available, delta, clamp)  # refuses a top-up past the max
        if delta >= 0:
            parts = list(zip(names, sharding.split(delta, count), strict=True))
        else:
            found = self._availability(names)[0]
            left = [found.get(n, 0) for n in names]
            cut = -delta if -delta <= sum(left) else None
            if cut is None and not clamp:
                raise InsufficientError((Shortfall(key, -delta, sum(left)),))
            plan = sharding.take(sum(left) if cut is None else cut, left, 0) or []
            parts = [(names[i], -units) for i, units in plan]
        for name, change in parts:
            if change:
                head = self._head(Action.ADJUST, key.promotion, str(name), actor, reason)
                # clamped: a reserve racing the cut leaves a shard with less than planned
                self._adjust(name, change, True, head)
        return next(r for r in self.status(key.promotion) if r.key == key)

    # -- the audit log ----------------------------------------------------------------

    def log(self, promotion: str | None = None, limit: int | None = None) -> list[LogEntry]:
        """The audit log, oldest first (the last ``limit`` entries, of ``promotion``)."""
        entries = [LogEntry.from_json(seq, text) for seq, text in self._read_log()]
        if promotion is not None:
            entries = [e for e in entries if e.promotion == promotion]
        return entries if limit is None else entries[-limit:] if limit > 0 else []

    def _head(
        self,
        action: Action,
        promotion: str,
        target: str,
        actor: str | None,
        reason: str | None,
    ) -> str:
        """The fixed fields of a log entry, as JSON; the backend adds before and after.

        The backend appends the entry in the same transaction (or script) as the change
        it records, once it knows the figures: a change is never without its entry.
        """
        who = actor if actor else current_user()
        entry = LogEntry(0, self.now(), who, action, promotion, target, {}, {}, reason)
        data = json.loads(entry.to_json())
        del data["before"], data["after"]
        return json.dumps(data, separators=(",", ":"), sort_keys=True)

    # -- the ledger's own settings ----------------------------------------------------

    def currency(self) -> str | None:
        """The currency of the money counters, as recorded by ``set_currency``."""
        return self._meta_get("currency")

    def set_currency(self, currency: str) -> None:
        """Record the ruleset currency (budgets are in its minor units); never changes it."""
        found = self.currency()
        if found is not None and found != currency:
            raise InvalidRequest(f"this ledger counts money in {found}, not {currency}")
        if found is None:
            self._meta_set("currency", currency)

    def promotions(self) -> frozenset[str]:
        """Every promotion the ledger knows: with a counter, recorded by a ruleset, or paused."""
        recorded = json.loads(self._meta_get("promotions") or "null")
        if recorded is None:  # provisioned before promotions were recorded: look once
            recorded = sorted({CounterKey.parse(n).promotion for n in self._counter_names()})
            if recorded:
                self._meta_set("promotions", json.dumps(recorded))
        return frozenset({*recorded, *self.paused()})

    def exists(self, key: CounterKey) -> bool:
        """True when the counter ``key`` itself exists (not only its template)."""
        return check_key(key) in self._available((key,))[0]

    def record_promotions(self, promotions: Iterable[str]) -> None:
        """Remember a ruleset's promotion ids, so the console knows those without counters."""
        known = set(json.loads(self._meta_get("promotions") or "[]"))
        wanted = known | {_check_promotion(p) for p in promotions}
        if wanted != known:
            self._meta_set("promotions", json.dumps(sorted(wanted)))

    def _settle_key_format(self) -> None:
        """Record the key format of a new ledger; refuse one whose keys would misread."""
        stored = self._meta_get("key_format")
        if stored == KEY_FORMAT:
            return
        bad = (
            []
            if stored is not None
            else [name for name in self._counter_names() if not reads_the_same(name)]
        )
        if stored is not None or bad:
            raise LedgerFormatError(refusal(self.url, stored, bad))
        self._meta_set("key_format", KEY_FORMAT)

    def status(self, promotion: str | None = None) -> list[CounterRow]:
        """Every counter (templates included) with its four figures, sorted by key."""
        return sorted(sharding.fold_rows(self._status(promotion)), key=lambda r: str(r.key))

    def reservations(self, state: ReservationState | None = None) -> list[Reservation]:
        """Every reservation (or those in ``state``), sorted by key. For audits and tests."""
        found = (sharding.fold_reservation(r) for r in self._reservations(state))
        return sorted(found, key=lambda r: r.key)

    def audit(self) -> list[str]:
        """Problems found cross-checking counters against reservations; empty is good.

        Exact only when nothing runs concurrently: it makes two reads.
        """
        rows = {r.key: r for r in self.status()}
        held: dict[CounterKey, int] = defaultdict(int)
        used: dict[CounterKey, int] = defaultdict(int)
        for res in self.reservations():
            bucket = {ReservationState.HELD: held, ReservationState.COMMITTED: used}
            for key, amount in res.consumption:
                if res.state in bucket:
                    bucket[res.state][key] += amount
        for refund in self.refunds():
            for key, amount in refund.consumption:
                used[key] -= amount
        problems = []
        for key, row in rows.items():
            if row.initial != row.available + row.held + row.used:
                problems.append(f"{key}: initial {row.initial} != a+h+u {row}")
            if min(row.available, row.held, row.used) < 0:
                problems.append(f"{key}: negative figure {row}")
            if row.held != held.pop(key, 0):
                problems.append(f"{key}: held {row.held} but reservations hold {held.get(key)}")
            if row.used != used.pop(key, 0):
                problems.append(f"{key}: used {row.used} but reservations used differ")
        for key in {*held, *used}:
            problems.append(f"{key}: reservations name a counter that does not exist")
        return problems

    # -- lifecycle --------------------------------------------------------------------

    def close(self) -> None:  # noqa: B027 - optional hook: not every backend holds resources
        """Release connections; the state stays."""

    @abc.abstractmethod
    def destroy(self) -> None:
        """Delete every counter and reservation of this ledger (tests, teardown)."""

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- what a backend implements, each atomically -----------------------------------

    @abc.abstractmethod
    def _provision(self, specs: Sequence[CounterSpec], head: str) -> ProvisionResult:
        """Create what is missing; log ``provision_entry`` with it, if anything was created."""

    @abc.abstractmethod
    def _availability(
        self, keys: Sequence[CounterKey] | None
    ) -> tuple[dict[CounterKey, int], frozenset[str]]: ...

    @abc.abstractmethod
    def _reserve_many(self, holds: Sequence[Hold]) -> list[Reservation | LedgerError]:
        """Take each hold all or nothing, in order, in one atomic step; keys are distinct.

        A refusal of one hold (insufficient, paused, unknown counter, conflict) is its
        outcome and leaves nothing of it behind; a failure of the step itself is raised.
        """

    @abc.abstractmethod
    def _transition_many(self, steps: Sequence[Step]) -> list[Reservation | LedgerError]:
        """Apply each step in order, in one atomic step; keys are distinct.

        An overdue commit moves the hold back (kept) and has ReservationClosed as outcome.
        """

    @abc.abstractmethod
    def _get(self, idempotency_key: str) -> Reservation | None: ...

    @abc.abstractmethod
    def _refund(self, give: GiveBack) -> Refunded:
        """Apply a refund and log ``refund_entries`` in one atomic step, or replay it.

        Decides with :func:`replayed_refund` and :func:`decide_refund` against the
        reservation and its earlier refunds as stored (counters over shards as taken).
        """

    @abc.abstractmethod
    def _refunds(self, reservation: str | None) -> Iterable[Refunded]:
        """Every refund as stored (of ``reservation``, when given)."""

    @abc.abstractmethod
    def _sweep(self, now: float) -> int: ...

    @abc.abstractmethod
    def _set_paused(self, promotion: str, paused: bool, head: str) -> None:
        """Pause or resume, and log ``pause_entry`` in the same atomic step."""

    @abc.abstractmethod
    def _adjust(self, key: CounterKey, delta: int, clamp: bool, head: str) -> CounterRow:
        """Apply an adjust and log ``adjust_entry`` in the same atomic step; the new row."""

    @abc.abstractmethod
    def _status(self, promotion: str | None) -> Iterable[CounterRow]: ...

    @abc.abstractmethod
    def _reservations(self, state: ReservationState | None) -> Iterable[Reservation]: ...

    @abc.abstractmethod
    def _counter_names(self) -> Iterable[str]:
        """The stored text of every counter key, as it is stored."""

    @abc.abstractmethod
    def _meta_get(self, name: str) -> str | None: ...

    @abc.abstractmethod
    def _meta_set(self, name: str, value: str) -> None: ...

    @abc.abstractmethod
    def _read_log(self) -> Iterable[tuple[int, str]]:
        """Every log entry with its position, oldest first."""


FALLBACK_ROUNDS = 20
"""How often a reserve re-reads the shards of a hot counter before giving up as contended."""


def _hold_of(item: Hold | Step) -> Hold:
    assert isinstance(item, Hold)
    return item


def _placed(hold: Hold, split_into: Mapping[CounterKey, int], home: int) -> Hold:
    """A reserve of sharded counters aimed at one shard of each (``home``)."""
    if not any(k in split_into for k, _ in hold.consumption):
        return hold
    physical = [
        (sharding.shard_key(k, home % split_into[k]), n) if k in split_into else (k, n)
        for k, n in hold.consumption
    ]
    return hold._replace(consumption=tuple(sorted(physical, key=lambda kv: str(kv[0]))))


def _shard_short(outcome: Outcome) -> bool:
    return isinstance(outcome, InsufficientError) and any(
        sharding.shard_of(s.key) is not None for s in outcome.shortfalls
    )


def _spread(
    hold: Hold,
    refused: InsufficientError,
    split_into: Mapping[CounterKey, int],
    left: dict[CounterKey, list[int]],
    home: int,
) -> Consumption | InsufficientError:
    """Where a reserve refused on a shard takes from now, or its refusal if nothing can give.

    ``left`` is a fresh read of the shards, less what earlier retries planned to take.
    A short counter that is not sharded refuses at once (the backend decided it).
    """
    missing = [s for s in refused.shortfalls if sharding.shard_of(s.key) is None]
    missing += [
        Shortfall(k, n, sum(left[k]))
        for k, n in hold.consumption
        if k in split_into and sum(left[k]) < n
    ]
    if missing:
        return InsufficientError(tuple(sorted(missing, key=lambda s: str(s.key))))
    physical: list[tuple[CounterKey, int]] = []
    for key, amount in hold.consumption:
        if key not in split_into:
            physical.append((key, amount))
            continue
        plan = sharding.take(amount, left[key], home % split_into[key]) or []
        for index, units in plan:
            left[key][index] -= units
            physical.append((sharding.shard_key(key, index), units))
    return tuple(sorted(physical, key=lambda kv: str(kv[0])))


def _folded(outcome: Outcome) -> Outcome:
    """An outcome as the caller named its counters: shards folded into theirs."""
    if isinstance(outcome, Reservation):
        return sharding.fold_reservation(outcome)
    if isinstance(outcome, UnknownCounter) and any(sharding.shard_of(k) for k in outcome.keys):
        return UnknownCounter(tuple(dict.fromkeys(sharding.declared(k) for k in outcome.keys)))
    if isinstance(outcome, InsufficientError) and _shard_short(outcome):
        return InsufficientError(
            tuple(s._replace(key=sharding.declared(s.key)) for s in outcome.shortfalls)
        )
    return outcome


def _fold_provision(made: ProvisionResult, specs: Sequence[CounterSpec]) -> ProvisionResult:
    """What ``provision`` did, said of the declared counters rather than their sharding."""
    initial = dict(specs)
    found: dict[CounterKey, int] = defaultdict(int)
    wanted: dict[CounterKey, int] = defaultdict(int)
    created: dict[CounterKey, None] = {}
    for key in made.created:
        created[sharding.declared(key)] = None
    for key in (*made.created, *made.unchanged):
        found[sharding.declared(key)] += initial[key]
        wanted[sharding.declared(key)] += initial[key]
    for key, had, asked in made.differing:
        found[sharding.declared(key)] += had
        wanted[sharding.declared(key)] += asked
    differing = tuple(
        (k, found[k], wanted[k]) for k in sorted(found, key=str) if found[k] != wanted[k]
    )
    unchanged = tuple(
        k for k in sorted(found, key=str) if k not in created and found[k] == wanted[k]
    )
    return ProvisionResult(tuple(created), unchanged, differing)


def _batch_key(item: Hold | Step) -> str:
    return ("r:" if isinstance(item, Hold) else "s:") + item.key


def _key_of(reservation: Reservation | str) -> str:
    key = reservation.key if isinstance(reservation, Reservation) else reservation
    if not isinstance(key, str) or not key:
        raise InvalidRequest("expected a Reservation or its idempotency key")
    return key


def _check_promotion(promotion: str) -> str:
    if not isinstance(promotion, str) or not promotion:
        raise InvalidRequest("promotion must be a non-empty string")
    if "\x00" in promotion:
        raise InvalidRequest("promotion must not contain NUL")
    return promotion


def check_options(backend: str, query: dict[str, str], known: Sequence[str]) -> None:
    """Refuse URL options the backend does not know, naming the closest known one."""
    for name in query:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InvalidRequest(
                f"unknown {backend} URL option {name[:60]!r}{hint}; known: {', '.join(known)}"
            )


def log_entry(head: str, before: dict[str, object], after: dict[str, object]) -> str:
    """A whole log entry: the fixed fields of ``head`` with the figures before and after."""
    figures = json.dumps({"before": before, "after": after}, separators=(",", ":"))
    return f"{head[:-1]},{figures[1:]}"


def figures(row: CounterRow) -> dict[str, object]:
    return {
        "initial": row.initial,
        "held": row.held,
        "used": row.used,
        "available": row.available,
    }


def pause_entry(head: str, before: bool, after: bool) -> str:
    return log_entry(head, {"paused": before}, {"paused": after})


def adjust_entry(head: str, before: CounterRow, after: CounterRow, delta: int, clamp: bool) -> str:
    return log_entry(head, figures(before), {**figures(after), "delta": delta, "clamp": clamp})


def provision_entry(head: str, created: dict[str, int]) -> str:
    return log_entry(head, {}, {"created": created})


def adjusted(initial: int, available: int, delta: int, clamp: bool) -> int | None:
    """The delta an adjust really applies, or None when a cut exceeds what is available.

    Raises InvalidRequest when a top-up would take the counter past MAX_AMOUNT.
    """
    if initial + delta > MAX_AMOUNT:
        raise InvalidRequest(
            f"a top-up of {delta} would take the counter past the ledger maximum {MAX_AMOUNT}"
        )
    if available + delta >= 0:
        return delta
    return -available if clamp else None


def replayed_refund(give: GiveBack, stored: Refunded) -> Refunded:
    """A refund id seen before: the stored refund when ``give`` is the same, else conflict."""
    if stored.reservation != give.reservation or not same_payload(
        encode(stored.consumption), give.fingerprint
    ):
        raise IdempotencyConflict(give.refund_id)
    return stored


def decide_refund(give: GiveBack, found: Reservation | None, before: Consumption) -> Consumption:
    """What a new refund moves from *used* to *available*, counter by counter as stored.

    ``found`` is the reservation as stored (a sharded counter as the shards it took
    from) and ``before`` what its earlier refunds gave back, alike. Raises
    UnknownReservation, ReservationClosed (not committed) or RefundExceeded; the one
    statement of the refund rules for every backend.
    """
    if found is None:
        raise UnknownReservation(give.reservation)
    if found.state is not ReservationState.COMMITTED:
        raise ReservationClosed(give.reservation, found.state.value, "refund")
    given = dict(before)
    left: dict[CounterKey, list[tuple[CounterKey, int]]] = defaultdict(list)
    for stored, amount in found.consumption:
        rest = amount - given.get(stored, 0)
        if rest > 0:
            left[sharding.declared(stored)].append((stored, rest))
    moves: list[tuple[CounterKey, int]] = []
    excess: list[Shortfall] = []
    for key, amount in give.consumption:
        parts = left.get(key, [])
        if sum(n for _, n in parts) < amount:
            excess.append(Shortfall(key, amount, sum(n for _, n in parts)))
            continue
        for stored, rest in parts:  # shards in key order
            take = min(rest, amount)
            if take:
                moves.append((stored, take))
                amount -= take
    if excess:
        raise RefundExceeded(give.reservation, tuple(excess))
    return tuple(sorted(moves, key=lambda kv: str(kv[0])))


def add_up(*parts: Consumption) -> Consumption:
    """Consumptions summed counter by counter, sorted as ``normalise`` sorts."""
    totals: dict[CounterKey, int] = defaultdict(int)
    for part in parts:
        for key, amount in part:
            totals[key] += amount
    return tuple(sorted(((k, n) for k, n in totals.items() if n), key=lambda kv: str(kv[0])))


def refund_entries(give: GiveBack, before: Consumption, moves: Consumption) -> list[str]:
    """The audit log entries of a refund: per promotion, what its reservation had been
    given back on each counter before and after it (declared counters), and its id."""
    had = dict(sharding.fold(before))
    moved = sharding.fold(moves)
    entries = []
    for promotion, head in give.heads.items():
        keys = [k for k, _ in moved if k.promotion == promotion]
        was = {str(k): had.get(k, 0) for k in keys}
        now = {str(k): had.get(k, 0) + n for k, n in moved if k.promotion == promotion}
        if now:
            entries.append(
                log_entry(head, {"refunded": was}, {"refunded": now, "refund": give.refund_id})
            )
    return entries


def _folded_refund(refund: Refunded) -> Refunded:
    if not any(sharding.shard_of(k) is not None for k, _ in refund.consumption):
        return refund
    return attrs.evolve(refund, consumption=sharding.fold(refund.consumption))
