"""Money: integer minor units, explicit rounding, exact allocation.

Inside promorules an amount is a plain ``int`` of minor units (fen, cents) of the
ruleset's currency; :class:`Money` pairs one with its currency code at the API
boundary. ``Decimal`` appears only while parsing text, and a rate (a percent) is an
exact :class:`fractions.Fraction` applied through :func:`apply_rate`, the one place
where rounding happens, always with an explicit :class:`Rounding` mode.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from fractions import Fraction

import attrs

# ISO 4217 minor units for the currencies a promotion engine meets in practice; a
# currency missing here is an error at load time rather than a silent guess.
MINOR_UNITS: dict[str, int] = {
    "CNY": 2,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "HKD": 2,
    "TWD": 2,
    "SGD": 2,
    "AUD": 2,
    "CAD": 2,
    "CHF": 2,
    "MYR": 2,
    "THB": 2,
    "PHP": 2,
    "INR": 2,
    "IDR": 2,
    "VND": 0,
    "JPY": 0,
    "KRW": 0,
    "CLP": 0,
    "KWD": 3,
    "BHD": 3,
    "JOD": 3,
    "NZD": 2,
    "SEK": 2,
    "NOK": 2,
    "DKK": 2,
    "PLN": 2,
    "CZK": 2,
    "HUF": 2,
    "MXN": 2,
    "BRL": 2,
    "AED": 2,
    "SAR": 2,
    "RUB": 2,
    "TRY": 2,
    "ZAR": 2,
}

MAX_AMOUNT = 10**15
"""Largest amount read, in minor units (10 trillion yuan in fen): any price, cost, fee,
budget or threshold beyond it is refused, never rounded. Far above any real figure,
and far enough below 2**53 that sums of many of them stay exact everywhere."""

# ASCII digits only: Python's \d also matches Arabic-Indic or full-width digits, which
# would read a ruleset's text differently from what a planner sees in it.
_AMOUNT_RE = re.compile(r"^[+-]?([0-9]+)(?:\.([0-9]+))?\Z")
_PERCENT_RE = re.compile(r"^([+-]?[0-9]+(?:\.[0-9]+)?)\s*%\Z")


class MoneyError(ValueError):
    """A value that cannot be read as money or as a rate; the message says why."""


class Rounding(str, enum.Enum):
    """How a rate applied to an amount lands on a whole minor unit."""

    DOWN = "down"
    HALF_UP = "half-up"
    HALF_EVEN = "half-even"


def minor_units(currency: str) -> int:
    """Number of decimal places of ``currency``; raises MoneyError if unknown."""
    try:
        return MINOR_UNITS[currency]
    except KeyError:
        raise MoneyError(f"unknown currency {currency!r} (expected an ISO 4217 code)") from None


def parse_amount(value: object, currency: str) -> int:
    """Read ``value`` ("299.00", "299", 299) as minor units of ``currency``.

    Floats are refused (they cannot carry money exactly), and so are booleans, more
    decimal places than the currency has, and anything that is not a plain number.
    """
    digits = minor_units(currency)
    if isinstance(value, float):
        raise MoneyError(f'amount must be a string or an integer, not a float (write "{value}")')
    if isinstance(value, bool):
        raise MoneyError("amount must be a string or an integer, not a boolean")
    if isinstance(value, int):
        whole: int = value * 10**digits
        return _bounded(whole, value, currency)
    if not isinstance(value, str):
        raise MoneyError(f"amount must be a string or an integer, not {type(value).__name__}")
    text = value.strip() if len(value) <= 64 else ""
    match = _AMOUNT_RE.match(text)
    if not match:
        raise MoneyError(f'not an amount: {_short(value)} (expected digits like "299.00")')
    fraction = match.group(2) or ""
    if len(fraction.rstrip("0")) > digits:
        raise MoneyError(
            f"{_short(value)} is more precise than {currency} allows ({digits} decimal places)"
        )
    # exactly, digit by digit: Decimal arithmetic would round past its context's 28
    # significant digits ("99999999999999999999999999999999.99" read as 10**32)
    sign = -1 if text.startswith("-") else 1
    minor = sign * int(match.group(1) + fraction.ljust(digits, "0")[:digits])
    return _bounded(minor, value, currency)


def _bounded(minor: int, value: object, currency: str) -> int:
    if abs(minor) > MAX_AMOUNT:
        raise MoneyError(
            f"{_short(value)} is beyond the largest amount accepted "
            f"({format_amount(MAX_AMOUNT, currency)} {currency})"
        )
    return minor


def format_amount(minor: int, currency: str) -> str:
    """Minor units as a plain decimal string: 29900 CNY -> "299.00"."""
    digits = minor_units(currency)
    if digits == 0:
        return str(minor)
    sign = "-" if minor < 0 else ""
    whole, part = divmod(abs(minor), 10**digits)
    return f"{sign}{whole}.{part:0{digits}d}"


def parse_percent(value: object) -> Fraction:
    """Read a rate written as "12.5%" into an exact Fraction (0.125)."""
    if not isinstance(value, str):
        raise MoneyError(f'a rate is written as a percent string like "5%", not {value!r}'[:120])
    match = _PERCENT_RE.match(value.strip()) if len(value) <= 32 else None
    if not match:
        raise MoneyError(f'not a percent: {_short(value)} (expected e.g. "5%" or "12.5%")')
    try:
        return Fraction(Decimal(match.group(1))) / 100
    except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
        raise MoneyError(f"not a percent: {_short(value)}") from None


def format_percent(rate: Fraction) -> str:
    """An exact rate back to the percent text it came from: Fraction(1, 8) -> "12.5%"."""
    percent = rate * 100
    if percent.denominator == 1:
        return f"{percent.numerator}%"
    text = format(Decimal(percent.numerator) / Decimal(percent.denominator), "f")
    return f"{text.rstrip('0').rstrip('.')}%"


_DOWN = Rounding.DOWN  # read on every call of apply_rate: one global, no class attribute


def apply_rate(amount: int, numerator: int, denominator: int, mode: Rounding) -> int:
    """``amount * numerator / denominator`` rounded to a whole minor unit by ``mode``.

    The one rounding function of promorules. Amounts and rates are non-negative
    wherever promotions use it; DOWN rounds towards minus infinity, which for them is
    towards zero.
    """
    product = amount * numerator
    if mode is _DOWN:
        return product // denominator
    quotient, remainder = divmod(product, denominator)
    twice = 2 * remainder
    if twice > denominator or (
        twice == denominator and (mode is Rounding.HALF_UP or quotient % 2 == 1)
    ):
        return quotient + 1
    return quotient


def apply_rate_each(
    amounts: Sequence[int], indexes: Iterable[int], numerator: int, denominator: int, mode: Rounding
) -> list[int]:
    """:func:`apply_rate` on ``amounts[i]`` for each of ``indexes``, in their order: a
    percent off each line, without a call per line when rounding down."""
    if mode is _DOWN:
        return [amounts[i] * numerator // denominator for i in indexes]
    return [apply_rate(amounts[i], numerator, denominator, mode) for i in indexes]


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` over ``weights`` by largest remainder; the parts sum to ``total``.

    Each part is proportional to its weight, rounded down, and the units left over go
    one each to the largest remainders (ties to the earlier position). With all weights
    zero the total is split evenly the same way. When ``0 <= total <= sum(weights)`` no
    part exceeds its weight.
    """
    count = len(weights)
    if count == 1:
        return [total]
    if count == 0:
        if total:
            raise ValueError("cannot allocate a non-zero amount over nothing")
        return []
    weight_sum = sum(weights)
    if weight_sum == 0:
        weights = [1] * count
        weight_sum = count
    if count == 2:
        # the commonest split, without the lists: the second part is what the first
        # leaves, and the one unit left over (if any) goes to the larger remainder,
        # which is the first's when twice its remainder reaches the sum (tie: earlier)
        scaled = total * weights[0]
        first, remainder = divmod(scaled, weight_sum)
        second = total * weights[1] // weight_sum
        if first + second < total:
            if 2 * remainder >= weight_sum:
                first += 1
            else:
                second += 1
        return [first, second]
    return _allocate_over(total, weights, weight_sum)


