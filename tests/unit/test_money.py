"""Money: parsing and formatting amounts and percents, the one rounding function, allocation.

Every expected figure is worked out by hand in the comment beside it. The Hypothesis
properties use local strategies and the active settings profile (tests/conftest.py).
"""

from __future__ import annotations

import time
from decimal import Decimal
from fractions import Fraction
from math import floor

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from promorules.money import (
    MINOR_UNITS,
    Money,
    MoneyError,
    Rounding,
    allocate,
    apply_rate,
    apply_rate_each,
    format_amount,
    format_percent,
    minor_units,
    parse_amount,
    parse_percent,
)

# ----------------------------------------------------------------------------- parse_amount


@pytest.mark.parametrize(
    ("value", "currency", "minor"),
    [
        ("299.00", "CNY", 29900),
        ("299", "CNY", 29900),
        ("299.5", "CNY", 29950),
        ("0.01", "CNY", 1),
        (" 12.30 ", "USD", 1230),
        ("+5", "EUR", 500),
        ("1.000", "CNY", 100),  # trailing zeros beyond the minor unit carry no precision
        (299, "CNY", 29900),
        (0, "CNY", 0),
        ("3000", "JPY", 3000),
        ("3000.0", "JPY", 3000),
        (3000, "JPY", 3000),
        ("1.234", "KWD", 1234),
        (2, "KWD", 2000),
        ("-1.50", "CNY", -150),  # the sign is kept; callers refuse negatives where they must
        ("-0", "CNY", 0),
    ],
)
def test_parse_amount_reads_strings_and_integers(value: object, currency: str, minor: int) -> None:
    assert parse_amount(value, currency) == minor


@pytest.mark.parametrize("value", [299.0, 0.1, float("nan"), float("inf")])
def test_parse_amount_refuses_floats(value: float) -> None:
    with pytest.raises(MoneyError, match="not a float"):
        parse_amount(value, "CNY")


@pytest.mark.parametrize("value", [True, False])
def test_parse_amount_refuses_booleans(value: bool) -> None:
    with pytest.raises(MoneyError, match="not a boolean"):
        parse_amount(value, "CNY")


@pytest.mark.parametrize(
    ("value", "currency"),
    [("0.001", "CNY"), ("299.005", "USD"), ("1.5", "JPY"), ("100.01", "JPY"), ("1.2345", "KWD")],
)
def test_parse_amount_refuses_more_decimals_than_the_currency_has(
    value: str, currency: str
) -> None:
    digits = MINOR_UNITS[currency]
    with pytest.raises(MoneyError, match=rf"more precise than {currency} allows \({digits} "):
        parse_amount(value, currency)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "12,50",
        "¥299",
        "299 CNY",
        "1e3",
        "0x10",
        "NaN",
        "Infinity",
        "1_000",
        ".5",
        "5.",
        "--5",
        "\u0663\u0660\u0660",  # Arabic-Indic digits
        "\uff13\uff10\uff10",  # full-width digits
        "1\n2",
    ],
)
def test_parse_amount_refuses_junk(value: str) -> None:
    with pytest.raises(MoneyError, match="not an amount"):
        parse_amount(value, "CNY")


@pytest.mark.parametrize("value", [None, [299], {"amount": 299}, Decimal("2.99"), b"299"])
def test_parse_amount_refuses_other_types(value: object) -> None:
    with pytest.raises(MoneyError, match="must be a string or an integer"):
        parse_amount(value, "CNY")


def test_parse_amount_refuses_an_unknown_currency() -> None:
    with pytest.raises(MoneyError, match="unknown currency 'RMB'"):
        parse_amount("1.00", "RMB")
    with pytest.raises(MoneyError):
        minor_units("cny")


def test_a_10_mb_amount_is_answered_quickly_with_a_bounded_message() -> None:
    huge = "9" * 10_000_000
    start = time.perf_counter()
    for text in (huge, "1." + huge, huge + "%"):
        with pytest.raises(MoneyError) as caught:
            parse_amount(text, "CNY")
        assert len(str(caught.value)) < 120
    with pytest.raises(MoneyError) as caught:
        parse_percent(huge + "%")
    assert len(str(caught.value)) < 120
    assert time.perf_counter() - start < 1.0


