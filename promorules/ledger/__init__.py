"""The ledger: shared, stateful limits that checkouts take a quote's consumption from.

``open_ledger(url)`` picks a backend by URL scheme:

* ``memory://`` - in-process (simulation, tests);
* ``sqlite:///path/to/ledger.db`` - the embedded default, no server;
* ``postgresql://user:pass@host/db`` - many checkout processes, rows locked in order;
* ``redis://host:port/db`` - many checkout processes, one Lua script per operation.

``BatchingLedger(ledger)`` puts any of them behind a batcher that coalesces concurrent
reserves, commits and releases into one backend step (``promorules.ledger.batcher``);
``AsyncBatchingLedger(ledger)`` does so for the asyncio tasks of an event loop.

PostgreSQL and Redis accept ``?namespace=NAME`` to keep several ledgers in one server
(a schema, a key prefix). Drivers are imported only when their backend is opened.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from promorules.ledger.base import (
    MAX_AMOUNT,
    Action,
    Clock,
    CounterRow,
    Ledger,
    LogEntry,
    Order,
    Outcome,
    ProvisionResult,
    Refunded,
    Reservation,
    ReservationState,
    check_shard_count,
)
from promorules.ledger.batcher import AsyncBatchingLedger, BatchingLedger
from promorules.ledger.errors import (
    BackendError,
    BackendUnavailable,
    ContentionError,
    IdempotencyConflict,
    InsufficientError,
    InvalidRequest,
    LedgerError,
    LedgerFormatError,
    PromotionPaused,
    RefundExceeded,
    ReservationClosed,
    RetryableLedgerError,
    Shortfall,
    UnknownCounter,
    UnknownReservation,
)

__all__ = [
    "MAX_AMOUNT",
    "Action",
    "AsyncBatchingLedger",
    "BackendError",
    "BackendUnavailable",
    "BatchingLedger",
    "Clock",
    "ContentionError",
    "CounterRow",
    "IdempotencyConflict",
    "InsufficientError",
    "InvalidRequest",
    "Ledger",
    "LedgerError",
    "LedgerFormatError",
    "LogEntry",
    "Order",
    "Outcome",
    "PromotionPaused",
    "ProvisionResult",
    "RefundExceeded",
    "Refunded",
    "Reservation",
    "ReservationClosed",
    "ReservationState",
    "RetryableLedgerError",
    "Shortfall",
    "UnknownCounter",
    "UnknownReservation",
    "open_ledger",
]


def open_ledger(url: str, *, clock: Clock = time.time, shards: int = 1) -> Ledger:
    """Open the ledger at ``url``; raises InvalidRequest for an unknown scheme.

    ``shards`` above 1 splits every counter this handle provisions from then on (but
    templates, and counters ``provision(shards=...)`` names) into that many shards.
    """
    ledger = _open(url, clock)
    ledger.default_shards = check_shard_count(shards, "shards")
    return ledger


def _open(url: str, clock: Clock) -> Ledger:
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        from promorules.ledger.memory import MemoryLedger

        return MemoryLedger(clock)
    if scheme == "sqlite":
        from promorules.ledger.sqlite import SQLiteLedger

        return SQLiteLedger.from_url(url, clock)
    if scheme in ("postgresql", "postgres"):
        from promorules.ledger.postgres import PostgresLedger

        return PostgresLedger.from_url(url, clock)
    if scheme in ("redis", "rediss"):
        from promorules.ledger.redis import RedisLedger

        return RedisLedger.from_url(url, clock)
    raise InvalidRequest(f"unknown ledger URL scheme {scheme!r} in {url!r}")