def _allocate_over(total: int, weights: Sequence[int], weight_sum: int) -> list[int]:
    """:func:`allocate` over three weights or more (apart: its comprehensions close over
    ``total`` and ``weight_sum``, which would make cells on every call of the short ones)."""
    count = len(weights)
    parts = [total * weight // weight_sum for weight in weights]
    left = total - sum(parts)
    if left:
        remainders = [total * weight % weight_sum for weight in weights]
        if left == 1:  # one unit: to the first of the largest remainders, no sort
            parts[remainders.index(max(remainders))] += 1
        else:
            # largest remainders first; the sort is stable, so ties go to the earlier position
            for index in sorted(range(count), key=remainders.__getitem__, reverse=True)[:left]:
                parts[index] += 1
    return parts


@attrs.frozen
class Money:
    """An amount with its currency, as handed across the public API."""

    minor: int
    currency: str

    @classmethod
    def parse(cls, value: object, currency: str) -> Money:
        return cls(parse_amount(value, currency), currency)

    def __str__(self) -> str:
        return f"{format_amount(self.minor, self.currency)} {self.currency}"

    def __add__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise MoneyError(f"cannot add {other.currency} to {self.currency}")
        return Money(self.minor + other.minor, self.currency)


def _short(value: object) -> str:
    """A safe, bounded rendering of untrusted input for an error message."""
    # cut before repr: a 10 MB string must not be copied whole to shorten it, and an
    # int past Python's 4,300-digit limit cannot be rendered at all
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"a {value.bit_length()}-bit integer"
    text = repr(value[:41] if isinstance(value, str) else value)
    return text if len(text) <= 40 else text[:37] + "..."
