"""Hypothesis strategies for hostile values at the embedding API.

Each strategy mostly yields what a well-behaved checkout would pass (catalogue skus,
codes the rulesets know, instants inside their campaigns, so promotions really apply)
and otherwise what a careless or hostile one might: floats, NaN and infinities,
Decimal and Fraction money, booleans, numbers far past the bounds, bare strings where a
collection belongs, bytes, naive datetimes, dates and ISO strings, text full of
control, bidi and look-alike characters.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any, NamedTuple

from hypothesis import strategies as st

from promorules.cart import MAX_AMOUNT, MAX_ID_LENGTH, MAX_QUANTITY
from promorules.counters import UNLIMITED, CounterKey
from promorules.money import MINOR_UNITS


class Units(enum.IntEnum):
    """An int subclass other than bool: money must be a plain int."""

    TEN = 10


NASTY_TEXT = (
    "\x1b[31m",
    "\x00",
    "\u202e",
    "\u2066",
    "\u200b",
    "\u017f",  # long s: upper-cases to S
    "\u0131",  # dotless i: upper-cases to I
    "\uff53",  # full-width s
    "\u212a",  # Kelvin sign
    "\ud800",  # a lone surrogate
    "\n",
    "-",
    " ",
)

hostile_numbers: st.SearchStrategy[Any] = st.one_of(
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.fractions(),
    st.sampled_from(
        [
            -1,
            0,
            MAX_AMOUNT,
            MAX_AMOUNT + 1,
            2**53 + 1,
            2**63,
            -(2**63) - 1,
            10**5000,  # past int -> str's 4,300-digit limit
            Units.TEN,
            Decimal("99.99"),
            Fraction(1, 3),
            float("nan"),
            float("inf"),
            "100",
            None,
            b"1",
            [1],
        ]
    ),
    st.integers(),
    st.text(max_size=5),
)

nasty_text: st.SearchStrategy[str] = st.one_of(
    st.text(max_size=20),
    st.lists(st.sampled_from(NASTY_TEXT) | st.text(max_size=3), max_size=8).map("".join),
)
"""Short strings full of controls, bidi and look-alike characters: sound values for
every text field (at most 40 characters, under every length bound)."""

hostile_text: st.SearchStrategy[Any] = st.one_of(
    nasty_text,
    st.integers(MAX_ID_LENGTH - 2, MAX_ID_LENGTH + 2).map(lambda n: "x" * n),
    st.binary(max_size=5),
    st.integers(),
    st.none(),
    st.lists(st.text(max_size=3), max_size=2),
)


def hostile_collection(good: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    """Collections of strings, and what is not one: a bare string (which a careless
    constructor splits into characters), bytes, a number, mixed members."""
    return st.one_of(
        st.lists(good, max_size=4),
        st.frozensets(good, max_size=4),
        st.lists(good, max_size=4).map(tuple),
        st.iterables(good, max_size=4),
        st.dictionaries(good, st.integers(), max_size=3),
        good,
        st.binary(max_size=6),
        st.integers(),
        st.none(),
        st.lists(st.one_of(good, st.integers(), st.none(), st.binary(max_size=2)), max_size=4),
        st.lists(nasty_text, max_size=70),
    )


def maybe(
    good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any], hostile: bool
) -> st.SearchStrategy[Any]:
    """``good`` for a sound draw; for a hostile one mostly ``good``, sometimes ``bad``.
    A test draws ``hostile`` once for a whole cart and context: one hostile field in
    eight over some thirty fields refuses nearly every hostile draw, so sound draws
    are what keeps the quotes' figures checked as often as the refusals."""
    if not hostile:
        return good
    return st.one_of(good, good, good, good, good, good, good, bad)


