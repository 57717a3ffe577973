"""A Hypothesis state machine: every backend against a simple in-memory model.

The model is written here from the contract, independently of the backends (it shares
none of their code), and is as plain as possible: dicts of figures and of reservations.
Steps: reserve (with a small pool of idempotency keys, so replays and conflicts come up
on their own), commit, release, the clock moving, the sweeper, a crash (the handle is
dropped and the ledger reopened: what the client knew is gone, the state is not),
pause/resume, adjust and refunds (with a small pool of refund ids). After every step the
ledger's status must equal the model's.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, multiple, rule

from promorules.counters import ANY_SUBJECT, CounterKey, CounterKind, CounterSpec
from promorules.ledger import (
    IdempotencyConflict,
    InsufficientError,
    Ledger,
    PromotionPaused,
    RefundExceeded,
    ReservationClosed,
    ReservationState,
    UnknownReservation,
    open_ledger,
)
from tests.ledger.conftest import (
    BACKENDS,
    MODES,
    FakeClock,
    in_mode,
    server_url,
    sharded,
    shards_of,
    with_namespace,
)

STOCK = CounterKey(CounterKind.FLASH_STOCK, "flash", "sku-1")
COUPON = CounterKey(CounterKind.COUPON_USES, "c10")
EACH = CounterKey(CounterKind.COUPON_CUSTOMER_USES, "c10", ANY_SUBJECT)
BUDGET = CounterKey(CounterKind.BUDGET, "c10")
SPECS = {STOCK: 12, COUPON: 4, EACH: 1, BUDGET: 3_000}
CUSTOMERS = ("ann", "bo", "cy")
ORDERS = tuple(f"o{i}" for i in range(6))
REFUNDS = tuple(f"r{i}" for i in range(4))

HELD, COMMITTED = ReservationState.HELD.value, ReservationState.COMMITTED.value
RELEASED, EXPIRED = ReservationState.RELEASED.value, ReservationState.EXPIRED.value


def per_customer(customer: str) -> CounterKey:
    return CounterKey(EACH.kind, EACH.promotion, customer)


class Model:
    """The contract in its simplest form; figures are [initial, available, held, used]."""

    def __init__(self) -> None:
        self.counters = {k: [n, n, 0, 0] for k, n in SPECS.items()}
        self.orders: dict[str, tuple[dict[CounterKey, int], str, float]] = {}
        self.paused: set[str] = set()
        self.refunds: dict[str, tuple[str, dict[CounterKey, int]]] = {}  # id: order, amounts
        self.refunded: dict[str, dict[CounterKey, int]] = {}  # order: given back in all
        # the audit log: (action, target, before, after) of every change that happened
        self.log: list[tuple[str, str, dict[str, object], dict[str, object]]] = [
            ("provision", "", {}, {"created": {str(k): n for k, n in SPECS.items()}})
        ]

    def figures(self, key: CounterKey) -> dict[str, object]:
        initial, available, held, used = self.counters[key]
        return {"initial": initial, "held": held, "used": used, "available": available}

    def figure(self, key: CounterKey) -> list[int] | None:
        if key in self.counters:
            return self.counters[key]
        template = self.counters.get(key.template())
        return None if template is None else [template[0], template[0], 0, 0]

    def reserve(self, order: str, wants: dict[CounterKey, int], deadline: float) -> str:
        if order in self.orders:
            return "replay" if self.orders[order][0] == wants else "conflict"
        if any(k.promotion in self.paused for k in wants):
            return "paused"
        figures = {k: self.figure(k) for k in wants}
        if any(f is None or f[1] < wants[k] for k, f in figures.items()):
            return "short"
        for key, amount in wants.items():
            figure = self.counters.setdefault(key, figures[key])  # type: ignore[arg-type]
            figure[1] -= amount
            figure[2] += amount
        self.orders[order] = (wants, HELD, deadline)
        return "held"

    def move(self, order: str, to: str) -> None:
        wants, _, deadline = self.orders[order]
        for key, amount in wants.items():
            self.counters[key][2] -= amount
            self.counters[key][3 if to == COMMITTED else 1] += amount
        self.orders[order] = (wants, to, deadline)

    def commit(self, order: str, now: float) -> str:
        if order not in self.orders:
            return "unknown"
        _, state, deadline = self.orders[order]
        if state == COMMITTED:
            return COMMITTED
        if state != HELD:
            return "closed"
        if now >= deadline:
            self.move(order, EXPIRED)
            return "closed"
        self.move(order, COMMITTED)
        return COMMITTED

    def release(self, order: str) -> str:
        if order not in self.orders:
            return "unknown"
        state = self.orders[order][1]
        if state == HELD:
            self.move(order, RELEASED)
            return RELEASED
        return "closed" if state == COMMITTED else state

    def sweep(self, now: float) -> int:
        due = [o for o, (_, s, d) in self.orders.items() if s == HELD and d <= now]
        for order in due:
            self.move(order, EXPIRED)
        return len(due)

    def refund(self, refund_id: str, order: str, wants: dict[CounterKey, int]) -> str:
        if refund_id in self.refunds:
            return "replay" if self.refunds[refund_id] == (order, wants) else "conflict"
        if order not in self.orders:
            return "unknown"
        taken, state, _ = self.orders[order]
        if state != COMMITTED:
            return "closed"
        given = self.refunded.get(order, {})
        if any(taken.get(k, 0) - given.get(k, 0) < n for k, n in wants.items()):
            return "exceeded"
        after = {k: given.get(k, 0) + wants.get(k, 0) for k in {*given, *wants}}
        for key, amount in wants.items():
            self.counters[key][3] -= amount
            self.counters[key][1] += amount
        self.refunds[refund_id] = (order, wants)
        self.refunded[order] = after
        for promotion in sorted({k.promotion for k in wants}):
            mine = [k for k in wants if k.promotion == promotion]
            self.log.append(
                (
                    "refund",
                    order,
                    {"refunded": {str(k): given.get(k, 0) for k in mine}},
                    {"refunded": {str(k): after[k] for k in mine}, "refund": refund_id},
                )
            )
        return "ok"

    def adjust(self, key: CounterKey, delta: int, clamp: bool) -> bool:
        figure = self.counters[key]
        if figure[1] + delta < 0:
            if not clamp:
                return False
            delta = -figure[1]
        figure[0] += delta
        figure[1] += delta
        return True


class LedgerMachine(RuleBasedStateMachine):
    open_url: Callable[[], tuple[str, Callable[[], None]]]
    mode = "direct"  # or behind a batcher (thread or asyncio), or every counter in SHARDS shards
    # Orders that got a reservation, so commit and release mostly aim at real ones.
    tried = Bundle("tried")

    def __init__(self) -> None:
        super().__init__()
        self.url, self.cleanup = type(self).open_url()
        self.clock = FakeClock()
        self.ledger = self._open()
        self.ledger.provision(CounterSpec(k, n) for k, n in SPECS.items())
        self.model = Model()

    def _open(self) -> Ledger:
        ledger = open_ledger(self.url, clock=self.clock, shards=shards_of(self.mode))
        return in_mode(ledger, self.mode)

    def teardown(self) -> None:
        self.ledger.close()
        self.cleanup()

    @rule(
        target=tried,
        order=st.sampled_from(ORDERS),
        customer=st.sampled_from(CUSTOMERS),
        units=st.integers(0, 3),
        coupon=st.booleans(),
        money=st.sampled_from([0, 1, 250, 999, 1_000]),
        ttl=st.sampled_from([10.0, 60.0]),
    )
    def reserve(
        self, order: str, customer: str, units: int, coupon: bool, money: int, ttl: float
    ) -> Any:
        wants: dict[CounterKey, int] = {}
        if units:
            wants[STOCK] = units
        if coupon:
            wants[COUPON] = 1
            wants[per_customer(customer)] = 1
            if money:
                wants[BUDGET] = money
        expected = self.model.reserve(order, wants, self.clock.t + ttl)
        consumption = tuple(wants.items())
        try:
            got = self.ledger.reserve(consumption, order, ttl)
        except IdempotencyConflict:
            assert expected == "conflict"
        except PromotionPaused:
            assert expected == "paused"
        except InsufficientError:
            assert expected == "short"
        else:
            assert expected in ("held", "replay"), expected
            assert got.state.value == self.model.orders[order][1]
            assert dict(got.consumption) == {k: n for k, n in wants.items() if n}
            return order
        return multiple()

    @rule(order=tried | st.just("never-reserved"))
    def commit(self, order: str) -> None:
        expected = self.model.commit(order, self.clock.t)
        try:
            got = self.ledger.commit(order).state.value
        except UnknownReservation:
            got = "unknown"
        except ReservationClosed:
            got = "closed"
        assert got == expected

    @rule(order=tried | st.just("never-reserved"))
    def release(self, order: str) -> None:
        expected = self.model.release(order)
        try:
            got = self.ledger.release(order).state.value
        except UnknownReservation:
            got = "unknown"
        except ReservationClosed:
            got = "closed"
        assert got == expected

    @rule(
        order=tried | st.just("never-reserved"),
        refund_id=st.sampled_from(REFUNDS),
        units=st.integers(0, 2),
        coupon=st.booleans(),
        money=st.sampled_from([0, 1, 250]),
    )
    def refund(self, order: str, refund_id: str, units: int, coupon: bool, money: int) -> None:
        wants = {k: n for k, n in ((STOCK, units), (COUPON, int(coupon)), (BUDGET, money)) if n}
        expected = self.model.refund(refund_id, order, wants)
        try:
            got = self.ledger.refund(order, tuple(wants.items()), refund_id)
        except IdempotencyConflict:
            assert expected == "conflict"
        except UnknownReservation:
            assert expected == "unknown"
        except ReservationClosed:
            assert expected == "closed"
        except RefundExceeded:
            assert expected == "exceeded"
        else:
            assert expected in ("ok", "replay"), expected
            assert (got.reservation, dict(got.consumption)) == (order, wants)

    @rule(seconds=st.sampled_from([1.0, 9.0, 30.0]))
    def time_passes(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule()
    def sweep(self) -> None:
        assert self.ledger.sweep() == self.model.sweep(self.clock.t)

    @rule()
    def crash_and_reopen(self) -> None:
        if not self.url.startswith("memory"):
            self.ledger.close()
            self.ledger = self._open()

    @rule(promotion=st.sampled_from(["flash", "c10"]), pause=st.booleans())
    def pause_or_resume(self, promotion: str, pause: bool) -> None:
        before = promotion in self.model.paused
        if pause:
            self.ledger.pause(promotion)
            self.model.paused.add(promotion)
        else:
            self.ledger.resume(promotion)
            self.model.paused.discard(promotion)
        action = "pause" if pause else "resume"
        self.model.log.append((action, promotion, {"paused": before}, {"paused": pause}))

    @rule(
        key=st.sampled_from([STOCK, COUPON, BUDGET, EACH]),
        delta=st.integers(-5, 5),
        clamp=st.booleans(),
    )
    def adjust(self, key: CounterKey, delta: int, clamp: bool) -> None:
        before = self.model.figures(key)
        expected = self.model.adjust(key, delta, clamp)
        try:
            self.ledger.adjust(key, delta, clamp=clamp)
        except InsufficientError:
            assert not expected
        else:
            assert expected
            after = {**self.model.figures(key), "delta": delta, "clamp": clamp}
            self.model.log.append(("adjust", str(key), before, after))

    @invariant()
    def figures_match_the_model(self) -> None:
        got = {r.key: [r.initial, r.available, r.held, r.used] for r in self.ledger.status()}
        assert got == self.model.counters
        assert self.ledger.paused() == frozenset(self.model.paused)

    @invariant()
    def the_log_holds_every_change(self) -> None:
        if sharded(self.mode):
            return  # its entries name the shards each change touched (test_batches.py)
        got = [(e.action.value, e.target, e.before, e.after) for e in self.ledger.log()]
        assert got == self.model.log


def _url_factory(backend: str) -> Callable[[], tuple[str, Callable[[], None]]]:
    def make() -> tuple[str, Callable[[], None]]:
        if backend == "memory":
            return "memory://", lambda: None
        if backend == "sqlite":
            folder = tempfile.mkdtemp(prefix="ledger-sm-")
            return f"sqlite:///{folder}/ledger.db", lambda: shutil.rmtree(folder, True)
        url = with_namespace(server_url(backend), f"sm_{uuid.uuid4().hex[:12]}")

        def cleanup() -> None:
            with open_ledger(url) as ledger:
                ledger.destroy()

        return url, cleanup

    return make


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_ledger_matches_the_model(backend: str, mode: str) -> None:
    if backend in ("postgres", "redis"):
        server_url(backend)  # skip (or fail under CI) before Hypothesis starts
    machine: Any = type(
        f"LedgerMachine_{backend}_{mode}",
        (LedgerMachine,),
        {"open_url": staticmethod(_url_factory(backend)), "mode": mode},
    )
    # Server round trips and per-example schemas make step times vary: no deadline.
    # Everything else follows the active profile; the batched and sharded runs take a
    # fifth of its examples (the direct run covers the model; they cover the layers).
    examples = settings().max_examples
    machine.TestCase.settings = settings(
        deadline=None, max_examples=examples if mode == "direct" else max(10, examples // 5)
    )
    machine.TestCase().runTest()
