"""Refunds and an order's own hold: the ledger contract, on every backend and mode.

``refund`` gives back part of a committed reservation (goods returned): idempotent by
refund id, never beyond what the reservation used, logged; ``availability(...,
reservation=KEY)`` counts an order's own hold as available when it prices again.
"""

from __future__ import annotations

import threading

import pytest

from promorules.ledger import (
    Action,
    IdempotencyConflict,
    InsufficientError,
    InvalidRequest,
    Ledger,
    RefundExceeded,
    ReservationClosed,
    ReservationState,
    RetryableLedgerError,
    UnknownReservation,
)
from promorules.ledger import shards as sharding
from tests.ledger.conftest import Factory, FakeClock, sharded
from tests.ledger.test_contract import (
    BUDGET,
    COUPON,
    COUPON_ALICE,
    FLASH,
    GIFT,
    SPECS,
    Quote,
    figures,
    rows,
)

ORDER = ((COUPON, 1), (COUPON_ALICE, 1), (FLASH, 3), (BUDGET, 2_500))


@pytest.fixture
def ready(ledger: Ledger) -> Ledger:
    ledger.provision(SPECS)
    return ledger


@pytest.fixture
def paid(ready: Ledger) -> Ledger:
    ready.commit(ready.reserve(ORDER, "o1", 60))
    return ready


def test_a_full_refund_restores_the_counters_exactly(ready: Ledger) -> None:
    before = {k: (r.initial, r.held, r.used, r.available) for k, r in rows(ready).items()}
    ready.commit(ready.reserve(Quote(ORDER), "o1", 60))
    assert figures(ready, FLASH) == (5, 0, 3, 2)
    done = ready.refund("o1", Quote(ORDER), "r1")
    assert (done.refund_id, done.reservation) == ("r1", "o1")
    assert set(done.consumption) == set(ORDER)
    after = {k: (r.initial, r.held, r.used, r.available) for k, r in rows(ready).items()}
    assert after == {**before, COUPON_ALICE: (1, 0, 0, 1)}  # created by the reserve
    assert ready.audit() == []
    assert ready.refunds() == [done] == ready.refunds("o1")
    assert ready.get("o1").state is ReservationState.COMMITTED  # type: ignore[union-attr]


def test_partial_refunds_add_up_and_never_beyond(paid: Ledger) -> None:
    paid.refund("o1", ((FLASH, 1), (BUDGET, 1_000)), "r1")
    paid.refund("o1", ((FLASH, 1), (BUDGET, 1_000)), "r2")
    assert figures(paid, FLASH) == (5, 0, 1, 4)
    assert figures(paid, BUDGET) == (10_000, 0, 500, 9_500)
    with pytest.raises(RefundExceeded) as caught:
        paid.refund("o1", ((FLASH, 2), (BUDGET, 500), (COUPON, 1)), "r3")
    assert caught.value.excess == ((FLASH, 2, 1),)
    assert "flash_stock:flash:sku-1 (asked 2, left to give back 1)" in str(caught.value)
    # refused whole: not even the budget and coupon it could have given back moved
    assert figures(paid, BUDGET) == (10_000, 0, 500, 9_500)
    assert figures(paid, COUPON) == (3, 0, 1, 2)
    assert paid.refund("o1", ((FLASH, 1), (BUDGET, 500), (COUPON, 1)), "r3").consumption
    assert figures(paid, COUPON) == (3, 0, 0, 3)
    with pytest.raises(RefundExceeded):
        paid.refund("o1", ((BUDGET, 1),), "r4")
    assert [r.refund_id for r in paid.refunds("o1")] == ["r1", "r2", "r3"]
    assert paid.audit() == []


def test_a_counter_the_reservation_never_took_is_refused(paid: Ledger) -> None:
    with pytest.raises(RefundExceeded) as caught:
        paid.refund("o1", ((GIFT, 1),), "r1")
    assert caught.value.excess == ((GIFT, 1, 0),)
    assert caught.value.reservation == "o1"
    assert figures(paid, GIFT) == (2, 0, 0, 2)


def test_a_replayed_refund_id_changes_nothing(paid: Ledger, clock: FakeClock) -> None:
    first = paid.refund("o1", ((FLASH, 2),), "r1")
    clock.advance(5)
    # the same request, split differently: the first refund, as it was
    assert paid.refund("o1", ((FLASH, 1), (FLASH, 1)), "r1") == first
    assert figures(paid, FLASH) == (5, 0, 1, 4)
    with pytest.raises(IdempotencyConflict):
        paid.refund("o1", ((FLASH, 1),), "r1")
    paid.commit(paid.reserve(((FLASH, 1),), "o2", 60))
    with pytest.raises(IdempotencyConflict):
        paid.refund("o2", ((FLASH, 2),), "r1")  # another reservation under the same id
    assert figures(paid, FLASH) == (5, 0, 2, 3)
    assert len(paid.refunds()) == 1


def test_only_a_committed_reservation_is_refunded(ready: Ledger, clock: FakeClock) -> None:
    held = ready.reserve(((FLASH, 1),), "held", 60)
    ready.release(ready.reserve(((FLASH, 1),), "released", 60))
    ready.reserve(((FLASH, 1),), "expired", 10)
    clock.advance(10)
    ready.sweep()
    for key, state in (("held", "held"), ("released", "released"), ("expired", "expired")):
        with pytest.raises(ReservationClosed) as caught:
            ready.refund(key, ((FLASH, 1),), f"r-{key}")
        assert caught.value.state == state
        assert str(caught.value) == f"reservation {key!r} is {state}; cannot refund"
    with pytest.raises(UnknownReservation):
        ready.refund("nope", ((FLASH, 1),), "r-nope")
    assert figures(ready, FLASH) == (5, 1, 0, 4)
    assert ready.refunds() == []
    # a refused refund keeps no id: once committed, the same id refunds
    ready.commit(held)
    assert ready.refund(held, ((FLASH, 1),), "r-held").consumption == ((FLASH, 1),)


