"""Decimal, money and date handling of the Wave sandbox (the no-op detection relies on it)."""

from __future__ import annotations

import doctest
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.sandbox import wave_values
from engine.sandbox.wave_values import (
    format_decimal,
    money,
    parse_date,
    parse_datetime,
    parse_decimal,
)


def test_doctests() -> None:
    result = doctest.testmod(wave_values)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize(("value", "expected"), [
    ("12.50", "12.50"), ("12.5", "12.50"), (12.5, "12.50"), (3, "3.00"), ("0.125", "0.125"),
    ("-0", "0.00"), ("1E+2", "100.00"),
])
def test_prices_have_at_least_two_decimals(value: object, expected: str) -> None:
    assert format_decimal(parse_decimal(value), 2) == expected


@pytest.mark.parametrize("value", [True, None, "abc", "NaN", "Infinity", [1], {"v": 1}])
def test_non_decimals_are_rejected(value: object) -> None:
    with pytest.raises(ValueError, match="decimal"):
        parse_decimal(value)


@given(st.decimals(allow_nan=False, allow_infinity=False, places=4,
                   min_value=-10**9, max_value=10**9))
def test_format_round_trips(value: Decimal) -> None:
    text = format_decimal(value)
    assert Decimal(text) == value
    assert format_decimal(parse_decimal(text)) == text  # canonical: formatting is idempotent


def test_money_uses_the_currency_exponent() -> None:
    assert money(Decimal("10.005"), "NOK")["value"] == "10.01"  # half-up, like a cash register
    assert money(Decimal("10.005"), "NOK")["raw"] == 1001
    assert money(Decimal("1500"), "JPY") == {
        "value": "1500", "raw": 1500,
        "currency": {"code": "JPY", "symbol": "¥", "name": "Japanese yen",
                     "plural": "Japanese yen", "exponent": 0}}


def test_dates_and_datetimes() -> None:
    assert parse_date("2024-02-29").isoformat() == "2024-02-29"
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        parse_date("29.02.2024")
    assert parse_datetime("2024-01-01T10:00:00Z") == datetime(2024, 1, 1, 10, tzinfo=UTC)
    assert parse_datetime("2024-01-01T12:00:00+02:00") == datetime(2024, 1, 1, 10, tzinfo=UTC)
    assert parse_datetime("2024-01-01T10:00:00") == datetime(2024, 1, 1, 10, tzinfo=UTC)
    with pytest.raises(ValueError, match="ISO-8601"):
        parse_datetime(1704103200)
