"""Cron parsing and next fire times (five fields, Sesam's ``0/5`` and ``?`` spellings)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.cron import parse_cron
from engine.errors import ConfigError

UTC = dt.UTC


def at(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, sec: int = 0
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, sec, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "after", "expected"),
    [
        ("* * * * *", at(2024, 1, 1, 10, 0, 30), at(2024, 1, 1, 10, 1)),
        ("* * * * *", at(2024, 1, 1, 10, 0), at(2024, 1, 1, 10, 1)),  # strictly after
        ("*/15 * * * *", at(2024, 1, 1, 10, 16), at(2024, 1, 1, 10, 30)),
        ("0/5 14,18 * * ?", at(2024, 1, 1, 15, 3), at(2024, 1, 1, 18, 0)),
        ("0/5 14,18 * * ?", at(2024, 1, 1, 18, 56), at(2024, 1, 2, 14, 0)),
        ("30 9 * * MON-FRI", at(2024, 1, 6, 10, 0), at(2024, 1, 8, 9, 30)),  # Sat → Mon
        ("0 0 * * 7", at(2024, 1, 1), at(2024, 1, 7)),  # 7 is Sunday
        ("0 0 1 jan *", at(2024, 6, 1), at(2025, 1, 1)),
        ("0 0 29 2 *", at(2097, 3, 1), at(2104, 2, 29)),  # 2100 is no leap year
        ("15 3 1-7 * 1", at(2024, 1, 2, 4), at(2024, 1, 3, 3, 15)),  # day-of-month OR weekday
        ("0 12 * 1-3/2 *", at(2024, 1, 31, 12), at(2024, 3, 1, 12)),
        ("5-10/2 * * * *", at(2024, 1, 1, 0, 6), at(2024, 1, 1, 0, 7)),
    ],
)
def test_next_fire(text: str, after: dt.datetime, expected: dt.datetime) -> None:
    assert parse_cron(text).next_fire(after) == expected


def test_naive_datetimes_are_utc_and_micros_round_trip() -> None:
    cron = parse_cron("0 * * * *")
    assert cron.next_fire(dt.datetime(2024, 1, 1, 10, 30)) == at(2024, 1, 1, 11)
    micros = int(at(2024, 1, 1, 10, 30).timestamp() * 1_000_000)
    assert cron.next_fire_micros(micros) == int(at(2024, 1, 1, 11).timestamp() * 1_000_000)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("* * * *", "has 4 fields; expected 5"),
        ("* * * * * *", "has 6 fields"),
        ("60 * * * *", "minute field '60': 60 is outside 0-59"),
        ("* 24 * * *", "hour field"),
        ("* * 0 * *", "day of month field"),
        ("* * * 13 *", "month field"),
        ("* * * * 8", "day of week field"),
        ("*/0 * * * *", "positive step"),
        ("5-1 * * * *", "runs backwards"),
        ("a * * * *", "expected a number"),
        ("1,,2 * * * *", "empty list item"),
        ("0 0 31 2 *", "never fires"),
    ],
)
def test_bad_expressions_say_which_field(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        parse_cron(text)
    assert repr(text) in str(caught.value)


def _field(low: int, high: int) -> st.SearchStrategy[str]:
    number = st.integers(low, high)
    single = number.map(str)
    span = st.tuples(number, number).map(lambda t: f"{min(t)}-{max(t)}")
    stepped = st.tuples(st.sampled_from(["*", str(low)]), st.integers(1, 10)).map(
        lambda t: f"{t[0]}/{t[1]}"
    )
    item = st.one_of(single, span, stepped)
    return st.one_of(st.just("*"), st.lists(item, min_size=1, max_size=3).map(",".join))


expressions = st.tuples(
    _field(0, 59), _field(0, 23), _field(1, 28), _field(1, 12), _field(0, 7)
).map(" ".join)
instants = st.datetimes(
    min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2090, 1, 1), timezones=st.just(UTC)
)


@settings(max_examples=50, deadline=None)
@given(expressions, instants)
def test_next_fire_is_after_now_matches_and_nothing_matches_in_between(
    text: str, now: dt.datetime
) -> None:
    cron = parse_cron(text)
    fire = cron.next_fire(now)
    assert fire > now
    assert (fire.second, fire.microsecond) == (0, 0)
    assert cron.matches(fire)
    # No earlier minute matches (checked by brute force when the gap is small enough).
    first = now.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    if fire - first <= dt.timedelta(days=3):
        t = first
        while t < fire:
            assert not cron.matches(t), (text, now, t)
            t += dt.timedelta(minutes=1)


@settings(max_examples=50, deadline=None)
@given(expressions, instants)
def test_fields_match_the_declared_sets(text: str, now: dt.datetime) -> None:
    cron = parse_cron(text)
    fire = cron.next_fire(now)
    assert fire.minute in cron.minutes and fire.hour in cron.hours and fire.month in cron.months
    assert fire.day in cron.days or (fire.isoweekday() % 7) in cron.weekdays
