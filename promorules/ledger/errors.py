"""The typed errors a ledger raises.

Callers branch on the class, never on the message: a :class:`RetryableLedgerError` means
"nothing was decided, try again" (lock contention, a backend that did not answer); every
other :class:`LedgerError` is a definite answer that a retry with the same input will not
change.
"""

from __future__ import annotations

from typing import NamedTuple

from promorules.counters import CounterKey


class LedgerError(Exception):
    """Base class of everything a ledger raises on purpose."""


class RetryableLedgerError(LedgerError):
    """Nothing was decided: contention or a backend fault. Retry, ideally with backoff.

    A call that raised this either changed nothing or (for a fault after the backend
    committed) changed exactly what a retry with the same idempotency key will return.
    """


class ContentionError(RetryableLedgerError):
    """The backend gave up waiting for a lock (busy database, deadlock victim)."""


class BackendUnavailable(RetryableLedgerError):
    """The backend could not be reached or failed mid-call."""


class BackendError(LedgerError):
    """The backend refused for a reason a retry will not change.

    A missing table, a corrupt file, a permission, a server setting: someone has to fix
    the ledger or its URL before the call can succeed.
    """


class InvalidRequest(LedgerError, ValueError):
    """The call itself is malformed: a negative amount, a template key, no expiry."""


class LedgerFormatError(LedgerError):
    """The ledger was written in a format this version cannot read safely."""


class Shortfall(NamedTuple):
    """One counter that cannot cover what was asked of it."""

    key: CounterKey
    requested: int
    available: int

    def __str__(self) -> str:
        return f"{self.key} (requested {self.requested}, available {self.available})"


class InsufficientError(LedgerError):
    """At least one counter has less available than asked; nothing was taken.

    ``shortfalls`` names every short counter, not only the first one found, so a quote
    can explain all of them at once.
    """

    def __init__(self, shortfalls: tuple[Shortfall, ...]) -> None:
        self.shortfalls = shortfalls
        super().__init__("insufficient: " + ", ".join(str(s) for s in shortfalls))

    @property
    def keys(self) -> tuple[CounterKey, ...]:
        return tuple(s.key for s in self.shortfalls)


class PromotionPaused(LedgerError):
    """A promotion the request consumes from is paused by the emergency controls."""

    def __init__(self, promotions: tuple[str, ...]) -> None:
        self.promotions = promotions
        super().__init__("paused: " + ", ".join(promotions))


class UnknownCounter(LedgerError):
    """The request names counters that were never provisioned (nor have a template)."""

    def __init__(self, keys: tuple[CounterKey, ...]) -> None:
        self.keys = keys
        super().__init__("unknown counters: " + ", ".join(str(k) for k in keys))


class IdempotencyConflict(LedgerError):
    """The idempotency key was already used with a different payload."""

    def __init__(self, idempotency_key: str) -> None:
        self.idempotency_key = idempotency_key
        super().__init__(f"idempotency key {idempotency_key!r} was used with another payload")


class UnknownReservation(LedgerError):
    """No reservation has this idempotency key."""

    def __init__(self, idempotency_key: str) -> None:
        self.idempotency_key = idempotency_key
        super().__init__(f"no reservation {idempotency_key!r}")


class ReservationClosed(LedgerError):
    """The reservation is no longer held: it cannot move to the requested state.

    Raised for commit after release or expiry (the hold went back to the pool: re-price
    and reserve again), for release after commit (that is a refund, not a cancel) and
    for a refund of a reservation that was never committed.
    """

    def __init__(self, idempotency_key: str, state: str, wanted: str) -> None:
        self.idempotency_key = idempotency_key
        self.state = state
        super().__init__(f"reservation {idempotency_key!r} is {state}; cannot {wanted}")


class RefundExceeded(LedgerError):
    """A refund asks to give back more than its reservation used; nothing was given back.

    ``excess`` names every counter asked for beyond what the reservation took less what
    earlier refunds of it gave back (``available`` is what is left to give back there;
    0 for a counter the reservation never took).
    """

    def __init__(self, reservation: str, excess: tuple[Shortfall, ...]) -> None:
        self.reservation = reservation
        self.excess = excess
        super().__init__(
            f"refund of reservation {reservation!r} gives back more than it used: "
            + ", ".join(
                f"{s.key} (asked {s.requested}, left to give back {s.available})" for s in excess
            )
        )
