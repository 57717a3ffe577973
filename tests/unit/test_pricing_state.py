"""PricingState's own arithmetic: the epoch seconds it computes in integers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import example, given
from hypothesis import strategies as st

from promorules.cart import Customer
from promorules.kind import PricingState

ZONES = st.one_of(
    st.timezones(),
    st.builds(
        timezone,
        st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23)),
    ),
)


@given(st.datetimes(timezones=st.one_of(st.none(), ZONES), allow_imaginary=True))
@example(datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=timezone.utc))
@example(datetime(2242, 3, 16, 12, 56, 31, 999999, tzinfo=timezone.utc))
@example(datetime(2026, 11, 11, 0, 0, 0, 999999, tzinfo=timezone(timedelta(hours=8))))
@example(datetime(2026, 11, 11, tzinfo=timezone(timedelta(hours=5, microseconds=1))))
def test_the_seconds_are_those_of_timestamp(at: datetime) -> None:
    state = PricingState((), Customer("c"), at)
    assert state.ts == int(at.timestamp())