@st.composite
def line_fields(draw: st.DrawFn, items: list[dict[str, Any]], hostile: bool) -> dict[str, Any]:
    """Keyword arguments for :class:`promorules.cart.Line`, from a catalogue item."""
    item = draw(st.sampled_from(items))
    quantity = draw(maybe(st.integers(1, 6), hostile_numbers | st.just(MAX_QUANTITY + 1), hostile))
    price = item["price"]
    fields: dict[str, Any] = {
        "sku": draw(maybe(st.just(item["sku"]), hostile_text, hostile)),
        "quantity": quantity,
        "unit_price": draw(maybe(st.just(price), hostile_numbers, hostile)),
        "unit_cost": draw(maybe(st.just(item["cost"]), hostile_numbers, hostile)),
        "category": draw(maybe(st.just(item["category"]), hostile_text, hostile)),
        "brand": draw(maybe(st.just(item["brand"]), hostile_text, hostile)),
        "merchant": draw(maybe(st.just(item["merchant"]), hostile_text, hostile)),
        "tags": draw(maybe(st.just(item["tags"]), hostile_collection(nasty_text), hostile)),
        "title": draw(maybe(st.just(item["title"]), hostile_text, hostile)),
    }
    if draw(st.booleans()):
        whole = price * quantity if type(price) is int and type(quantity) is int else 0
        fields["deposit_paid"] = draw(
            maybe(st.integers(0, max(whole, 0)), hostile_numbers | st.just(whole + 1), hostile)
        )
    return fields


@st.composite
def customer_fields(draw: st.DrawFn, segments: tuple[str, ...], hostile: bool) -> dict[str, Any]:
    good = st.sampled_from(segments) if segments else nasty_text
    return {
        "id": draw(maybe(st.sampled_from(["c-1", "c-2", ""]), hostile_text, hostile)),
        "segments": draw(maybe(st.frozensets(good, max_size=3), hostile_collection(good), hostile)),
        "tags": draw(maybe(st.just(frozenset()), hostile_collection(nasty_text), hostile)),
    }


@st.composite
def cart_fields(draw: st.DrawFn, currency: str, hostile: bool) -> dict[str, Any]:
    return {
        "currency": draw(
            maybe(st.just(currency), st.sampled_from(sorted(MINOR_UNITS)) | hostile_text, hostile)
        ),
        "shipping": draw(maybe(st.integers(0, 2_000), hostile_numbers, hostile)),
    }


@st.composite
def instants(draw: st.DrawFn, moments: list[datetime], hostile: bool) -> Any:
    """Aware instants in and around the campaign (phase edges included), and what is not
    an aware datetime."""
    good = st.one_of(
        st.sampled_from(moments),
        st.builds(
            lambda m, s: m + timedelta(seconds=s),
            st.sampled_from(moments),
            st.integers(-86_400, 86_400),
        ),
        st.datetimes(timezones=st.timezones()),
    )
    bad = st.one_of(
        st.datetimes(),  # naive
        st.dates(),
        st.sampled_from(moments).map(datetime.isoformat),
        st.integers(),
        st.none(),
        st.floats(),
    )
    return draw(maybe(good, bad, hostile))


@st.composite
def availabilities(draw: st.DrawFn, keys: list[CounterKey], hostile: bool) -> Any:
    """UNLIMITED, or the fields of a :class:`Snapshot` (built by the test, which may
    refuse them): counts left, mostly small ints, and paused promotion ids."""
    if not keys or draw(st.booleans()):
        return UNLIMITED
    left = maybe(st.integers(0, 5), hostile_numbers, hostile)
    remaining = draw(st.dictionaries(st.sampled_from(keys), left, max_size=6))
    paused = draw(maybe(st.just(frozenset()), hostile_collection(nasty_text), hostile))
    return SnapshotFields(remaining, paused)


class SnapshotFields(NamedTuple):
    remaining: dict[CounterKey, Any]
    paused: Any


@st.composite
def context_fields(
    draw: st.DrawFn,
    moments: list[datetime],
    codes: tuple[str, ...],
    promotions: tuple[str, ...],
    keys: list[CounterKey],
    hostile: bool,
) -> dict[str, Any]:
    code = st.sampled_from(codes) if codes else nasty_text
    code = code | code.map(str.lower) | nasty_text | code.map(lambda c: c.replace("S", "\u017f"))
    channel = st.sampled_from([None, "app", "web", "live"])
    option = st.sampled_from(["MUG", "TOTE", "BAG"]) | nasty_text
    return {
        "at": draw(instants(moments, hostile)),
        "channel": draw(maybe(channel, hostile_text, hostile)),
        "coupons": draw(maybe(st.lists(code, max_size=3), hostile_collection(code), hostile)),
        "availability": draw(maybe(availabilities(keys, hostile), hostile_text, hostile)),
        "choices": draw(
            maybe(
                st.dictionaries(st.sampled_from(promotions or ("p",)), option, max_size=2),
                hostile_collection(nasty_text),
                hostile,
            )
        ),
    }
