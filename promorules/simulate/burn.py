"""Budget and stock burn over time: how fast each counter ran down, and when it ran out.

Recorded by the coordinator as it takes each order's consumption in time order (the
only place counters change), in hourly buckets per declared counter. Counters declared
as templates (one per customer or sku) are summed under their template: a per-customer
limit has no single moment of running out.
"""

from __future__ import annotations

from collections.abc import Iterable

from promorules.counters import ANY_SUBJECT, Consumption, CounterKey, CounterSpec

HOUR = 3600


class CounterBurn:
    """One counter's story: what it started with, what went each hour, when it ran out."""

    __slots__ = ("exhausted_at", "initial", "key", "per_hour", "refusals", "used")

    def __init__(self, key: CounterKey, initial: int) -> None:
        self.key = key
        self.initial = initial
        self.used = 0
        self.per_hour: dict[int, int] = {}
        """Start of the hour (POSIX seconds) -> amount consumed in it."""
        self.exhausted_at: float | None = None
        """When the last unit went (POSIX seconds), if it did."""
        self.refusals = 0

    @property
    def template(self) -> bool:
        return self.key.subject == ANY_SUBJECT

    @property
    def remaining(self) -> int:
        return self.initial - self.used


class BurnLog:
    """Burn of every counter a ruleset declares, fed consumption in time order."""

    def __init__(self, specs: Iterable[CounterSpec]) -> None:
        self.counters: dict[CounterKey, CounterBurn] = {}
        for spec in specs:
            self.counters[spec.key] = CounterBurn(spec.key, spec.initial)

    def _find(self, key: CounterKey) -> CounterBurn | None:
        found = self.counters.get(key)
        if found is None and key.subject != ANY_SUBJECT:
            found = self.counters.get(key.template())
        return found

    def record(self, ts: float, consumption: Consumption) -> None:
        hour = int(ts) // HOUR * HOUR
        for key, amount in consumption:
            burn = self._find(key)
            if burn is None or amount == 0:
                continue
            burn.used += amount
            burn.per_hour[hour] = burn.per_hour.get(hour, 0) + amount
            if not burn.template and burn.exhausted_at is None and burn.used >= burn.initial:
                burn.exhausted_at = ts

    def refused(self, consumption: Consumption) -> None:
        for key, _amount in consumption:
            burn = self._find(key)
            if burn is not None:
                burn.refusals += 1
