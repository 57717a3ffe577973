"""Batches and shards: each order of a batch on its own, and "sold out" exact over shards.

Runs on every backend in every mode of ``conftest.MODES`` (direct, behind the batcher,
sharded counters, both with the batcher's lanes), like the rest of the contract.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

from promorules.counters import ANY_SUBJECT, CounterKey, CounterKind, CounterSpec
from promorules.ledger import (
    BatchingLedger,
    IdempotencyConflict,
    InsufficientError,
    InvalidRequest,
    Ledger,
    Order,
    Outcome,
    PromotionPaused,
    Reservation,
    ReservationClosed,
    ReservationState,
    UnknownCounter,
    UnknownReservation,
    open_ledger,
)
from promorules.ledger.base import Hold, Step
from promorules.ledger.batcher import _Lane
from promorules.ledger.shards import shard_key
from tests.ledger.conftest import FakeClock

STOCK = CounterKey(CounterKind.FLASH_STOCK, "flash", "sku-1")
OTHER = CounterKey(CounterKind.FLASH_STOCK, "flash", "sku-2")
BUDGET = CounterKey(CounterKind.BUDGET, "c10")
HELD = ReservationState.HELD


def figures(ledger: Ledger, key: CounterKey) -> tuple[int, int, int, int]:
    row = next(r for r in ledger.status() if r.key == key)
    return row.initial, row.held, row.used, row.available


def test_a_batch_mixes_successes_stock_refusals_and_replays(ledger: Ledger) -> None:
    ledger.provision([CounterSpec(STOCK, 3), CounterSpec(BUDGET, 1_000)])
    first = ledger.reserve(((STOCK, 1),), "early", 60)
    outcomes = ledger.reserve_many(
        [
            Order(((STOCK, 1), (BUDGET, 100)), "a", 60),
            Order(((STOCK, 2),), "too-many", 60),  # one unit left after "a": refused
            Order(((STOCK, 1),), "early", 60),  # a replay: the first result, unchanged
            Order(((STOCK, 5),), "early", 60),  # the same key, another payload
            Order(((STOCK, 1),), "b", 60),  # the last unit
            Order(((STOCK, 1),), "c", 60),  # sold out
            Order(((BUDGET, 100), (STOCK, 1)), "a", 60),  # "a" again in this batch: a replay
            Order(((STOCK, -1),), "bad", 60),  # malformed: its own error, nothing else
            Order(((BUDGET, 10),), "no-expiry"),
        ]
    )
    a, too_many, replay, conflict, b, c, a_again, bad, no_expiry = outcomes
    assert isinstance(a, Reservation) and a.state is HELD
    assert dict(a.consumption) == {STOCK: 1, BUDGET: 100}
    assert isinstance(too_many, InsufficientError)
    assert too_many.shortfalls[0].key == STOCK and too_many.shortfalls[0].available == 1
    assert replay == first
    assert isinstance(conflict, IdempotencyConflict)
    assert isinstance(b, Reservation) and b.consumption == ((STOCK, 1),)
    assert isinstance(c, InsufficientError) and c.shortfalls[0].available == 0
    assert a_again == a
    assert isinstance(bad, InvalidRequest) and isinstance(no_expiry, InvalidRequest)
    assert figures(ledger, STOCK) == (3, 3, 0, 0)
    assert figures(ledger, BUDGET) == (1_000, 100, 0, 900)
    # refused orders recorded nothing: their keys are free for a later try
    assert ledger.get("too-many") is None and ledger.get("c") is None
    assert {r.key for r in ledger.reservations()} == {"early", "a", "b"}
    assert ledger.audit() == []


PER_CUSTOMER = CounterKey(CounterKind.FLASH_CUSTOMER_UNITS, "flash", ANY_SUBJECT)


def test_one_backend_step_takes_reserves_commits_and_releases_each_on_its_own(
    ledger: Ledger, clock: FakeClock
) -> None:
    """What a batcher hands the backend: reserves and steps together, in one step."""
    ledger.provision(
        [CounterSpec(STOCK, 4), CounterSpec(BUDGET, 100), CounterSpec(PER_CUSTOMER, 1)]
    )
    ledger.pause("c10")
    pay = ledger.reserve(((STOCK, 1),), "pay", 60)
    ledger.reserve(((STOCK, 1),), "cancel", 60)
    ledger.reserve(((STOCK, 1),), "late", 5)
    clock.advance(10)
    at = ledger.now()
    alice = CounterKey(CounterKind.FLASH_CUSTOMER_UNITS, "flash", "alice")
    bob = CounterKey(CounterKind.FLASH_CUSTOMER_UNITS, "flash", "bob")
    ghost = CounterKey(CounterKind.FLASH_STOCK, "flash", "sku-ghost")
    items: list[Hold | Step] = [
        ledger._hold(Order(((STOCK, 1), (alice, 1)), "alice-1", 60), at),  # makes alice's
        ledger._hold(Order(((STOCK, 1), (BUDGET, 5)), "coupon", 60), at),  # c10 is paused
        ledger._hold(Order(((bob, 2),), "bob-2", 60), at),  # bob's counter holds 1: no trace
        ledger._hold(Order(((ghost, 1),), "ghost", 60), at),  # no such counter
        ledger._hold(Order(((STOCK, 1),), "pay", 60), at),  # a replay of "pay"
        ledger._step("pay", ReservationState.COMMITTED, at),
        ledger._step("cancel", ReservationState.RELEASED, at),
        ledger._step("late", ReservationState.COMMITTED, at),  # overdue: expires now
        ledger._step("nobody", ReservationState.COMMITTED, at),
    ]
    made, coupon, bob_2, ghost_1, replay, paid, cancelled, expired, nobody = ledger._batch(items)
    assert isinstance(made, Reservation) and dict(made.consumption) == {STOCK: 1, alice: 1}
    assert isinstance(coupon, PromotionPaused) and coupon.promotions == ("c10",)
    assert isinstance(bob_2, InsufficientError) and bob_2.shortfalls[0].key == bob
    assert isinstance(ghost_1, UnknownCounter) and ghost_1.keys == (ghost,)
    assert replay == pay
    assert isinstance(paid, Reservation) and paid.state is ReservationState.COMMITTED
    assert isinstance(cancelled, Reservation) and cancelled.state is ReservationState.RELEASED
    assert isinstance(expired, ReservationClosed) and expired.state == "expired"
    assert isinstance(nobody, UnknownReservation)
    assert figures(ledger, STOCK) == (4, 1, 1, 2)
    assert figures(ledger, alice) == (1, 1, 0, 0)
    assert not ledger.exists(bob) and ledger.get("bob-2") is None
    assert ledger.get("coupon") is None and ledger.get("ghost") is None
    assert ledger.audit() == []


def test_commit_many_gives_each_reservation_its_own_outcome(
    ledger: Ledger, clock: FakeClock
) -> None:
    ledger.provision([CounterSpec(STOCK, 5)])
    ledger.reserve(((STOCK, 1),), "paid", 60)
    ledger.reserve(((STOCK, 1),), "late", 10)
    ledger.reserve(((STOCK, 1),), "cancelled", 60)
    ledger.release("cancelled")
    clock.advance(30)
    paid, late, cancelled, unknown, again = ledger.commit_many(
        ["paid", "late", "cancelled", "nobody", "paid"]
    )
    assert isinstance(paid, Reservation) and paid.state is ReservationState.COMMITTED
    assert isinstance(late, ReservationClosed) and late.state == "expired"
    assert isinstance(cancelled, ReservationClosed) and cancelled.state == "released"
    assert isinstance(unknown, UnknownReservation)
    assert again == paid
    # the overdue hold went back when its commit was refused
    assert figures(ledger, STOCK) == (5, 0, 1, 4)
    released = ledger.release_many(["paid", "late"])
    assert isinstance(released[0], ReservationClosed)
    assert isinstance(released[1], Reservation) and released[1].state.value == "expired"
    assert ledger.audit() == []


def test_a_paused_promotion_refuses_only_its_own_orders(ledger: Ledger) -> None:
    ledger.provision([CounterSpec(STOCK, 5), CounterSpec(BUDGET, 500)])
    ledger.pause("c10")
    flash, coupon = ledger.reserve_many(
        [Order(((STOCK, 1),), "f", 60), Order(((BUDGET, 1),), "c", 60)]
    )
    assert isinstance(flash, Reservation)
    assert isinstance(coupon, PromotionPaused) and coupon.promotions == ("c10",)


def test_the_batcher_coalesces_concurrent_callers_each_with_its_outcome(
    ledger: Ledger,
) -> None:
    ledger.provision([CounterSpec(STOCK, 10)])
    front = BatchingLedger(ledger, max_wait=0.05)
    steps: list[int] = []
    apply = ledger._apply_many

    def counted(*args: object) -> object:
        steps.append(1)
        time.sleep(0.002)  # a backend step takes a while (a flush): the next batch fills
        return apply(*args)  # type: ignore[arg-type]

    ledger._apply_many = counted  # type: ignore[assignment,method-assign]
    results: dict[int, object] = {}
    barrier = threading.Barrier(12)

    def client(i: int) -> None:
        barrier.wait()
        try:
            results[i] = front.reserve(((STOCK, 1),), f"o{i}", 60)
        except InsufficientError as exc:
            results[i] = exc

    threads = [threading.Thread(target=client, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    front.close()
    won = [r for r in results.values() if isinstance(r, Reservation)]
    assert len(won) == 10
    assert sum(isinstance(r, InsufficientError) for r in results.values()) == 2
    assert {r.key for r in won} == {r.key for r in ledger.reservations()}
    # twelve callers, far fewer backend steps (at least one per shard fallback round)
    assert len(steps) < 12


def test_the_batcher_refuses_bad_settings(ledger: Ledger) -> None:
    for wait in (-1, 2, "1ms", True):
        with pytest.raises(InvalidRequest):
            BatchingLedger(ledger, max_wait=wait)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest):
        BatchingLedger(ledger, max_batch=0)
    for lanes in (0, 65, 1.5, True):
        with pytest.raises(InvalidRequest, match="lanes"):
            BatchingLedger(ledger, lanes=lanes)  # type: ignore[arg-type]


def test_each_lane_takes_from_a_shard_of_its_own(ledger_url: str) -> None:
    """A thread keeps to its lane, and a lane's reserves aim at the lane's own shard."""
    inner = open_ledger(ledger_url, shards=3)
    front = BatchingLedger(inner, lanes=3)
    try:
        front.provision([CounterSpec(STOCK, 300)])

        def held() -> dict[CounterKey, int]:  # per shard, as the backend stores them
            return {row.key: row.held for row in inner._status(None)}

        def shop(thread: int) -> None:
            for i in range(20):
                front.reserve(((STOCK, 1),), f"t{thread}-{i}", 60)

        grew = []
        for thread in range(3):  # one after another: lanes 0, 1, 2 in turn
            before = held()
            worker = threading.Thread(target=shop, args=(thread,))
            worker.start()
            worker.join()
            grew.append({k: n - before[k] for k, n in held().items() if n != before[k]})
        assert all(list(g.values()) == [20] for g in grew), grew
        assert {k for g in grew for k in g} == {shard_key(STOCK, i) for i in range(3)}
    finally:
        front.close()


# -- shards ---------------------------------------------------------------------------


def test_a_sharded_counter_sells_out_exactly(ledger: Ledger) -> None:
    ledger.provision([CounterSpec(STOCK, 10), CounterSpec(OTHER, 4)], shards={STOCK: 4})
    assert figures(ledger, STOCK) == (10, 0, 0, 10)
    assert ledger.availability([STOCK]).remaining(STOCK) == 10
    # orders of 3 units: three fit (9), the fourth needs units from several shards
    # and fails only because one unit is left in all of them together
    taken = [ledger.reserve(((STOCK, 3),), f"o{i}", 60) for i in range(3)]
    with pytest.raises(InsufficientError) as caught:
        ledger.reserve(((STOCK, 3),), "o3", 60)
    assert caught.value.shortfalls[0].key == STOCK
    assert caught.value.shortfalls[0].available == 1
    last = ledger.reserve(((STOCK, 1), (OTHER, 1)), "o4", 60)
    assert last.consumption == ((STOCK, 1), (OTHER, 1))
    with pytest.raises(InsufficientError):
        ledger.reserve(((STOCK, 1),), "o5", 60)
    assert figures(ledger, STOCK) == (10, 10, 0, 0)
    for reservation in taken:
        assert ledger.commit(reservation).consumption == ((STOCK, 3),)
    assert figures(ledger, STOCK) == (10, 1, 9, 0)
    assert [r.key for r in ledger.status()] == [STOCK, OTHER]
    assert ledger.audit() == []


def test_a_sharded_counter_spreads_provision_and_adjust(ledger: Ledger) -> None:
    result = ledger.provision([CounterSpec(STOCK, 10)], shards={STOCK: 3})
    assert result.created == (STOCK,)
    again = ledger.provision([CounterSpec(STOCK, 12)], shards={STOCK: 3})
    assert again.differing == ((STOCK, 10, 12),)
    stored = ledger.inner if isinstance(ledger, BatchingLedger) else ledger
    shards = {r.key: r.initial for r in stored._status(None)}
    assert shards == {shard_key(STOCK, 0): 4, shard_key(STOCK, 1): 3, shard_key(STOCK, 2): 3}
    assert ledger.adjust(STOCK, 5).initial == 15
    ledger.reserve(((STOCK, 6),), "big", 60)
    with pytest.raises(InsufficientError):
        ledger.adjust(STOCK, -10)
    row = ledger.adjust(STOCK, -10, clamp=True)
    assert (row.initial, row.held, row.available) == (6, 6, 0)
    entries = [e for e in ledger.log() if e.action.value == "adjust"]
    assert {e.target for e in entries} <= {str(shard_key(STOCK, i)) for i in range(3)}
    assert sum(int(e.after["initial"]) - int(e.before["initial"]) for e in entries) == -4  # type: ignore[call-overload]
    assert ledger.audit() == []


def test_shards_are_refused_where_they_make_no_sense(ledger: Ledger) -> None:
    template = CounterKey(CounterKind.COUPON_CUSTOMER_USES, "c10").template()
    with pytest.raises(InvalidRequest):
        ledger.provision([CounterSpec(template, 1)], shards={template: 2})
    with pytest.raises(InvalidRequest):
        ledger.provision([CounterSpec(STOCK, 1)], shards={OTHER: 2})
    with pytest.raises(InvalidRequest):
        ledger.provision([CounterSpec(STOCK, 1)], shards={STOCK: 0})
    with pytest.raises(InvalidRequest):  # a shard's name cannot be given from outside
        ledger.reserve(((shard_key(STOCK, 0), 1),), "o", 60)


def test_a_leader_interrupted_while_waiting_leaves_no_caller_hanging() -> None:
    """The first caller of a batch runs it: stopped before it does, its followers hear why."""
    release = threading.Event()

    class Stopping(threading.Condition):
        def wait(self, timeout: float | None = None) -> bool:
            self.release()  # let a follower join the batch meanwhile
            try:
                release.wait()
            finally:
                self.acquire()
            raise KeyboardInterrupt

    ran: list[list[str]] = []

    def run(items: Sequence[str]) -> list[Outcome]:
        ran.append(list(items))
        return [UnknownReservation(item) for item in items]

    lane: _Lane[str] = _Lane(run, 1.0, 100)
    lane._busy = True  # another batch is in the backend: the leader waits for it
    lane._free = Stopping(lane._mutex)
    caught: dict[str, BaseException] = {}

    def call(name: str) -> None:
        try:
            lane.submit([name])
        except BaseException as exc:
            caught[name] = exc

    leader = threading.Thread(target=call, args=("leader",))
    leader.start()
    while lane._filling is None:
        time.sleep(0.001)
    follower = threading.Thread(target=call, args=("follower",))
    follower.start()
    while lane._filling is not None and len(lane._filling.gates) < 1:
        time.sleep(0.001)
    release.set()
    leader.join(5)
    follower.join(5)
    assert not follower.is_alive(), "the follower was left waiting for a batch never run"
    assert isinstance(caught.get("leader"), KeyboardInterrupt)
    assert isinstance(caught.get("follower"), KeyboardInterrupt)
    assert ran == [] and lane._filling is None  # nothing half-run; the next caller leads
    lane._busy = False
    lane._free = threading.Condition(lane._mutex)
    (outcome,) = lane.submit(["next"])
    assert isinstance(outcome, UnknownReservation) and ran == [["next"]]
