"""Stateful limits: the vocabulary shared by pricing and the ledger.

Pricing is pure. It never changes a counter; it *reads* what is left through an
:class:`Availability` (a snapshot taken before pricing) and *says* what a quote would
consume as a tuple of ``(CounterKey, amount)`` pairs. A ledger backend keeps the real
counters and takes a quote's consumption all-or-nothing.

A counter is named by a :class:`CounterKey`: what it counts (:class:`CounterKind`), the
promotion it belongs to, and a subject: ``""`` for a promotion-wide counter, a sku for
flash stock, a normalised code for single-use coupon codes, a customer id, or a tuple
of parts such as ``(customer, sku)`` for per-customer limits on one sku. The parts stay
separate values, so customer ``"a/b"`` buying sku ``"c"`` and customer ``"a"`` buying
``"b/c"`` are two counters. A ruleset declares its counters as :class:`CounterSpec`
values; a spec whose subject is :data:`ANY_SUBJECT` is a template: the ledger creates
one counter per subject on first use, each starting at the spec's ``initial``.
:data:`ANY_SUBJECT` is a sentinel, not a string, so no id (not even ``"*"``) is taken
for it.

``str(key)`` is the key's one text form, used by every ledger backend to store it and
by ``promorules ledger`` to print and read it: ``KIND:PROMOTION:SUBJECT``, the parts of
a structured subject joined by ``/`` and the template written ``*``. Inside each part
``%``, ``:``, ``/``, ``*`` and every non-printable character are percent-encoded (UTF-8
bytes, ``%3A`` for ``:``), so the text never breaks at the wrong place and never
carries a terminal escape. :meth:`CounterKey.parse` is its exact inverse.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from typing import Final, NamedTuple, Protocol


class Wildcard(enum.Enum):
    """The subject of a template counter: any subject, on first use."""

    ANY = "*"

    def __str__(self) -> str:
        return "*"

    def __repr__(self) -> str:
        return "ANY_SUBJECT"


ANY_SUBJECT: Final = Wildcard.ANY

Subject = str | tuple[str, ...] | Wildcard
"""A counter's subject: one id, a structured tuple of ids (two or more), or the wildcard."""

# What is percent-encoded inside a key's parts besides the non-printable characters:
# the separators, the escape itself and the wildcard.
_RESERVED = frozenset("%:/*")
_ESCAPE = re.compile(r"(?:%[0-9A-Fa-f]{2})+")


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
    subject: Subject = ""

    def __str__(self) -> str:
        subject = self.subject
        if isinstance(subject, str):
            text = escape(subject)
        elif isinstance(subject, tuple):
            text = "/".join(escape(part) for part in subject)
        else:
            text = "*"
        return f"{self.kind.value}:{escape(self.promotion)}:{text}"

    @classmethod
    def parse(cls, text: str) -> CounterKey:
        """Inverse of ``str(key)``; raises ValueError on a malformed key.

        ``KIND:PROMOTION`` (no trailing colon) reads as the promotion-wide counter.
        """
        fields = text.split(":")
        if len(fields) == 2:
            fields.append("")
        if len(fields) != 3:
            raise ValueError(
                f"not a counter key: {text[:200]!r} (expected KIND:PROMOTION[:SUBJECT])"
            )
        kind_text, promotion, subject_text = fields
        try:
            kind = CounterKind(kind_text)
        except ValueError:
            known = ", ".join(k.value for k in CounterKind)
            raise ValueError(f"unknown counter kind {kind_text[:40]!r} (one of {known})") from None
        subject: Subject
        if subject_text == "*":
            subject = ANY_SUBJECT
        elif "/" in subject_text:
            subject = tuple(unescape(part) for part in subject_text.split("/"))
        else:
            subject = unescape(subject_text)
        return cls(kind, unescape(promotion), subject)

    def template(self) -> CounterKey:
        """The template key this counter is instantiated from (subject ANY_SUBJECT)."""
        return CounterKey(self.kind, self.promotion, ANY_SUBJECT)


def escape(part: str) -> str:
    """One part of a key's text: reserved and non-printable characters percent-encoded."""
    if part.isprintable() and _RESERVED.isdisjoint(part):
        return part
    return "".join(
        ch
        if ch.isprintable() and ch not in _RESERVED
        else "".join(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))
        for ch in part
    )


def unescape(part: str) -> str:
    """Inverse of :func:`escape`; raises ValueError on a stray ``%`` or bad UTF-8."""
    if "%" not in part:
        return part

    def decode(match: re.Match[str]) -> str:
        raw = bytes.fromhex(match.group(0).replace("%", ""))
        try:
            return raw.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            raise ValueError(f"bad escape {match.group(0)!r} in {part[:200]!r}") from None

    text = _ESCAPE.sub(decode, part)
    if "%" in _ESCAPE.sub("", part):
        raise ValueError(f"a '%' not followed by two hex digits in {part[:200]!r}")
    return text


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
    (``subject is ANY_SUBJECT``) so per-customer counters that were never touched read as full.
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
