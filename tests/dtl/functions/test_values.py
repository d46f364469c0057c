"""Invariants of the shared value semantics: equality, the total order, the mapping rule."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from dtl_fn_support import scalars, values
from hypothesis import given
from hypothesis import strategies as st

from engine.dtl.values import (
    DROP,
    as_list,
    dtl_eq,
    first_value,
    map_each,
    order_key,
    sort_values,
    truthy,
    unique,
    values_equal,
)
from engine.entity import NI, URI


def test_truthiness_only_false_null_and_empty_list_are_false() -> None:
    falsy: list[Any] = [False, None, []]
    truthy_values: list[Any] = [0, "", {}, [None], 0.0, "false"]
    assert [truthy(v) for v in falsy] == [False, False, False]
    assert all(truthy(v) for v in truthy_values)


def test_as_list_and_first_value() -> None:
    assert as_list(None) == [] and as_list(3) == [3] and as_list([1]) == [1]
    assert first_value([]) is None and first_value([4, 5]) == 4 and first_value("x") == "x"


def test_booleans_never_equal_numbers() -> None:
    assert not values_equal(True, 1)
    assert not values_equal(False, 0)
    assert not values_equal([True], [1])
    assert values_equal(1, 1.0) and values_equal(2, Decimal("2.00"))


def test_typed_values_are_not_their_text() -> None:
    assert not values_equal(NI("a", "b"), "a:b")
    assert not values_equal(URI("http://x/"), "http://x/")
    assert not values_equal(dt.date(2015, 1, 1), dt.datetime(2015, 1, 1, tzinfo=dt.UTC))


def test_eq_coerces_to_lists() -> None:
    assert dtl_eq(1, [1]) and dtl_eq(None, []) and not dtl_eq([1, 2], [2, 1])


def test_documented_mixed_type_order() -> None:
    ordered = [
        None,
        False,
        True,
        -1,
        2.5,
        dt.datetime(2015, 1, 1, tzinfo=dt.UTC),
        NI("a", "b"),
        URI("a:b"),
        "A",
        "a",
        {"x": 1},
        {"x": "abc"},
        [1],
        b"\x00",
    ]
    assert sorted(reversed(ordered), key=order_key) == ordered


@given(values, values)
def test_order_key_is_consistent_with_equality_and_hash(a: Any, b: Any) -> None:
    ka, kb = order_key(a), order_key(b)
    assert (ka == kb) == values_equal(a, b)
    if ka == kb:
        assert hash(ka) == hash(kb)
    assert (ka < kb) + (ka == kb) + (ka > kb) == 1  # exactly one holds: a total order


@given(values, values, values)
def test_order_key_is_transitive(a: Any, b: Any, c: Any) -> None:
    x, y, z = sorted([a, b, c], key=order_key)
    assert order_key(x) <= order_key(y) <= order_key(z)
    assert order_key(x) <= order_key(z)


@given(values)
def test_every_value_equals_itself(a: Any) -> None:
    assert values_equal(a, a) and dtl_eq(a, a)


@given(st.lists(scalars, max_size=12))
def test_unique_keeps_first_occurrences_and_removes_all_duplicates(items: list[Any]) -> None:
    out = unique(items)
    keys = [order_key(v) for v in out]
    assert len(keys) == len(set(keys))
    assert {order_key(v) for v in items} == set(keys)
    firsts = [v for i, v in enumerate(items) if order_key(v) not in map(order_key, items[:i])]
    assert [order_key(v) for v in firsts] == keys


@given(st.lists(values, max_size=10))
def test_sort_is_an_ordered_stable_permutation(items: list[Any]) -> None:
    indexed = list(enumerate(items))
    out = sort_values(indexed, key=lambda pair: pair[1])
    assert sorted(i for i, _ in out) == list(range(len(items)))
    for (i, a), (j, b) in itertools.pairwise(out):
        assert order_key(a) <= order_key(b)
        if order_key(a) == order_key(b):
            assert i < j
    descending = sort_values(items, descending=True)
    keys = [order_key(v) for v in descending]
    assert keys == sorted(keys, reverse=True)


def test_map_each_rule() -> None:
    def double(v: Any) -> Any:
        return v * 2 if isinstance(v, int) else DROP

    assert map_each(None, double) is None
    assert map_each(3, double) == 6
    assert map_each("x", double) is None
    assert map_each([1, "x", None, 2], double) == [2, 4]
