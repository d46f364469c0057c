"""DTL null functions: ``is-null``, ``is-not-null``, ``if-null``, ``coalesce``.

The trap here is that ``is-null`` looks only at the *first* element of a list: ``[null, 123]``
is null, and so is ``[]`` (sesam-hub.md §5.3). ``coalesce-args`` is a special form and lives
with the core.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.dtl.registry import SpecCollector
from engine.dtl.values import as_list, truthy

if TYPE_CHECKING:
    from engine.dtl.env import Env
    from engine.dtl.registry import Evaluator

FUNCTIONS = SpecCollector()


def null_like(value: Any) -> bool:
    """``is-null``: null, ``[]``, or a list whose first element is null."""
    if isinstance(value, list):
        return not value or value[0] is None
    return value is None


@FUNCTIONS.expression("is-null", min_args=1, max_args=1)
def is_null(value: Any) -> bool:
    """True for null, ``[]``, or a list whose *first* element is null (``[null, 123]``)."""
    return null_like(value)


@FUNCTIONS.expression("is-not-null", min_args=1, max_args=1)
def is_not_null(value: Any) -> bool:
    """The negation of ``is-null``."""
    return not null_like(value)


@FUNCTIONS.expression("if-null", min_args=2, max_args=2, lazy=True)
def if_null(env: Env, value: Evaluator, fallback: Evaluator) -> Any:
    """``if-null(VALUE, FALLBACK)``: VALUE unless ``is-null`` holds for it, else FALLBACK.

    FALLBACK is only evaluated when it is needed.
    """
    result = value(env)
    return fallback(env) if null_like(result) else result


@FUNCTIONS.expression("coalesce", min_args=1, max_args=2, lazy=True)
def coalesce(env: Env, *args: Evaluator) -> Any:
    """The first non-null value (or the first for which FUNCTION is truthy).

    ``coalesce([FUNCTION], VALUES)``: the first non-null value of VALUES, or with FUNCTION the
    first value for which FUNCTION (``_`` bound to it) is truthy; null if there is none."""
    *function, values = args
    for element in as_list(values(env)):
        if function:
            if truthy(function[0](env.bind(element))):
                return element
        elif element is not None:
            return element
    return None
