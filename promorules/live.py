"""Pricing against one consistent read of a live ledger (``promorules price --ledger
URL``, ``promorules serve --ledger URL``).

Pricing asks an :class:`Availability` for the counters it needs (which per-customer or
per-sku counters depends on the carts), and a ledger read should be one snapshot, not a
query per key. So the carts are priced once against a recorder that notes every key asked
for, those keys are read in one ``availability(keys)`` call, and the carts are priced
again against that snapshot; if the second pass asks for a key the read did not cover
(a counter that only matters once another one ran out), the read is redone with it. A
ledger that keeps widening the set is read whole.
"""

from __future__ import annotations

from collections.abc import Callable

from promorules.counters import Availability, CounterKey, Snapshot
from promorules.diagnostics import PromorulesError

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


def live_availability(url: str, price_all: Callable[[Availability], object]) -> Snapshot:
    """One snapshot of the ledger at ``url`` covering every counter ``price_all`` reads."""
    from promorules.ledger import LedgerError, open_ledger

    try:
        with open_ledger(url) as ledger:
            snapshot: Snapshot | None = None
            read: set[CounterKey] = set()
            for _ in range(ROUNDS):
                recorder = _Recorder(snapshot)
                price_all(recorder)
                if snapshot is not None and recorder.asked <= read:
                    return snapshot
                read |= recorder.asked
                snapshot = ledger.availability(read)
            return ledger.availability()
    except LedgerError as exc:
        raise PromorulesError(f"the ledger: {exc}") from None
    except ImportError as exc:
        raise PromorulesError(
            f"the ledger: {exc} (install promorules[postgres] or promorules[redis])"
        ) from None
