"""Pricing against one consistent read of a live ledger (``promorules price --ledger
URL``, ``promorules serve --ledger URL``).

Pricing asks an :class:`Availability` for the counters it needs (which per-customer or
per-sku counters depends on the carts), and a ledger read should be one snapshot, not a
query per key. So the carts are priced once against a recorder that notes every key asked
for, those keys are read in one ``availability(keys)`` call, and the carts are priced
again against that snapshot; if the second pass asks for a key the read did not cover
(a counter that only matters once another one ran out), the read is redone with it. A
ledger that keeps widening the set is read whole.

An order that holds a reservation and prices again names it (``Context.reservation``,
passed here as ``reservation``): every read then counts that reservation's holds as
available (``Ledger.availability(..., reservation=KEY)``), so the order does not see its
own hold as someone else's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from promorules.counters import Availability, CounterKey, Snapshot
from promorules.diagnostics import PromorulesError

if TYPE_CHECKING:
    from promorules.ledger import Ledger

ROUNDS = 3


class _Recorder:
    """An availability that answers from ``snapshot`` (or: unlimited) and notes each key."""

    __slots__ = ("asked", "snapshot")

    def __init__(self, snapshot: Snapshot | None) -> None:
        self.snapshot = snapshot
        self.asked: set[CounterKey] = set()

    def remaining(self, key: CounterKey) -> int | None:
        self.asked.add(key)
        return None if self.snapshot is None else self.snapshot.remaining(key)

    def paused(self, promotion: str) -> bool:
        return self.snapshot is not None and self.snapshot.paused(promotion)


def live_availability(
    url: str, price_all: Callable[[Availability], object], reservation: str | None = None
) -> Snapshot:
    """One snapshot of the ledger at ``url`` covering every counter ``price_all`` reads,
    with the holds of ``reservation`` (the order's own, if it holds one) counted as
    available."""
    from promorules.ledger import LedgerError, open_ledger

    try:
        with open_ledger(url) as ledger:
            return read_live(ledger, price_all, reservation)
    except LedgerError as exc:
        raise PromorulesError(f"the ledger: {exc}") from None
    except ImportError as exc:
        raise PromorulesError(
            f"the ledger: {exc} (install promorules[postgres] or promorules[redis])"
        ) from None


def read_live(
    ledger: Ledger, price_all: Callable[[Availability], object], reservation: str | None = None
) -> Snapshot:
    """``live_availability`` of a ledger already open (raises its LedgerError)."""
    snapshot: Snapshot | None = None
    read: set[CounterKey] = set()
    for _ in range(ROUNDS):
        recorder = _Recorder(snapshot)
        price_all(recorder)
        if snapshot is not None and recorder.asked <= read:
            return snapshot
        read |= recorder.asked
        snapshot = ledger.availability(read, reservation=reservation)
    return ledger.availability(reservation=reservation)
