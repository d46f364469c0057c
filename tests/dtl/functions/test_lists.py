"""Unit tests and invariants of the list and set functions."""

from __future__ import annotations

from collections import Counter
from typing import Any

from dtl_fn_support import const, current, make_env, scalars, values
from hypothesis import given
from hypothesis import strategies as st

from engine.dtl.functions import dicts, lists, sets
from engine.dtl.values import order_key


@given(st.lists(values, max_size=10))
def test_sorted_is_an_ordered_permutation(items: list[Any]) -> None:
    env = make_env()
    out = lists.sorted_(env, const(items))
    assert Counter(map(order_key, out)) == Counter(map(order_key, items))
    keys = [order_key(v) for v in out]
    assert keys == sorted(keys)
    assert [order_key(v) for v in lists.sorted_descending(env, const(items))] == keys[::-1] or (
        len(set(keys)) != len(keys)
    )


@given(st.lists(scalars, max_size=8), st.lists(scalars, max_size=8))
def test_union_is_distinct_and_covers_both(a: list[Any], b: list[Any]) -> None:
    out = sets.union(a, b)
    keys = [order_key(v) for v in out]
    assert len(keys) == len(set(keys))
    assert set(keys) == {order_key(v) for v in a + b}


@given(st.lists(scalars, max_size=8), st.lists(scalars, max_size=8))
def test_intersection_and_difference_partition_the_first_argument(
    a: list[Any], b: list[Any]
) -> None:
    inter, diff = sets.intersection(a, b), sets.difference(a, b)
    assert len(inter) + len(diff) == len(a)
    assert sets.intersects(a, b) == bool(inter)


@given(st.lists(scalars, max_size=8))
def test_distinct_matches_union_with_nothing(items: list[Any]) -> None:
    env = make_env()
    assert lists.distinct(env, const(items)) == sets.union(items, None)


@given(st.lists(st.integers(), max_size=6), st.lists(st.integers(), max_size=6))
def test_tuples_is_the_cartesian_product(a: list[int], b: list[int]) -> None:
    assert lists.tuples(a, b) == [[x, y] for x in a for y in b]


def test_function_expressions_see_each_element() -> None:
    env = make_env()
    people = [{"g": "m", "n": 1}, {"g": "f", "n": 2}, {"g": "m", "n": 3}]
    assert lists.group_by(env, current(lambda p: p["g"]), const(people)) == {
        '"m"': [people[0], people[2]],
        '"f"': [people[1]],
    }
    assert lists.filter_(env, current(lambda p: p["n"] > 1), const(people)) == people[1:]
    assert lists.map_(env, current(lambda p: p["n"]), const(people)) == [1, 2, 3]
    assert lists.map_(env, current(), const(None)) is None


def test_map_dict_and_items_roundtrip() -> None:
    env = make_env()
    d = {"a": 1, "b": 2}
    assert lists.map_dict(env, current(str.upper), current(), const(d)) == {"A": 1, "B": 2}
    assert dicts.dict_(dicts.items(d)) == d
    assert dicts.key_values(d) == [{"key": "a", "value": 1}, {"key": "b", "value": 2}]


def test_slice_insert_range() -> None:
    assert lists.slice_(2, -2, 2, [0, 1, 2, 3, 4, 5, 6]) == [2, 4]
    assert lists.insert(-2, [1, 2, 3], 4) == [1, 4, 2, 3]
    assert lists.range_(4, 0, -1) == [4, 3, 2, 1]
