"""Differential tests: the fast equality/membership paths agree with the order-key definitions.

``values_equal``, ``dtl_eq``, ``contains``/``in`` and ``ni-ns``/``ni-id`` decide common cases
by type and value directly (docs/decisions/dtl-speed.md). Their specification is still the
order key (``order_key(a) == order_key(b)``) and the mapping rule, so each test compares the
fast function with that reference on generated values, including values built to be *equal
across types* (``1``/``1.0``/``Decimal("1.00")``, lists/tuples) and near misses
(``True``/``1``, NIs/strings), which random pairs would almost never produce.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from dtl_fn_support import scalars, values
from hypothesis import given
from hypothesis import strategies as st

from engine.dtl.functions.compare import in_
from engine.dtl.functions.ni import _parts, ni_id, ni_ns
from engine.dtl.values import DROP, as_list, contains, dtl_eq, map_each, order_key, values_equal
from engine.entity import NI


def twin(value: Any) -> Any:
    """A value that is DTL-equal to ``value`` but built from other Python types/objects."""
    if value is True or value is False or value is None:
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if value == int(value) else value
    if isinstance(value, Decimal):
        return value + Decimal("0.000")
    if isinstance(value, str):
        return "".join(list(value))  # equal, usually not the same object
    if isinstance(value, NI):
        return NI(value.namespace, value.identifier)
    if isinstance(value, list):
        return tuple(twin(v) for v in value)
    if isinstance(value, tuple):
        return [twin(v) for v in value]
    if isinstance(value, dict):
        return {k: twin(v) for k, v in reversed(value.items())}
    return value


def near_miss(value: Any) -> Any:
    """A value that looks like ``value`` but is of another DTL type (never equal to it)."""
    if value is True or value is False:
        return int(value)
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, str):
        return NI.parse(value) if value else None
    if isinstance(value, NI):
        return value.text
    if isinstance(value, list):
        return [near_miss(v) for v in value] if value else None
    return [value]


def same_key(a: Any, b: Any) -> bool:
    return order_key(a) == order_key(b)


pairs = st.one_of(
    st.tuples(values, values),
    values.map(lambda v: (v, twin(v))),
    values.map(lambda v: (v, near_miss(v))),
    values.map(lambda v: (twin(v), v)),
)


@given(pairs)
def test_values_equal_is_order_key_equality(pair: tuple[Any, Any]) -> None:
    a, b = pair
    assert values_equal(a, b) == same_key(a, b)
    assert values_equal(b, a) == same_key(a, b)


@given(pairs)
def test_eq_is_order_key_equality_of_the_coerced_lists(pair: tuple[Any, Any]) -> None:
    a, b = pair
    expected = same_key(as_list(a), as_list(b))
    assert dtl_eq(a, b) == expected
    assert dtl_eq([a], b) == same_key([a], as_list(b))
    assert dtl_eq(b, a) == expected


def test_twins_and_near_misses_hit_both_outcomes() -> None:
    """Guards the generators above: they must produce equal and unequal pairs."""
    assert values_equal(1, twin(1)) and values_equal([1, "a"], twin([1, "a"]))
    assert not values_equal(True, near_miss(True)) and not values_equal("a:b", near_miss("a:b"))
    assert values_equal(float("nan"), float("nan")) == same_key(float("nan"), float("nan"))


def reference_in(wanted: Any, items: Any) -> bool:
    """``in`` as it was specified: a subset test over order keys."""
    want = as_list(wanted)
    if not want:
        return False
    have = {order_key(v) for v in as_list(items)}
    return all(order_key(v) in have for v in want)


@given(
    st.lists(scalars | values, max_size=6).flatmap(
        lambda pool: st.tuples(
            st.just(pool),
            st.lists(st.sampled_from(pool) if pool else values, max_size=3) | values,
        )
    ),
    st.integers(0, 80),
)
def test_in_agrees_with_the_order_key_subset_test(case: tuple[Any, Any], padding: int) -> None:
    items, wanted = case
    wanted_twins = twin(wanted) if isinstance(wanted, list) else wanted
    long_items = [*items, *range(1000, 1000 + padding)]  # crosses the scan/set threshold
    for candidates in (items, long_items):
        assert in_(wanted, candidates) == reference_in(wanted, candidates)
        assert in_(wanted_twins, candidates) == reference_in(wanted_twins, candidates)


@given(st.lists(values, max_size=6), values)
def test_contains_is_membership_by_order_key(items: list[Any], value: Any) -> None:
    for probe in (value, twin(value), near_miss(value)):
        assert contains(items, probe) == (order_key(probe) in {order_key(v) for v in items})


ni_values = st.one_of(
    st.builds(NI, st.sampled_from(["", "a", "crm:x"]), st.text("xyz0", min_size=1, max_size=3)),
    st.text("ab:", max_size=5),
    values,
)


@given(st.one_of(ni_values, st.lists(ni_values, max_size=4)))
def test_ni_parts_fast_path_follows_the_mapping_rule(value: Any) -> None:
    def ns(v: Any) -> Any:
        return DROP if (p := _parts(v)) is None else p.namespace

    def ident(v: Any) -> Any:
        return DROP if (p := _parts(v)) is None else p.identifier

    assert ni_ns(value) == map_each(value, ns)
    assert ni_id(value) == map_each(value, ident)