def test_bad_refunds_are_refused(paid: Ledger) -> None:
    for consumption, refund_id in (
        (((FLASH, -1),), "r1"),
        (((FLASH.template(), 1),), "r1"),
        ("not a quote", "r1"),
        (((FLASH, 1),), ""),
        (((FLASH, 1),), "r\x001"),
    ):
        with pytest.raises(InvalidRequest):
            paid.refund("o1", consumption, refund_id)
    with pytest.raises(InvalidRequest):
        paid.refund("", ((FLASH, 1),), "r1")
    assert figures(paid, FLASH) == (5, 0, 3, 2)


def test_an_empty_refund_records_its_id_and_moves_nothing(paid: Ledger) -> None:
    done = paid.refund("o1", (), "r1")
    assert done.consumption == () and paid.refund("o1", (), "r1") == done
    assert [e.action for e in paid.log()].count(Action.REFUND) == 0
    assert figures(paid, FLASH) == (5, 0, 3, 2)


def test_what_a_refund_gives_back_can_be_taken_again(ready: Ledger) -> None:
    ready.commit(ready.reserve(((COUPON, 3),), "all-uses", 60))
    with pytest.raises(InsufficientError):
        ready.reserve(((COUPON, 1),), "late", 60)
    ready.refund("all-uses", ((COUPON, 1),), "r1")
    assert ready.availability([COUPON]).remaining(COUPON) == 1
    assert ready.reserve(((COUPON, 1),), "late", 60).state is ReservationState.HELD


def test_a_refund_is_in_the_audit_log(paid: Ledger) -> None:
    paid.refund("o1", ((FLASH, 1), (BUDGET, 100)), "r1", actor="ops", reason="RMA 7")
    paid.refund("o1", ((BUDGET, 50),), "r2", actor="ops")
    entries = [e for e in paid.log() if e.action is Action.REFUND]
    assert [(e.promotion, e.target, e.actor) for e in entries] == [
        ("c10", "o1", "ops"),
        ("flash", "o1", "ops"),
        ("c10", "o1", "ops"),
    ]
    assert entries[0].reason == "RMA 7"
    assert entries[0].before == {"refunded": {"budget:c10:": 0}}
    assert entries[0].after == {"refunded": {"budget:c10:": 100}, "refund": "r1"}
    assert entries[1].after == {"refunded": {"flash_stock:flash:sku-1": 1}, "refund": "r1"}
    assert entries[2].before == {"refunded": {"budget:c10:": 100}}
    assert entries[2].after == {"refunded": {"budget:c10:": 150}, "refund": "r2"}
    assert paid.log("flash")[-1] == entries[1]


def test_a_sharded_counter_gets_it_back_on_the_shards_it_came_from(
    ready: Ledger, mode: str
) -> None:
    if not sharded(mode):
        pytest.skip("the counters of this mode are not sharded")
    # 5 of FLASH over 3 shards (2, 2, 1): 4 units come from two shards at least
    ready.commit(ready.reserve(((FLASH, 4),), "spread", 60))
    ready.refund("spread", ((FLASH, 1),), "r1")
    ready.refund("spread", ((FLASH, 3),), "r2")
    shards = [r for r in ready._status("flash") if sharding.declared(r.key) == FLASH]
    assert len(shards) == 3
    assert [(r.held, r.used, r.available) for r in shards] == [(0, 0, r.initial) for r in shards]


def test_concurrent_refunds_never_give_back_more_than_was_used(
    ready: Ledger, open_more: Factory
) -> None:
    handles = [open_more() for _ in range(6)]
    for round_ in range(4):
        order = f"o{round_}"
        ready.commit(ready.reserve(((BUDGET, 3),), order, 60))
        barrier = threading.Barrier(len(handles))
        given: list[int] = []

        def attempt(
            i: int,
            ledger: Ledger,
            order: str = order,
            barrier: threading.Barrier = barrier,
            given: list[int] = given,
        ) -> None:
            barrier.wait()
            for _ in range(200):
                try:
                    done = ledger.refund(order, ((BUDGET, 2),), f"{order}-r{i}")
                    given.append(done.consumption[0][1])
                    return
                except RefundExceeded:
                    return
                except RetryableLedgerError:
                    continue

        threads = [threading.Thread(target=attempt, args=(i, h)) for i, h in enumerate(handles)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert given == [2]  # 3 used: one refund of 2 fits, no second one
    assert figures(ready, BUDGET) == (10_000, 0, 4, 9_996)
    assert ready.audit() == []


# -- an order prices again while it holds its reservation ------------------------------


def test_an_order_reads_its_own_hold_as_available(ready: Ledger) -> None:
    ready.reserve(((COUPON, 2),), "others", 60)
    ready.reserve(((COUPON, 1), (FLASH, 2)), "mine", 60)
    keys = [COUPON, FLASH]
    assert ready.availability(keys).remaining(COUPON) == 0
    own = ready.availability(keys, reservation="mine")
    assert (own.remaining(COUPON), own.remaining(FLASH)) == (1, 5)
    assert ready.availability(reservation="mine").remaining(COUPON) == 1
    # another order's hold, a key never reserved, a hold no longer held: nothing added
    assert ready.availability(keys, reservation="never-made").remaining(COUPON) == 0
    ready.commit("mine")
    assert ready.availability(keys, reservation="mine").remaining(COUPON) == 0
    with pytest.raises(InvalidRequest):
        ready.availability(keys, reservation="")
