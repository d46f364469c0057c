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
