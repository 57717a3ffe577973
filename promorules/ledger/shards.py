"""Hot counters split into shards: the names, the arithmetic and the folding back.

A counter provisioned with ``shards={key: n}`` is stored as ``n`` counters, its shards,
whose initials add up to the declared one; the counter itself is not stored. Shard ``i``
of ``KIND:PROMOTION:SUBJECT`` is the counter whose subject is the tuple
``(SHARD_MARK, str(i), *subject parts)``. The mark starts with NUL, which the ledger
refuses in every key it is given (``base.check_key``), so a shard never shares a name
with a counter a ruleset declares, on any backend, and backends store, lock and move
shards as they do any counter. Everything the ledger hands back (status, availability,
reservations, errors) is folded to the declared counter here.

Why shards: on PostgreSQL a reserve locks the counter's row until its commit is on disk,
so one hot row admits one transaction per disk flush; ``n`` shards admit ``n`` at a time.
(SQLite has one writer and Redis one thread: there shards change nothing, batching does.)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import attrs

from promorules.counters import Consumption, CounterKey

if TYPE_CHECKING:
    from promorules.ledger.base import CounterRow, Reservation

SHARD_MARK = "\x00shard"
MAX_SHARDS = 256


def shard_key(key: CounterKey, index: int) -> CounterKey:
    """The name of shard ``index`` of ``key``."""
    subject = key.subject
    parts = subject if isinstance(subject, tuple) else (str(subject),)
    return CounterKey(key.kind, key.promotion, (SHARD_MARK, str(index), *parts))


def shard_of(key: CounterKey) -> tuple[CounterKey, int] | None:
    """The counter a shard belongs to and its index; None for a counter that is no shard."""
    subject = key.subject
    if not isinstance(subject, tuple) or subject[0] != SHARD_MARK:
        return None
    parts = subject[2:]
    whole = CounterKey(key.kind, key.promotion, parts[0] if len(parts) == 1 else parts)
    return whole, int(subject[1])


def declared(key: CounterKey) -> CounterKey:
    """The counter a ruleset declared: the key itself, or the counter a shard is part of."""
    found = shard_of(key)
    return key if found is None else found[0]


def split(total: int, shards: int) -> list[int]:
    """``total`` spread over ``shards`` as evenly as integers go (the first get the rest)."""
    each, rest = divmod(total, shards)
    return [each + (1 if i < rest else 0) for i in range(shards)]


def fold(consumption: Iterable[tuple[CounterKey, int]]) -> Consumption:
    """A consumption over shards as the declared counters' (sorted, as ``normalise`` does)."""
    totals: dict[CounterKey, int] = defaultdict(int)
    for key, amount in consumption:
        totals[declared(key)] += amount
    return tuple(sorted(totals.items(), key=lambda kv: str(kv[0])))


def fold_reservation(reservation: Reservation) -> Reservation:
    if not any(shard_of(k) is not None for k, _ in reservation.consumption):
        return reservation
    return attrs.evolve(reservation, consumption=fold(reservation.consumption))


def fold_rows(rows: Iterable[CounterRow]) -> list[CounterRow]:
    """Status rows with each sharded counter's shards summed into one row."""
    out: dict[CounterKey, CounterRow] = {}
    for row in rows:
        key = declared(row.key)
        seen = out.get(key)
        out[key] = (
            row._replace(key=key)
            if seen is None
            else seen._replace(
                initial=seen.initial + row.initial,
                held=seen.held + row.held,
                used=seen.used + row.used,
                available=seen.available + row.available,
            )
        )
    return list(out.values())


def fold_available(found: Mapping[CounterKey, int]) -> dict[CounterKey, int]:
    out: dict[CounterKey, int] = defaultdict(int)
    for key, available in found.items():
        out[declared(key)] += available
    return dict(out)


def take(amount: int, available: list[int], first: int) -> list[tuple[int, int]] | None:
    """Which shards give ``amount``: shard ``first`` alone if it can, else the fullest first.

    ``(index, units)`` pairs, or None when all the shards together hold less.
    """
    if available[first] >= amount:
        return [(first, amount)]
    if sum(available) < amount:
        return None
    plan = []
    for index in sorted(range(len(available)), key=lambda i: -available[i]):
        units = min(amount, available[index])
        if units:
            plan.append((index, units))
            amount -= units
        if not amount:
            break
    return plan
