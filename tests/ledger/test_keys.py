"""The text form of counter keys: one per key, read back exactly, safe on a terminal."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from promorules.counters import ANY_SUBJECT, CounterKey, CounterKind, Subject

ids = st.text(max_size=12)
subjects: st.SearchStrategy[Subject] = st.one_of(
    ids,
    st.tuples(ids, ids),
    st.tuples(ids, ids, ids),
    st.just(ANY_SUBJECT),
)
keys = st.builds(CounterKey, st.sampled_from(CounterKind), ids.filter(bool), subjects)


@given(keys)
@example(CounterKey(CounterKind.BUDGET, "d11:flash"))
@example(CounterKey(CounterKind.FLASH_CUSTOMER_UNITS, "f", ("a/b", "c")))
@example(CounterKey(CounterKind.COUPON_CUSTOMER_USES, "c", "*"))
@example(CounterKey(CounterKind.GIFT_STOCK, "g", "\x1b[2J\u202e\x00%41"))
def test_the_text_reads_back_as_the_same_key(key: CounterKey) -> None:
    text = str(key)
    assert CounterKey.parse(text) == key
    assert text.isprintable()  # no escape sequence, bidi control or NUL reaches a screen


@given(keys, keys)
def test_two_keys_never_share_a_text(a: CounterKey, b: CounterKey) -> None:
    assert (str(a) == str(b)) == (a == b)


def test_the_cases_that_collided() -> None:
    pair = CounterKind.FLASH_CUSTOMER_UNITS
    assert str(CounterKey(pair, "f", ("a/b", "c"))) != str(CounterKey(pair, "f", ("a", "b/c")))
    assert str(CounterKey(pair, "f", "*")) == "flash_customer_units:f:%2A"
    assert str(CounterKey(pair, "f", ANY_SUBJECT)) == "flash_customer_units:f:*"
    assert str(CounterKey(CounterKind.BUDGET, "d11:flash")) == "budget:d11%3Aflash:"


def test_a_promotion_wide_key_reads_without_its_trailing_colon() -> None:
    assert CounterKey.parse("budget:c10") == CounterKey(CounterKind.BUDGET, "c10")
    assert CounterKey.parse("budget:c10:") == CounterKey(CounterKind.BUDGET, "c10")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("budget", "expected KIND:PROMOTION"),
        ("budget:a:b:c", "expected KIND:PROMOTION"),
        ("coupons:c10:", "unknown counter kind"),
        ("budget:50%:", "two hex digits"),
        ("budget:%FF:", "bad escape"),
    ],
)
def test_malformed_text_is_refused(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        CounterKey.parse(text)
