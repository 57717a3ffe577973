"""The counters a replay runs down: an in-memory stand-in for the ledger.

Replay prices each order against what is left (stock, coupon uses, budgets) and then
takes what the quote consumes, so limits run out at the order they would have. This
module is the only place the replay touches counter state; it mirrors the ledger's
contract (``provision(specs)``, an :class:`~promorules.counters.Availability` to price
with, and an all-or-nothing take of a quote's consumption) so the ledger's memory
backend can replace it with little change: :meth:`ReplayState.take` is a reserve
followed at once by a commit.

Unlike a ledger snapshot, :class:`ReplayState` is itself the availability: it is read
and changed by one thread, between pricing calls, so no copy is needed per order.
"""

from __future__ import annotations

from collections.abc import Iterable

from promorules.counters import ANY_SUBJECT, Consumption, CounterKey, CounterSpec


class ReplayState:
    """Counters provisioned from a ruleset's specs, consumed order by order."""

    __slots__ = ("_initial", "_templates", "_used")

    def __init__(self) -> None:
        self._initial: dict[CounterKey, int] = {}
        self._templates: dict[CounterKey, int] = {}
        self._used: dict[CounterKey, int] = {}

    @classmethod
    def provisioned(cls, specs: Iterable[CounterSpec]) -> ReplayState:
        state = cls()
        state.provision(specs)
        return state

    def provision(self, specs: Iterable[CounterSpec]) -> None:
        """Declare counters; a template (subject ``"*"``) gives each subject its own."""
        for spec in specs:
            if spec.key.subject == ANY_SUBJECT:
                self._templates[spec.key] = spec.initial
            else:
                self._initial[spec.key] = spec.initial

    # -- Availability ------------------------------------------------------------------
    def remaining(self, key: CounterKey) -> int | None:
        initial = self._initial.get(key)
        if initial is None:
            initial = self._templates.get(key.template())
            if initial is None:
                return None
        return initial - self._used.get(key, 0)

    def paused(self, promotion: str) -> bool:
        # a replay has no emergency controls: nothing is ever paused
        return False

    # -- consumption -------------------------------------------------------------------
    def take(self, consumption: Consumption) -> bool:
        """Take every pair of ``consumption``, or none when a limited counter would go
        below zero (the ledger would refuse the order); True when taken."""
        needed: dict[CounterKey, int] = {}
        for key, amount in consumption:
            needed[key] = needed.get(key, 0) + amount
        for key, amount in needed.items():
            left = self.remaining(key)
            if left is not None and amount > left:
                return False
        used = self._used
        for key, amount in needed.items():
            used[key] = used.get(key, 0) + amount
        return True

    def used(self, key: CounterKey) -> int:
        return self._used.get(key, 0)

    def initial(self, key: CounterKey) -> int | None:
        found = self._initial.get(key)
        return found if found is not None else self._templates.get(key.template())