# ----------------------------------------------------------------------------- formatting


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (29900, "CNY", "299.00"),
        (5, "CNY", "0.05"),
        (-150, "CNY", "-1.50"),
        (-5, "USD", "-0.05"),
        (0, "CNY", "0.00"),
        (3000, "JPY", "3000"),
        (1234, "KWD", "1.234"),
        (5, "KWD", "0.005"),
    ],
)
def test_format_amount(minor: int, currency: str, text: str) -> None:
    assert format_amount(minor, currency) == text
    assert parse_amount(text, currency) == minor


@given(minor=st.integers(-(10**15), 10**15), currency=st.sampled_from(sorted(MINOR_UNITS)))
@example(minor=-1, currency="CNY")
@example(minor=-999, currency="KWD")
def test_format_then_parse_amount_round_trips(minor: int, currency: str) -> None:
    assert parse_amount(format_amount(minor, currency), currency) == minor


def test_money_value_object() -> None:
    total = Money.parse("299.00", "CNY") + Money.parse(1, "CNY")
    assert total == Money(30000, "CNY")
    assert str(total) == "300.00 CNY"
    with pytest.raises(MoneyError, match="cannot add USD to CNY"):
        _ = total + Money(1, "USD")


# ----------------------------------------------------------------------------- percents


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("5%", Fraction(1, 20)),
        ("12.5%", Fraction(1, 8)),
        ("100%", Fraction(1)),
        ("0%", Fraction(0)),
        (" 3 %", Fraction(3, 100)),
        ("-5%", Fraction(-1, 20)),
        ("0.125%", Fraction(1, 800)),
    ],
)
def test_parse_percent(text: str, rate: Fraction) -> None:
    assert parse_percent(text) == rate


@pytest.mark.parametrize(
    "value", ["5", "0.05", "5 percent", "%", "five%", "1e2%", "\u0665%", 5, 0.05]
)
def test_parse_percent_refuses_what_is_not_a_percent_string(value: object) -> None:
    with pytest.raises(MoneyError):
        parse_percent(value)


@pytest.mark.parametrize(
    ("rate", "text"),
    [(Fraction(1, 8), "12.5%"), (Fraction(1, 20), "5%"), (Fraction(1, 800), "0.125%")],
)
def test_format_percent(rate: Fraction, text: str) -> None:
    assert format_percent(rate) == text


@given(hundredths=st.integers(-(10**9), 10**9), scale=st.integers(0, 6))
def test_format_then_parse_percent_round_trips(hundredths: int, scale: int) -> None:
    # every rate written in a ruleset is a finite decimal percent
    rate = Fraction(hundredths, 100 * 10**scale)
    assert parse_percent(format_percent(rate)) == rate


# ----------------------------------------------------------------------------- apply_rate


@pytest.mark.parametrize(
    ("amount", "num", "den", "down", "half_up", "half_even"),
    [
        (25, 1, 10, 2, 3, 2),  # 2.5: even neighbour is 2
        (35, 1, 10, 3, 4, 4),  # 3.5: even neighbour is 4
        (29900, 1, 8, 3737, 3738, 3738),  # 3737.5
        (29700, 1, 8, 3712, 3713, 3712),  # 3712.5
        (14700, 1, 10, 1470, 1470, 1470),  # exact: 10% of 147.00
        (1, 1, 3, 0, 0, 0),  # 0.33
        (2, 1, 3, 0, 1, 1),  # 0.67
        (0, 7, 9, 0, 0, 0),
        (999, 0, 1, 0, 0, 0),
        (19999, 95, 100, 18999, 18999, 18999),  # 18999.05
        (15, 1, 2, 7, 8, 8),  # 7.5
        (13, 1, 2, 6, 7, 6),  # 6.5
    ],
)
def test_apply_rate_rounds_by_the_mode_given(
    amount: int, num: int, den: int, down: int, half_up: int, half_even: int
) -> None:
    assert apply_rate(amount, num, den, Rounding.DOWN) == down
    assert apply_rate(amount, num, den, Rounding.HALF_UP) == half_up
    assert apply_rate(amount, num, den, Rounding.HALF_EVEN) == half_even


amounts = st.integers(0, 10**12)
rates = st.tuples(st.integers(0, 10**6), st.integers(1, 10**6))


@given(amount=amounts, rate=rates)
@example(amount=25, rate=(1, 10))
@example(amount=35, rate=(1, 10))
def test_apply_rate_matches_exact_fraction_rounding(amount: int, rate: tuple[int, int]) -> None:
    num, den = rate
    exact = Fraction(amount * num, den)
    assert apply_rate(amount, num, den, Rounding.DOWN) == floor(exact)
    assert apply_rate(amount, num, den, Rounding.HALF_UP) == floor(exact + Fraction(1, 2))
    # round() on a Fraction rounds halves to even
    assert apply_rate(amount, num, den, Rounding.HALF_EVEN) == round(exact)


