"""DTL comparisons and quantifiers: ``eq``, ``gt`` ..., ``in``, ``is-empty``, ``all``, ``any``.

Two families with different list rules (sesam-hub.md §5.3):

* ``eq``/``neq`` coerce both sides to lists and compare them exactly, so ``["eq", 1, ["list", 1]]``
  is true and ``null`` equals ``[]``. (In a hops ``where`` the same ``eq`` is a join; the hops
  compiler handles that, not this module.)
* ``gt``/``gte``/``lt``/``lte`` look at the *first* value of each side only, return ``null`` when
  either side is null, and order mixed types with the total order of :mod:`engine.dtl.values`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from engine.dtl.registry import SpecCollector
from engine.dtl.values import as_list, contains, dtl_eq, first_value, order_key, truthy

if TYPE_CHECKING:
    from engine.dtl.env import Env
    from engine.dtl.registry import Evaluator

FUNCTIONS = SpecCollector()


@FUNCTIONS.expression("eq", min_args=2, max_args=2)
def eq(left: Any, right: Any) -> bool:
    """True if both values, coerced to lists, are exactly equal (``["eq", 1, ["list", 1]]``).

    Booleans never equal numbers; ``1`` equals ``1.0``; typed values only equal their own type.
    """
    return dtl_eq(left, right)


@FUNCTIONS.expression("neq", min_args=2, max_args=2)
def neq(left: Any, right: Any) -> bool:
    """The negation of ``eq``."""
    return not dtl_eq(left, right)


def _compare(
    left: Any, right: Any, test: Callable[[tuple[Any, ...], tuple[Any, ...]], bool]
) -> Any:
    a, b = first_value(left), first_value(right)
    if a is None or b is None:
        return None
    return test(order_key(a), order_key(b))


@FUNCTIONS.expression("gt", min_args=2, max_args=2)
def gt(left: Any, right: Any) -> Any:
    """Whether the first value of LEFT is greater than that of RIGHT.

    True if the first value of LEFT is greater than the first value of RIGHT; null if either
    is null. Mixed types use the DTL total order (numbers < strings < dicts ...)."""
    return _compare(left, right, lambda a, b: a > b)


@FUNCTIONS.expression("gte", min_args=2, max_args=2)
def gte(left: Any, right: Any) -> Any:
    """Like ``gt``, but greater than or equal."""
    return _compare(left, right, lambda a, b: a >= b)


@FUNCTIONS.expression("lt", min_args=2, max_args=2)
def lt(left: Any, right: Any) -> Any:
    """Like ``gt``, but less than."""
    return _compare(left, right, lambda a, b: a < b)


@FUNCTIONS.expression("lte", min_args=2, max_args=2)
def lte(left: Any, right: Any) -> Any:
    """Like ``gt``, but less than or equal."""
    return _compare(left, right, lambda a, b: a <= b)


@FUNCTIONS.expression("is-empty", min_args=1, max_args=1)
def is_empty(value: Any) -> bool:
    """True if VALUES coerced to a list has no elements (``null`` and ``[]`` are empty)."""
    return not as_list(value)


@FUNCTIONS.expression("is-not-empty", min_args=1, max_args=1)
def is_not_empty(value: Any) -> bool:
    """True if VALUES coerced to a list has at least one element."""
    return bool(as_list(value))


_SCAN_LIMIT = 64
"""Below this many comparisons ``in`` scans instead of hashing order keys (measured: building
the key set cost more than the comparisons for the short lists share pipes test against)."""


@FUNCTIONS.expression("in", min_args=2, max_args=2)
def in_(values: Any, items: Any) -> bool:
    """True if every value of VALUES (coerced to a list) is in ITEMS: a subset test.

    Null or empty VALUES give false; ``["in", ["list", null], ["list", 1, null, 2]]`` is true.
    """
    wanted = as_list(values)
    if not wanted:
        return False
    candidates = as_list(items)
    if len(wanted) == 1:
        if len(candidates) <= _SCAN_LIMIT:
            return contains(candidates, wanted[0])
    elif len(candidates) * len(wanted) <= _SCAN_LIMIT:
        return all(contains(candidates, v) for v in wanted)
    have = {order_key(v) for v in candidates}
    return all(order_key(v) in have for v in wanted)


def _quantify(env: Env, args: tuple[Evaluator, ...], combine: Callable[[Any], bool]) -> bool:
    *function, values = args
    elements = as_list(values(env))
    if function:
        f = function[0]
        bound = env.bind(None)  # one Env for every element: nothing keeps it past the call
        return combine(truthy(f(bound.rebind(v))) for v in elements)
    return combine(truthy(v) for v in elements)


@FUNCTIONS.expression("all", min_args=1, max_args=2, lazy=True)
def all_(env: Env, *args: Evaluator) -> bool:
    """Whether every value (or FUNCTION of it) is truthy.

    ``all([FUNCTION], VALUES)``: true if every value (or FUNCTION of it, ``_`` bound to the
    value) is truthy. An empty list gives true, as in Python's ``all``."""
    return _quantify(env, args, all)


@FUNCTIONS.expression("any", min_args=1, max_args=2, lazy=True)
def any_(env: Env, *args: Evaluator) -> bool:
    """``any([FUNCTION], VALUES)``: true if at least one value (or FUNCTION of it) is truthy."""
    return _quantify(env, args, any)
