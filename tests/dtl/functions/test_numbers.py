"""Unit tests and invariants of the number functions (rounding, arithmetic types, hex)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import pytest
from dtl_fn_support import const, current, make_env
from hypothesis import given
from hypothesis import strategies as st

from engine.dtl.functions import numbers, types
from engine.errors import DtlEvalError


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((6, 3), 2),
        ((1, 2), 0.5),
        ((7, 0), None),
        ((Decimal("1"), 4), Decimal("0.25")),
        ((Decimal("0.1"), 0.2), Decimal("0.5")),
        ((True, 1), None),
    ],
)
def test_division_types(args: tuple[Any, Any], expected: Any) -> None:
    result = numbers.arithmetic("/", *args)
    assert result == expected and type(result) is type(expected)


def test_huge_integer_power_is_an_error_not_a_hang() -> None:
    with pytest.raises(DtlEvalError, match="exponent"):
        numbers.arithmetic("^", 10, 10**9)


@given(st.integers(min_value=-(10**6), max_value=10**6), st.integers(min_value=0, max_value=3))
def test_round_is_half_to_even_on_the_decimal_text(n: int, digits: int) -> None:
    value = n / 8  # exact binary fractions: many ties (x.5, x.25 ...)
    expected = Decimal(repr(value)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_EVEN)
    if digits == 0:
        assert numbers.round_(value) == int(expected)
        assert type(numbers.round_(value)) is int
    else:
        result = numbers.round_(digits, value)
        assert isinstance(result, Decimal) and result == expected
        assert result.as_tuple().exponent == -digits  # exactly DIGITS places, like "2.30"


@given(st.floats(min_value=-1e9, max_value=1e9))
def test_floor_and_ceil_bracket_the_value(x: float) -> None:
    low, high = numbers.floor(x), numbers.ceil(x)
    assert low <= x <= high and high - low in (0, 1)


@given(st.integers(min_value=-(2**70), max_value=2**70))
def test_hex_and_integer_are_inverse(n: int) -> None:
    text = numbers.hex_(n)
    assert text.startswith("0x") and len(text) % 2 == 0
    assert types.to_integer(text) == n


def test_min_and_max_with_a_function_return_the_value() -> None:
    env = make_env()
    orders = [{"a": 3}, {"a": 1}, {"a": 2}, {"b": 0}]
    by_a = current(lambda v: v.get("a"))
    assert numbers.min_(env, by_a, const(orders)) == {"a": 1}
    assert numbers.max_(env, by_a, const(orders)) == {"a": 3}
    assert numbers.max_(env, const([])) is None


def test_sum_and_count() -> None:
    assert numbers.sum_([1, "2", None, True, 2.5]) == 3.5
    assert numbers.sum_([]) == 0
    assert numbers.count(None) == 0 and numbers.count("x") == 1 and numbers.count([[1], 2]) == 2


def test_map_style_operand_comes_first() -> None:
    assert numbers.minus(10, 12) == 2
    assert numbers.sub_(10, 12) == -2
    assert numbers.divide([2, 8], 3) == 1.5
    assert numbers.plus(None, [1]) is None
