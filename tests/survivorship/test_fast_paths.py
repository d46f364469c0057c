"""The shortcuts survivorship takes per candidate agree with the plain definitions they replace.

``EmptyValues`` answers "is this canonical JSON text one of the configured empty values?"
without building the text where it can, and ``copy_value`` replaces ``copy.deepcopy`` for
claimed values; both run for every property of every member, so they are tested against the
slow definitions on generated values and configurations.
"""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from engine import entity
from engine.entity import NI, canonical_json, copy_value
from engine.survivorship import DEFAULT_EMPTY_VALUES, EmptyValues

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=3),
    st.sampled_from([0.0, 1.0, -1.5]),
    st.sampled_from(["", " ", "~", "~x", "a", "null", "[]", "0"]),
    st.sampled_from([Decimal("0"), Decimal("1.50"), dt.date(2020, 1, 2), NI("crm", "7")]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["a", "b"]), inner, max_size=2)
    ),
    max_leaves=5,
)
configs = st.one_of(
    st.just(DEFAULT_EMPTY_VALUES),
    st.frozensets(values.map(canonical_json), max_size=4),
)


@given(configs, values)
def test_empty_values_agree_with_canonical_membership(texts: frozenset[str], value: Any) -> None:
    assert EmptyValues(texts)(value) is (canonical_json(value) in texts)


def test_empty_values_keep_types_apart() -> None:
    empty = EmptyValues(frozenset({canonical_json(0), canonical_json("")}))
    assert empty(0) and empty("")
    assert not empty(False) and not empty(0.0) and not empty(None) and not empty("0")
    assert not EmptyValues(DEFAULT_EMPTY_VALUES)([None])
    assert EmptyValues(frozenset({canonical_json([None])}))([None])


@given(values)
def test_copy_value_is_an_independent_equal_copy(value: Any) -> None:
    copied = copy_value(value)
    assert canonical_json(copied) == canonical_json(copy.deepcopy(value))
    if isinstance(value, dict | list):
        assert copied is not value
        # mutating the copy's containers leaves the original as it was
        before = canonical_json(value)
        if isinstance(copied, dict):
            copied["mutated"] = 1
        else:
            copied.append(1)
        assert canonical_json(value) == before


# --- the entity model's inlined leaves (engine.entity.encode / decode, issue 8) ----------------


def _plain_encode(value: Any) -> Any:
    """``encode`` as it was written before its leaves were inlined: one call per value."""
    if type(value) is dict:
        return {k: _plain_encode(v) for k, v in value.items()}
    if type(value) in (list, tuple):
        return [_plain_encode(v) for v in value]
    if type(value) is NI:
        return str(value)
    if type(value) is str:
        return "~" + value if value.startswith("~") else value
    return entity.encode(value)


def _plain_decode(value: Any) -> Any:
    """``decode`` without inlined leaves and without the remembered transit strings."""
    if type(value) is dict:
        return {k: _plain_decode(v) for k, v in value.items()}
    if type(value) is list:
        return [_plain_decode(v) for v in value]
    if type(value) is str and value[:1] == "~":
        return entity._decode_transit(value)
    return value


transit = st.sampled_from(
    ["~f1.0", "~f1.00", "~fx", "~t2024-01-02", "~t2024-01-02T03:04:05Z", "~tsoon", "~:crm:7",
     "~:7", "~~f1", "~rhttp://x", "~u00000000-0000-0000-0000-000000000001", "~bYQ==", "~q", "~"]
)  # fmt: skip
wire = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.sampled_from([0.5, "a", "", "b~"]), transit
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["a", "b"]), inner, max_size=2)
    ),
    max_leaves=8,
)


@given(values)
def test_encode_agrees_with_the_plain_recursion(value: Any) -> None:
    assert entity.encode(value) == _plain_encode(value)
    assert canonical_json(value) == canonical_json(copy.deepcopy(value))


@given(wire)
def test_decode_agrees_with_the_plain_recursion(value: Any) -> None:
    decoded = entity.decode(value)
    assert canonical_json(decoded) == canonical_json(_plain_decode(value))
    assert repr(decoded) == repr(_plain_decode(value))  # same types and exponents, not just ==


def test_remembered_transit_strings_keep_their_text() -> None:
    assert str(entity.decode("~f1.0")) == "1.0" and str(entity.decode("~f1.00")) == "1.00"
    assert entity.decode(["~f1.00", "~f1.0"]) == [Decimal("1.00"), Decimal("1.0")]
    assert entity.encode(entity.decode({"a": ["~f1.00", "~~x", "~:crm:7"]})) == {
        "a": ["~f1.00", "~~x", "~:crm:7"]
    }
