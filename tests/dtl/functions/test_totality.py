"""Totality: every function, given any DTL values, returns a storable value or raises DtlError.

A foreign exception (``TypeError``, ``KeyError`` ...) escaping a function would be a bug: the
evaluator could not say where the problem is. The result must also be encodable as Sesam JSON.
"""

from __future__ import annotations

from typing import Any

import pytest
from dtl_fn_support import const, make_env, values
from hypothesis import given, settings
from hypothesis import strategies as st
from test_registry_functions import MODULES

from engine.dtl.registry import FunctionSpec
from engine.entity import encode
from engine.errors import DtlError

SPECS = [spec for module in MODULES for spec in module.FUNCTIONS.specs]
arguments = values | st.sampled_from(
    ["murmur3", "day", "%Y-%m-%d", "UTC", "e164", "NO", "2015-07-28", "+4722222222", 2, -1, 0]
)


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
@settings(max_examples=25)
@given(data=st.data())
def test_functions_are_total(spec: FunctionSpec, data: st.DataObject) -> None:
    high = spec.min_args + 2 if spec.max_args is None else spec.max_args
    count = data.draw(st.integers(spec.min_args, high), label="count")
    args: list[Any] = [data.draw(arguments, label=f"arg{i}") for i in range(count)]
    try:
        call_args = (make_env(), *(const(a) for a in args)) if spec.lazy else tuple(args)
        result = spec.impl(*call_args)
    except DtlError:
        return
    encode(result)
