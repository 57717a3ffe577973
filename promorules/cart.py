"""The cart being priced, the customer, and the context of pricing (when, where, codes).

Plain immutable attrs classes: what checkout code builds and hands to
:meth:`promorules.engine.Engine.price`. Amounts are integer minor units of the
ruleset's currency. Reading carts from files lives in :mod:`promorules.cartfile`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import attrs

from promorules.counters import UNLIMITED, Availability

MAX_CODES = 20
"""Most coupon codes a customer may present at once; more is refused, not truncated."""
MAX_CODE_LENGTH = 64
"""Longest coupon code accepted as input (before normalisation)."""
MAX_CHOICES = 20
"""Most choices (promotion id -> option) a customer may make at once."""


def _non_negative(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must not be negative (got {value})")


def _positive(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be at least 1 (got {value})")


# Typed converters (not the bare ``tuple``/``frozenset`` builtins): mypy derives the
# ``__init__`` parameter types from them, and a generic builtin leaves them unsolvable.
def _strings(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _string_set(value: Iterable[str]) -> frozenset[str]:
    return frozenset(value)


def _lines(value: Iterable[Line]) -> tuple[Line, ...]:
    return tuple(value)


@attrs.frozen(cache_hash=True)
class Line:
    """One cart line: a sku, how many, and what one unit sells and costs for."""

    sku: str
    quantity: int = attrs.field(validator=_positive)
    unit_price: int = attrs.field(validator=_non_negative)
    unit_cost: int = attrs.field(default=0, validator=_non_negative)
    category: str = ""
    brand: str = ""
    merchant: str = ""
    tags: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    title: str = ""
    deposit_paid: int = attrs.field(default=0, validator=_non_negative)
    """For deposit pre-sale lines priced in the final-payment window: deposit already paid."""

    @property
    def amount(self) -> int:
        return self.unit_price * self.quantity


@attrs.frozen
class Customer:
    """Who is buying: an id (for per-customer limits), segments and tags."""

    id: str = ""
    segments: frozenset[str] = attrs.field(default=frozenset(), converter=_string_set)
    tags: frozenset[str] = attrs.field(default=frozenset(), converter=_string_set)


ANONYMOUS = Customer()


@attrs.frozen
class Cart:
    """Lines, the customer, and an optional shipping fee; all in one currency."""

    lines: tuple[Line, ...] = attrs.field(converter=_lines)
    customer: Customer = ANONYMOUS
    currency: str = "CNY"
    shipping: int = attrs.field(default=0, validator=_non_negative)


def _aware(instance: object, attribute: attrs.Attribute[datetime], value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("the pricing instant must be timezone-aware")


def _codes(
    instance: object, attribute: attrs.Attribute[tuple[str, ...]], value: tuple[str, ...]
) -> None:
    if len(value) > MAX_CODES:
        raise ValueError(f"at most {MAX_CODES} coupon codes may be presented (got {len(value)})")
    for code in value:
        if not isinstance(code, str):
            raise ValueError("coupon codes must be strings")
        if len(code) > MAX_CODE_LENGTH:
            raise ValueError(
                f"a coupon code is at most {MAX_CODE_LENGTH} characters (got {len(code)})"
            )


def _choices(value: object) -> tuple[tuple[str, str], ...]:
    """A mapping (or pairs) of promotion id -> option, held as sorted pairs so the
    context stays hashable and its order never changes a quote."""
    items = value.items() if isinstance(value, dict) else value
    if not isinstance(items, Iterable):
        raise ValueError("choices must map promotion ids to the option chosen")
    pairs = []
    for pair in items:
        if not (isinstance(pair, tuple | list) and len(pair) == 2):
            raise ValueError("choices must map promotion ids to the option chosen")
        key, option = pair
        if not (isinstance(key, str) and isinstance(option, str)):
            raise ValueError("a choice maps a promotion id (string) to an option (string)")
        if len(key) > MAX_CODE_LENGTH or len(option) > MAX_CODE_LENGTH:
            raise ValueError(f"a choice is at most {MAX_CODE_LENGTH} characters per side")
        pairs.append((key, option))
    if len(pairs) > MAX_CHOICES:
        raise ValueError(f"at most {MAX_CHOICES} choices may be made (got {len(pairs)})")
    if len({key for key, _ in pairs}) != len(pairs):
        raise ValueError("one choice per promotion")
    return tuple(sorted(pairs))


@attrs.frozen
class Context:
    """When and where a cart is priced, and the coupon codes the customer presents.

    ``availability`` is a snapshot read from the ledger before pricing (remaining stock,
    uses, budgets, paused promotions); without one nothing is limited.

    ``choices``: what the customer picked where a promotion offers a choice, as
    promotion id -> option (the gift sku of a "choose one of" gift). Given as a dict or
    pairs; held as sorted pairs. A promotion with no choice here uses its default.
    """

    at: datetime = attrs.field(validator=_aware)
    channel: str | None = None
    coupons: tuple[str, ...] = attrs.field(default=(), converter=_strings, validator=_codes)
    availability: Availability = attrs.field(default=UNLIMITED, eq=False)
    choices: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_choices)