@given(
    values=st.lists(amounts, max_size=12),
    data=st.data(),
    rate=rates,
    mode=st.sampled_from(list(Rounding)),
)
def test_apply_rate_each_is_apply_rate_per_index(
    values: list[int], data: st.DataObject, rate: tuple[int, int], mode: Rounding
) -> None:
    indexes = data.draw(st.lists(st.integers(0, len(values) - 1), max_size=12)) if values else []
    num, den = rate
    expected = [apply_rate(values[i], num, den, mode) for i in indexes]
    assert apply_rate_each(values, indexes, num, den, mode) == expected


@given(amount=amounts, rate=rates, mode=st.sampled_from(list(Rounding)))
def test_apply_rate_is_within_one_unit_and_down_never_gives_more(
    amount: int, rate: tuple[int, int], mode: Rounding
) -> None:
    num, den = rate
    exact = Fraction(amount * num, den)
    result = apply_rate(amount, num, den, mode)
    assert abs(result - exact) < 1
    assert apply_rate(amount, num, den, Rounding.DOWN) <= exact
    assert apply_rate(amount + 1, num, den, mode) >= result  # monotone in the amount


# ----------------------------------------------------------------------------- allocate


@pytest.mark.parametrize(
    ("total", "weights", "parts"),
    [
        # store ladder 60.00 off over 329.00 + 199.00: 3738.64 / 2261.36 -> +1 to the first
        (6000, [32900, 19900], [3739, 2261]),
        # 150.00 over 291.61, 176.39, 132.30, 499.00 (sum 1099.30):
        # 3979.13 / 2406.85 / 1805.24 / 6808.88 -> the two left go to .88 and .85
        (15000, [29161, 17639, 13230, 49900], [3979, 2407, 1805, 6809]),
        # 400 + 100 with 500 off 50: the 100 item carries 10
        (5000, [40000, 10000], [4000, 1000]),
        (10, [1, 1, 1], [4, 3, 3]),  # ties go to the earlier position
        (2, [1, 1, 1], [1, 1, 0]),
        (5, [0, 0], [3, 2]),  # all weights zero: split evenly
        (100, [0, 50, 50], [0, 50, 50]),
        (1, [0, 0, 5], [0, 0, 1]),
        (0, [3, 4], [0, 0]),
        (7, [7], [7]),
        (0, [], []),
    ],
)
def test_allocate_by_largest_remainder(total: int, weights: list[int], parts: list[int]) -> None:
    assert allocate(total, weights) == parts


def test_allocate_refuses_a_non_zero_total_over_nothing() -> None:
    with pytest.raises(ValueError, match="over nothing"):
        allocate(1, [])


weight_lists = st.lists(st.integers(0, 10**9), min_size=1, max_size=30)


@given(weights=weight_lists, data=st.data())
@example(weights=[1, 1, 1], data=None)
def test_allocate_sums_exactly_and_stays_proportional(
    weights: list[int], data: st.DataObject | None
) -> None:
    total = data.draw(st.integers(0, 10**12)) if data is not None else 10
    parts = allocate(total, weights)
    assert sum(parts) == total
    assert len(parts) == len(weights)
    weight_sum = sum(weights) or len(weights)
    shares = weights if sum(weights) else [1] * len(weights)
    for part, weight in zip(parts, shares, strict=True):
        exact = Fraction(total * weight, weight_sum)
        assert floor(exact) <= part <= floor(exact) + 1


@given(weights=weight_lists, data=st.data())
def test_allocate_never_gives_a_part_more_than_its_weight(
    weights: list[int], data: st.DataObject
) -> None:
    total = data.draw(st.integers(0, sum(weights)))
    parts = allocate(total, weights)
    assert all(0 <= part <= weight for part, weight in zip(parts, weights, strict=True))


@given(weights=st.lists(st.integers(1, 1000), min_size=2, max_size=10), total=st.integers(0, 10**6))
def test_allocate_gives_equal_weights_parts_differing_by_at_most_one(
    weights: list[int], total: int
) -> None:
    parts = allocate(total, weights)
    for i, a in enumerate(weights):
        for j, b in enumerate(weights):
            if a == b and i < j:
                # the earlier of two equal weights never gets less than the later
                assert parts[i] - parts[j] in (0, 1)
