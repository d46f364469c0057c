"""The built-in DTL functions, assembled once into the immutable registry :data:`BUILTINS`.

Assembly is explicit: each module declares ``FUNCTIONS = SpecCollector()`` and is listed here.
A ``(kind, name)`` declared twice fails at import. To add functions, build a new registry with
``BUILTINS.extended(spec, ...)``; ``BUILTINS`` itself is never mutated.
"""

from __future__ import annotations

from engine.dtl.functions import (
    compare,
    datetimes,
    dicts,
    encoding,
    lists,
    ni,
    nulls,
    numbers,
    phone,
    sets,
    special,
    strings,
    transforms,
    types,
)
from engine.dtl.registry import FunctionRegistry

__all__ = ["BUILTINS"]

BUILTINS = FunctionRegistry.of(
    transforms.FUNCTIONS,
    special.FUNCTIONS,
    compare.FUNCTIONS,
    datetimes.FUNCTIONS,
    dicts.FUNCTIONS,
    encoding.FUNCTIONS,
    lists.FUNCTIONS,
    ni.FUNCTIONS,
    nulls.FUNCTIONS,
    numbers.FUNCTIONS,
    phone.FUNCTIONS,
    sets.FUNCTIONS,
    strings.FUNCTIONS,
    types.FUNCTIONS,
)
