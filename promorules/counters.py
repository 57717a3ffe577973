"""Stateful limits: the vocabulary shared by pricing and the ledger.

Pricing is pure. It never changes a counter; it *reads* what is left through an
:class:`Availability` (a snapshot taken before pricing) and *says* what a quote would
consume as a tuple of ``(CounterKey, amount)`` pairs. A ledger backend keeps the real
counters and takes a quote's consumption all-or-nothing.

A counter is named by a :class:`CounterKey`: what it counts (:class:`CounterKind`), the
promotion it belongs to, and a subject (``""`` for a promotion-wide counter, a sku for
flash stock, a normalised code for single-use coupon codes, ``"<customer>"`` or
``"<customer>/<sku>"`` for per-customer limits). A
ruleset declares its counters as :class:`CounterSpec` values; a spec whose subject is
``"*"`` is a template: the ledger creates one counter per subject on first use, each
starting at the spec's ``initial``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import NamedTuple, Protocol

ANY_SUBJECT = "*"


class CounterKind(str, enum.Enum):
    """What a counter counts. Money counters are in minor units of the ruleset currency."""

    COUPON_USES = "coupon_uses"
    COUPON_CUSTOMER_USES = "coupon_customer_uses"
    COUPON_CODE_USES = "coupon_code_uses"
    """Uses of one code of a coupon (subject: the code); single-use codes start at 1."""
    FLASH_STOCK = "flash_stock"
    FLASH_CUSTOMER_UNITS = "flash_customer_units"
    GIFT_STOCK = "gift_stock"
    BUDGET = "budget"
    FUNDER_BUDGET = "funder_budget"


class CounterKey(NamedTuple):
    """The name of one counter. Cheap to build and hash; used on the pricing path."""

    kind: CounterKind
    promotion: str
    subject: str = ""

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.promotion}:{self.subject}"

    @classmethod
    def parse(cls, text: str) -> CounterKey:
        """Inverse of ``str(key)``; raises ValueError on a malformed key."""
        kind, sep, rest = text.partition(":")
        promotion, sep2, subject = rest.partition(":")
        if not (sep and sep2):
            raise ValueError(f"not a counter key: {text!r}")
        return cls(CounterKind(kind), promotion, subject)

    def template(self) -> CounterKey:
        """The template key this counter is instantiated from (subject ``"*"``)."""
        return CounterKey(self.kind, self.promotion, ANY_SUBJECT)


class CounterSpec(NamedTuple):
    """A counter a ruleset declares, with its initial amount (units or minor units)."""

    key: CounterKey
    initial: int


Consumption = tuple[tuple[CounterKey, int], ...]
Consumed = tuple[int, CounterKey, int, int]
"""What pricing notes a quote would take: (promotion index, counter, amount, line). The
line is that of the units won at a price (a flash sale's stock), or -1 for what the
promotion takes as a whole (a coupon use, a gift's stock): the quote keeps the first
only while the promotion still gives something on that line, the second while it gives
anything at all."""
"""What a quote takes from the ledger if the order is placed: ``(key, amount)`` pairs."""


class Availability(Protocol):
    """Read-only view of the ledger that pricing consults.

    Implementations must be cheap and side-effect free: pricing calls them on the hot
    path and must give the same quote for the same snapshot.
    """

    def remaining(self, key: CounterKey) -> int | None:
        """What is left on the counter ``key``; ``None`` when nothing limits it."""
        ...

    def paused(self, promotion: str) -> bool:
        """True when planners paused ``promotion`` through the emergency controls."""
        ...


class Unlimited:
    """The availability used when no ledger is attached: nothing is limited or paused."""

    __slots__ = ()

    def remaining(self, key: CounterKey) -> int | None:
        return None

    def paused(self, promotion: str) -> bool:
        return False


class Snapshot:
    """An availability built from plain mappings (what a ledger read returns, or a test).

    ``remaining`` maps concrete keys; a key missing from it falls back to its template
    (``subject == "*"``) so per-customer counters that were never touched read as full.
    """

    __slots__ = ("_paused", "_remaining")

    def __init__(
        self,
        remaining: Mapping[CounterKey, int] | None = None,
        paused: frozenset[str] | set[str] = frozenset(),
    ) -> None:
        if remaining is not None and not isinstance(remaining, Mapping):
            raise TypeError(
                f"Snapshot.remaining maps CounterKey to int, not a {type(remaining).__name__}"
            )
        self._remaining = dict(remaining or {})
        # checked here, where checkout builds it: a float, NaN or bool left over would
        # price a flash sale's units in fractions, as unlimited or as one (bool is int)
        for key, left in self._remaining.items():
            if type(key) is not CounterKey or type(left) is not int:
                raise TypeError(
                    "Snapshot.remaining maps CounterKey to int, not "
                    f"{type(key).__name__} to {type(left).__name__}"
                )
        if (
            isinstance(paused, str | bytes)
            or not isinstance(paused, Iterable)
            or not all(type(p) is str for p in paused)
        ):
            raise TypeError("Snapshot.paused is a set of promotion ids (strings)")
        self._paused = frozenset(paused)

    def remaining(self, key: CounterKey) -> int | None:
        found = self._remaining.get(key)
        if found is None and key.subject != ANY_SUBJECT:
            found = self._remaining.get(key.template())
        return found

    def paused(self, promotion: str) -> bool:
        return promotion in self._paused


UNLIMITED = Unlimited()
