"""Amounts up to the ledger maximum stay exact on every backend; past it, a clear refusal."""

from __future__ import annotations

import pytest

from promorules.counters import CounterKey, CounterKind, CounterSpec
from promorules.ledger import (
    MAX_AMOUNT,
    InsufficientError,
    InvalidRequest,
    Ledger,
    RetryableLedgerError,
)

BUDGET = CounterKey(CounterKind.FUNDER_BUDGET, "platform")
BIG = 2**53  # where a double stops holding every integer


def figures(ledger: Ledger, key: CounterKey) -> tuple[int, int, int, int]:
    row = next(r for r in ledger.status() if r.key == key)
    return row.initial, row.held, row.used, row.available


def test_a_reserve_one_over_what_is_left_is_refused_above_two_to_the_53(ledger: Ledger) -> None:
    ledger.provision([CounterSpec(BUDGET, BIG)])
    with pytest.raises(InsufficientError):
        ledger.reserve(((BUDGET, BIG + 1),), "one-over", 60)
    assert figures(ledger, BUDGET) == (BIG, 0, 0, BIG)


def test_amounts_above_two_to_the_53_move_exactly(ledger: Ledger) -> None:
    ledger.provision([CounterSpec(BUDGET, BIG + 3)])
    ledger.commit(ledger.reserve(((BUDGET, BIG + 1),), "paid", 60))
    assert figures(ledger, BUDGET) == (BIG + 3, 0, BIG + 1, 2)
    ledger.provision([CounterSpec(CounterKey(CounterKind.BUDGET, "b"), BIG + 5)])
    held = ledger.reserve(((CounterKey(CounterKind.BUDGET, "b"), BIG + 1),), "cancelled", 60)
    ledger.release(held)
    assert figures(ledger, CounterKey(CounterKind.BUDGET, "b")) == (BIG + 5, 0, 0, BIG + 5)
    assert ledger.audit() == []


def test_a_cut_above_two_to_the_53_is_exact(ledger: Ledger) -> None:
    ledger.provision([CounterSpec(BUDGET, BIG + 2)])
    with pytest.raises(InsufficientError):
        ledger.adjust(BUDGET, -(BIG + 3))
    assert ledger.adjust(BUDGET, -(BIG + 1)).available == 1
    ledger.reserve(((BUDGET, 1),), "last", 60)
    assert ledger.adjust(BUDGET, -(BIG + 9), clamp=True).initial == 1


def test_the_maximum_is_held_and_past_it_refused(ledger: Ledger) -> None:
    ledger.provision([CounterSpec(BUDGET, MAX_AMOUNT)])
    assert figures(ledger, BUDGET) == (MAX_AMOUNT, 0, 0, MAX_AMOUNT)
    for call in (
        lambda: ledger.adjust(BUDGET, 1),
        lambda: ledger.adjust(BUDGET, MAX_AMOUNT + 1),
        lambda: ledger.reserve(((BUDGET, MAX_AMOUNT + 1),), "o1", 60),
        lambda: ledger.reserve(((BUDGET, MAX_AMOUNT), (BUDGET, 1)), "o2", 60),
        lambda: ledger.provision([CounterSpec(CounterKey(CounterKind.BUDGET, "x"), 2**63)]),
        lambda: ledger.provision([CounterSpec(CounterKey(CounterKind.BUDGET, "x"), 2**80)]),
    ):
        with pytest.raises(InvalidRequest) as caught:
            call()
        assert not isinstance(caught.value, RetryableLedgerError)
    ledger.commit(ledger.reserve(((BUDGET, MAX_AMOUNT),), "all", 60))
    assert figures(ledger, BUDGET) == (MAX_AMOUNT, 0, MAX_AMOUNT, 0)
    assert ledger.audit() == []


def test_nul_in_an_idempotency_key_or_promotion_is_refused_alike(ledger: Ledger) -> None:
    ledger.provision([CounterSpec(BUDGET, 10)])
    with pytest.raises(InvalidRequest):
        ledger.reserve(((BUDGET, 1),), "o\x001", 60)
    with pytest.raises(InvalidRequest):
        ledger.pause("p\x00")
    assert figures(ledger, BUDGET) == (10, 0, 0, 10)
