"""Unit tests of the string functions and their mapping rule."""

from __future__ import annotations

from typing import Any

import pytest
from dtl_fn_support import values
from hypothesis import given
from hypothesis import strategies as st

from engine.dtl.functions import strings
from engine.entity import URI
from engine.errors import DtlEvalError


@given(st.lists(st.text(max_size=5) | st.integers(), max_size=6))
def test_case_functions_map_strings_and_drop_the_rest(items: list[Any]) -> None:
    texts = [v for v in items if isinstance(v, str)]
    assert strings.upper(items) == [t.upper() for t in texts]
    assert strings.length(items) == [len(t) for t in texts]


@given(values)
def test_string_casts_every_non_null_value(value: Any) -> None:
    result = strings.string(value)
    if value is None:
        assert result is None
    elif isinstance(value, list):
        assert all(isinstance(s, str) for s in result)
    elif not isinstance(value, bytes):
        assert isinstance(result, str)


@given(st.text(max_size=10), st.text("ab", min_size=1, max_size=2))
def test_split_then_join_roundtrips(text: str, separator: str) -> None:
    assert strings.join(separator, strings.split(separator, text)) == text


@given(st.text(max_size=12))
def test_url_quote_roundtrips(text: str) -> None:
    assert strings.url_unquote(strings.url_quote(text)) == text


def test_wildcards_match_the_whole_text_only() -> None:
    assert strings.matches("a*p*a", ["alpha", "alpaca"])
    assert not strings.matches("a*", ["alpha", 1])
    assert not strings.matches("*", [])
    assert strings.matches("a.b?", "a.bc")


def test_uri_and_string_of_a_uri() -> None:
    assert strings.uri(["http://x/", 1]) == [URI("http://x/")]
    assert strings.string(URI("http://x/")) == "http://x/"


def test_bad_constant_arguments_are_errors() -> None:
    with pytest.raises(DtlEvalError, match="SEPARATOR"):
        strings.join(1, ["a"])
    with pytest.raises(DtlEvalError, match="dict"):
        strings.replace("a", "abc")
    assert strings.rjust(5, "00", "1") is None
