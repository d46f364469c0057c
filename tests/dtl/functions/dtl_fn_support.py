"""Helpers for the DTL function unit tests: a tiny Env, argument thunks, value strategies."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from engine.dtl.env import Env, RunContext
from engine.entity import NI, URI

FIXED_NOW = dt.datetime(2024, 5, 17, 12, 30, tzinfo=dt.UTC)


def make_env() -> Env:
    """An Env with an empty source and a fixed clock."""
    return Env(S={"_id": "1"}, T={}, ctx=RunContext(now=lambda: FIXED_NOW))


def const(value: Any) -> Callable[[Env], Any]:
    """An evaluator that ignores the env and returns ``value`` (an evaluated argument)."""
    return lambda env: value


def current(fn: Callable[[Any], Any] = lambda v: v) -> Callable[[Env], Any]:
    """A function-expression evaluator: ``fn`` of the bound ``_``."""
    return lambda env: fn(env.current)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.decimals(allow_nan=False, allow_infinity=False, places=3),
    st.text(max_size=8),
    st.datetimes(
        min_value=dt.datetime(1900, 1, 1),
        max_value=dt.datetime(2100, 1, 1),
        timezones=st.just(dt.UTC),
    ),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 1, 1)),
    st.uuids(),
    st.builds(NI, st.sampled_from(["", "a", "crm"]), st.text("xyz0", min_size=1, max_size=3)),
    st.builds(URI, st.text("abc:/", max_size=6)),
    st.binary(max_size=4),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text("abc", max_size=2), inner, max_size=3)
    ),
    max_leaves=8,
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**12), max_value=10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=8,
)
__all__ = [
    "FIXED_NOW",
    "Decimal",
    "const",
    "current",
    "json_values",
    "make_env",
    "scalars",
    "values",
]
