"""Unit tests and invariants of the date/time functions."""

from __future__ import annotations

import datetime as dt

from dtl_fn_support import FIXED_NOW, make_env
from hypothesis import given
from hypothesis import strategies as st

from engine.dtl.functions import datetimes

utc_datetimes = st.datetimes(
    min_value=dt.datetime(1000, 1, 1), max_value=dt.datetime(9000, 1, 1), timezones=st.just(dt.UTC)
)


def test_now_reads_the_context_clock() -> None:
    assert datetimes.now(make_env()) == FIXED_NOW


@given(utc_datetimes)
def test_format_then_parse_roundtrips(value: dt.datetime) -> None:
    fmt = "%Y-%m-%d %H:%M:%S.%f %z"
    text = datetimes.datetime_format("Europe/Oslo", fmt, value)
    assert datetimes.datetime_parse(fmt, text) == value


@given(utc_datetimes, st.sampled_from(["day", "hour", "week", "second"]), st.integers(-999, 999))
def test_diff_undoes_plus_for_fixed_units(value: dt.datetime, part: str, n: int) -> None:
    later = datetimes.datetime_plus(part, n, value)
    if later is not None:
        assert datetimes.datetime_diff(part, later, value) == n


@given(utc_datetimes, st.integers(-60, 60))
def test_months_between_undoes_add_months_from_early_days(value: dt.datetime, n: int) -> None:
    start = value.replace(day=min(value.day, 28))
    assert datetimes.months_between(datetimes.add_months(start, n), start) == n


def test_shift_reinterprets_wall_clock_time() -> None:
    summer = dt.datetime(2015, 7, 28, 9, 46, tzinfo=dt.UTC)
    assert datetimes.datetime_shift("Europe/Oslo", "UTC", summer) == summer.replace(hour=7)


formats = st.builds(
    lambda tokens, separator: separator.join(tokens),
    st.lists(st.sampled_from(["%Y", "%m", "%d", "%H", "%M", "%S", "%f"]), min_size=1, unique=True),
    st.sampled_from(["-", " ", "T", ":", ".", "/"]),
)


@given(utc_datetimes, formats)
def test_parse_agrees_with_strptime(value: dt.datetime, fmt: str) -> None:
    text = value.strftime(fmt) if value.year >= 1000 else None
    if text is None:
        return
    try:
        expected: dt.datetime | None = dt.datetime.strptime(text, fmt).replace(tzinfo=dt.UTC)
    except ValueError:
        expected = None
    assert datetimes.parse_with(fmt, text, dt.UTC) == expected
