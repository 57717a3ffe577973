"""The cart being priced, the customer, and the context of pricing (when, where, codes).

Plain immutable attrs classes: what checkout code builds and hands to
:meth:`promorules.engine.Engine.price`. Amounts are integer minor units of the
ruleset's currency. Reading carts from files lives in :mod:`promorules.cartfile`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import attrs

from promorules.counters import UNLIMITED, Availability
from promorules.money import MINOR_UNITS

MAX_CODES = 20
"""Most coupon codes a customer may present at once; more is refused, not truncated."""
MAX_CODE_LENGTH = 64
"""Longest coupon code accepted as input (before normalisation)."""
MAX_CHOICES = 20
"""Most choices (promotion id -> option) a customer may make at once."""
MAX_AMOUNT = 10**15
"""Largest amount in minor units: a unit price, cost, deposit, shipping fee, a line's
amount (price x quantity) and a cart's list total. Under 2**53, so every figure of a
quote stays exact in a JSON reader's doubles and in every ledger backend's integers."""
MAX_QUANTITY = 10**6
"""Most units on one line (the cart and order files allow the same)."""
MAX_LINES = 10_000
"""Most lines in one cart (the cart files allow the same)."""
MAX_ID_LENGTH = 128
"""Longest sku, category, brand, merchant, tag, segment, customer id or channel."""
MAX_TITLE_LENGTH = 1024
"""Longest line title (shown to people, never matched)."""
MAX_TAGS = 64
"""Most tags on a line, and most segments or tags on a customer."""
MAX_RESERVATION_LENGTH = 256
"""Longest reservation key (a ledger idempotency key) a context may name."""

# The checks below run on checkout's path (a Line per cart line, every price call):
# ``type(x) is int`` rather than isinstance, which would let ``True`` (an int subclass)
# through as a quantity, and one __attrs_post_init__ per class rather than an attrs
# validator per field (a Python call each). Wrong types raise TypeError, values out of
# range ValueError; both name the class and the field.


_MINOR = "minor units"


def _describe(value: object) -> str:
    """A short rendering of a rejected value for an error message (never huge)."""
    text = repr(value[:41] if isinstance(value, str | bytes) else value)
    return text if len(text) <= 40 else text[:37] + "..."


def _int(owner: str, name: str, value: object, low: int, high: int, unit: str) -> None:
    if type(value) is not int:
        raise TypeError(
            f"{owner}.{name} must be an int of {unit}, not "
            f"{type(value).__name__} {_describe(value)}"
        )
    if not low <= value <= high:
        raise ValueError(
            f"{owner}.{name} must be from {low} to {high:,} {unit} (got {_number(value)})"
        )


def _number(value: int) -> str:
    """``value`` for a message; past 30 digits by size only (a 5,000-digit int cannot
    even be turned into text: int -> str is capped at 4,300 digits)."""
    if abs(value) < 10**30:
        return f"{value:,}"
    sign = "a negative" if value < 0 else "a"
    return f"{sign} number of {value.bit_length():,} bits"


def _text(owner: str, name: str, value: object, limit: int) -> None:
    if type(value) is not str:
        raise TypeError(f"{owner}.{name} must be a str, not {type(value).__name__}")
    if len(value) > limit:
        raise ValueError(f"{owner}.{name} is at most {limit} characters (got {len(value)})")


_COLLECTIONS = frozenset({list, set, frozenset})


def _texts(owner: str, name: str, value: object, limit: int, most: int) -> tuple[str, ...]:
    """``value`` as a tuple of strings, refusing a bare string (which would otherwise be
    split into one-character tags: ``"member"`` into ``{"m", "e", ...}``)."""
    if type(value) is tuple:
        items: tuple[object, ...] = value
    elif type(value) in _COLLECTIONS:
        items = tuple(value)  # type: ignore[arg-type]  # a list, set or frozenset
    elif isinstance(value, str | bytes | bytearray) or not isinstance(value, Iterable):
        raise TypeError(
            f"{owner}.{name} must be a collection of strings (a tuple, list or set), not "
            f"{type(value).__name__} {_describe(value)}"
        )
    else:
        items = tuple(value)
    if len(items) > most:
        raise ValueError(f"{owner}.{name} holds at most {most} entries (got {len(items)})")
    for item in items:
        if type(item) is not str:
            raise TypeError(
                f"{owner}.{name} must hold strings, not {type(item).__name__} {_describe(item)}"
            )
        if len(item) > limit:
            raise ValueError(
                f"{owner}.{name}: an entry is at most {limit} characters (got {len(item)})"
            )
    return items  # type: ignore[return-value]  # every item checked to be a str above


# Typed converters (not the bare ``tuple``/``frozenset`` builtins): mypy derives the
# ``__init__`` parameter types from them, and a generic builtin leaves them unsolvable.
def _line_tags(value: Iterable[str]) -> tuple[str, ...]:
    return _texts("Line", "tags", value, MAX_ID_LENGTH, MAX_TAGS)


def _segments(value: Iterable[str]) -> frozenset[str]:
    return frozenset(_texts("Customer", "segments", value, MAX_ID_LENGTH, MAX_TAGS))


def _customer_tags(value: Iterable[str]) -> frozenset[str]:
    return frozenset(_texts("Customer", "tags", value, MAX_ID_LENGTH, MAX_TAGS))


def _lines(value: Iterable[Line]) -> tuple[Line, ...]:
    if type(value) is tuple:
        lines: tuple[object, ...] = value
    elif type(value) is list:
        lines = tuple(value)
    elif isinstance(value, str | bytes | bytearray | Line) or not isinstance(value, Iterable):
        raise TypeError(f"Cart.lines must be a collection of Line, not {type(value).__name__}")
    else:
        lines = tuple(value)
    if len(lines) > MAX_LINES:
        raise ValueError(f"Cart.lines holds at most {MAX_LINES:,} lines (got {len(lines):,})")
    total = 0
    for line in lines:
        if type(line) is not Line:
            raise TypeError(f"Cart.lines must hold Line values, not {type(line).__name__}")
        total += line.unit_price * line.quantity
    if total > MAX_AMOUNT:
        raise ValueError(
            f"Cart list total must be at most {MAX_AMOUNT:,} minor units (got {total:,})"
        )
    return lines  # type: ignore[return-value]  # every item checked to be a Line above


def _coupons(value: Iterable[str]) -> tuple[str, ...]:
    return _texts("Context", "coupons", value, MAX_CODE_LENGTH, MAX_CODES)


@attrs.frozen(cache_hash=True)
class Line:
    """One cart line: a sku, how many, and what one unit sells and costs for.

    Amounts are ``int`` minor units (never float, Decimal or bool), within
    :data:`MAX_AMOUNT`; a wrong type raises TypeError, a value out of range ValueError.
    """

    sku: str
    quantity: int
    unit_price: int
    unit_cost: int = 0
    category: str = ""
    brand: str = ""
    merchant: str = ""
    tags: tuple[str, ...] = attrs.field(default=(), converter=_line_tags)
    title: str = ""
    deposit_paid: int = 0
    """For deposit pre-sale lines priced in the final-payment window: deposit already paid."""

    def __attrs_post_init__(self) -> None:
        # one expression, no calls, for the common well-formed line; the slow path
        # below works out which field is wrong
        quantity, price, cost = self.quantity, self.unit_price, self.unit_cost
        if not (
            type(quantity) is int
            and type(price) is int
            and type(cost) is int
            and type(self.deposit_paid) is int
            and 0 < quantity <= MAX_QUANTITY
            and price >= 0
            and 0 <= cost <= MAX_AMOUNT
            and 0 <= self.deposit_paid <= price * quantity <= MAX_AMOUNT
            and type(self.sku) is str
            and type(self.category) is str
            and type(self.brand) is str
            and type(self.merchant) is str
            and type(self.title) is str
            and len(self.sku) <= MAX_ID_LENGTH
            and len(self.category) <= MAX_ID_LENGTH
            and len(self.brand) <= MAX_ID_LENGTH
            and len(self.merchant) <= MAX_ID_LENGTH
            and len(self.title) <= MAX_TITLE_LENGTH
        ):
            self._refuse()

    def _refuse(self) -> None:
        """Raise the error that names the first wrong field."""
        _text("Line", "sku", self.sku, MAX_ID_LENGTH)
        _int("Line", "quantity", self.quantity, 1, MAX_QUANTITY, "units")
        _int("Line", "unit_price", self.unit_price, 0, MAX_AMOUNT, _MINOR)
        _int("Line", "unit_cost", self.unit_cost, 0, MAX_AMOUNT, _MINOR)
        _text("Line", "category", self.category, MAX_ID_LENGTH)
        _text("Line", "brand", self.brand, MAX_ID_LENGTH)
        _text("Line", "merchant", self.merchant, MAX_ID_LENGTH)
        _text("Line", "title", self.title, MAX_TITLE_LENGTH)
        amount = self.unit_price * self.quantity
        if amount > MAX_AMOUNT:
            raise ValueError(
                f"Line amount (unit_price x quantity) must be at most {MAX_AMOUNT:,} "
                f"{_MINOR} (got {amount:,})"
            )
        # a deposit beyond what the line costs would vanish from the quote, never paid back
        _int("Line", "deposit_paid", self.deposit_paid, 0, amount, _MINOR)
        raise AssertionError("a Line was refused with no field to blame")  # pragma: no cover

    @property
    def amount(self) -> int:
        return self.unit_price * self.quantity


@attrs.frozen
class Customer:
    """Who is buying: an id (for per-customer limits), segments and tags.

    ``segments`` and ``tags`` are collections of strings; a bare string is refused
    (``segments="member"`` would otherwise read as the segments m, e, b and r).
    """

    id: str = ""
    segments: frozenset[str] = attrs.field(default=frozenset(), converter=_segments)
    tags: frozenset[str] = attrs.field(default=frozenset(), converter=_customer_tags)

    def __attrs_post_init__(self) -> None:
        if not (type(self.id) is str and len(self.id) <= MAX_ID_LENGTH):
            _text("Customer", "id", self.id, MAX_ID_LENGTH)


ANONYMOUS = Customer()


@attrs.frozen
class Cart:
    """Lines, the customer, and an optional shipping fee; all in one currency."""

    lines: tuple[Line, ...] = attrs.field(converter=_lines)
    customer: Customer = ANONYMOUS
    currency: str = "CNY"
    shipping: int = 0

    def __attrs_post_init__(self) -> None:
        if type(self.customer) is not Customer:
            raise TypeError(f"Cart.customer must be a Customer, not {type(self.customer).__name__}")
        if type(self.currency) is not str or self.currency not in MINOR_UNITS:
            if type(self.currency) is not str:
                raise TypeError(f"Cart.currency must be a str, not {type(self.currency).__name__}")
            raise ValueError(
                f"Cart.currency must be an ISO 4217 code promorules knows, not "
                f"{_describe(self.currency)}"
            )
        if not (type(self.shipping) is int and 0 <= self.shipping <= MAX_AMOUNT):
            _int("Cart", "shipping", self.shipping, 0, MAX_AMOUNT, _MINOR)


def _aware(instance: object, attribute: attrs.Attribute[datetime], value: datetime) -> None:
    if not isinstance(value, datetime):
        # a string or a date would fail later, inside pricing, as an AttributeError
        raise TypeError(
            f"Context.at must be a timezone-aware datetime, not {type(value).__name__} "
            f"{_describe(value)}"
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("Context.at (the pricing instant) must be timezone-aware")


def _channel(instance: object, attribute: attrs.Attribute[str | None], value: object) -> None:
    if value is not None:
        _text("Context", "channel", value, MAX_ID_LENGTH)


def _reservation(instance: object, attribute: attrs.Attribute[str | None], value: object) -> None:
    if value is None:
        return
    _text("Context", "reservation", value, MAX_RESERVATION_LENGTH)
    assert isinstance(value, str)
    if not value or "\x00" in value:
        raise ValueError(
            "Context.reservation is the idempotency key of the order's reservation: "
            "not empty, and without NUL"
        )


def _availability(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not UNLIMITED and not (
        callable(getattr(value, "remaining", None)) and callable(getattr(value, "paused", None))
    ):
        raise TypeError(
            "Context.availability must be a ledger snapshot (remaining() and paused()), "
            f"not {type(value).__name__}"
        )


def _choices(value: object) -> tuple[tuple[str, str], ...]:
    """A mapping (or pairs) of promotion id -> option, held as sorted pairs so the
    context stays hashable and its order never changes a quote."""
    items = value.items() if isinstance(value, dict) else value
    if isinstance(items, str | bytes | bytearray) or not isinstance(items, Iterable):
        raise TypeError("Context.choices must map promotion ids to the option chosen")
    pairs = []
    for pair in items:
        if not (isinstance(pair, tuple | list) and len(pair) == 2):
            raise TypeError("Context.choices must map promotion ids to the option chosen")
        key, option = pair
        if not (type(key) is str and type(option) is str):
            raise TypeError(
                "Context.choices: a choice maps a promotion id (str) to an option (str)"
            )
        if len(key) > MAX_CODE_LENGTH or len(option) > MAX_CODE_LENGTH:
            raise ValueError(
                f"Context.choices: a choice is at most {MAX_CODE_LENGTH} characters per side"
            )
        pairs.append((key, option))
        if len(pairs) > MAX_CHOICES:
            raise ValueError(f"Context.choices: at most {MAX_CHOICES} choices may be made")
    if len({key for key, _ in pairs}) != len(pairs):
        raise ValueError("Context.choices: one choice per promotion")
    return tuple(sorted(pairs))


@attrs.frozen
class Context:
    """When and where a cart is priced, and the coupon codes the customer presents.

    ``availability`` is a snapshot read from the ledger before pricing (remaining stock,
    uses, budgets, paused promotions); without one nothing is limited.

    ``choices``: what the customer picked where a promotion offers a choice, as
    promotion id -> option (the gift sku of a "choose one of" gift). Given as a dict or
    pairs; held as sorted pairs. A promotion with no choice here uses its default.

    ``reservation``: the idempotency key of the ledger reservation this order already
    holds, when it prices again (the customer changed the address). A live read of the
    ledger for this context (:func:`promorules.live.live_availability`, ``promorules
    price --ledger URL --reservation KEY``) counts what that reservation holds as
    available, so the order is not refused the last coupon use it holds itself.
    """

    at: datetime = attrs.field(validator=_aware)
    channel: str | None = attrs.field(default=None, validator=_channel)
    coupons: tuple[str, ...] = attrs.field(default=(), converter=_coupons)
    availability: Availability = attrs.field(default=UNLIMITED, eq=False, validator=_availability)
    choices: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_choices)
    reservation: str | None = attrs.field(default=None, validator=_reservation)
