"""Unit tests and invariants of JSON text, bytes, hashing and string casts."""

from __future__ import annotations

import json
from typing import Any

from dtl_fn_support import const, json_values, make_env, values
from hypothesis import given
from hypothesis import strategies as st

from engine.dtl.functions import encoding, strings
from engine.dtl.values import values_equal


def test_hash128_reproduces_the_documented_values() -> None:
    assert encoding.hash128("murmur3", "abc") == 79267961763742113019008347020647561319
    assert encoding.hash128("murmur3", ["abc", 123, "def"]) == [
        79267961763742113019008347020647561319,
        114697464648834432121201791580882983835,
    ]


def test_json_text_style_matches_python_defaults() -> None:
    value = {"b": [1, 2.5, None, True], "a": "å"}
    assert encoding.json_(value) == json.dumps(value, sort_keys=True)


@given(json_values)
def test_json_then_json_parse_roundtrips_plain_json(value: Any) -> None:
    env = make_env()
    text = encoding.to_json_text(value, transit=False)
    assert values_equal(encoding.json_parse(env, const(text)), value)
    assert json.loads(text) == value


@given(values)
def test_json_transit_roundtrips_every_value(value: Any) -> None:
    env = make_env()
    text = encoding.to_json_text(value, transit=True)
    assert values_equal(encoding.json_transit_parse(env, const(text)), value)


@given(st.integers() | st.floats(allow_nan=False, allow_infinity=False))
def test_string_of_a_number_parses_back(n: int | float) -> None:
    text = strings.string(n)
    assert isinstance(text, str)
    assert (int(text) if isinstance(n, int) else float(text)) == n


@given(st.binary(max_size=20))
def test_base64_roundtrip(data: bytes) -> None:
    assert encoding.base64_decode(encoding.base64_encode(data)) == data
