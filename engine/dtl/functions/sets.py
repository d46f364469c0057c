"""DTL set functions over lists: ``union``, ``intersection``, ``difference``, ``intersects``.

Both arguments are coerced to lists (null → ``[]``, a value → ``[value]``) and compared with DTL
equality (``1`` equals ``1.0``, ``true`` never equals ``1``). Results keep first-seen order.
``union`` is distinct; ``intersection`` and ``difference`` keep the duplicates of their first
argument (sesam-hub.md §10.6, the newest sets page).
"""

from __future__ import annotations

from typing import Any

from engine.dtl.registry import SpecCollector
from engine.dtl.values import as_list, order_key, unique

FUNCTIONS = SpecCollector()


@FUNCTIONS.expression("union", min_args=2, max_args=2)
def union(left: Any, right: Any) -> list[Any]:
    """The distinct values of both arguments.

    The distinct values of both arguments, in first-seen order:
    ``["union", "A", ["list", "B", "C"]]`` → ``["A", "B", "C"]``."""
    return unique([*as_list(left), *as_list(right)])


@FUNCTIONS.expression("intersection", min_args=2, max_args=2)
def intersection(left: Any, right: Any) -> list[Any]:
    """The values of the first argument that are also in the second (first argument's order)."""
    other = {order_key(v) for v in as_list(right)}
    return [v for v in as_list(left) if order_key(v) in other]


@FUNCTIONS.expression("difference", min_args=2, max_args=2)
def difference(left: Any, right: Any) -> list[Any]:
    """The values of the first argument that are not in the second.

    The values of the first argument that are not in the second:
    ``["difference", ["list", "A", "B", "C", "D"], ["list", "A", "B", "E"]]`` → ``["C", "D"]``."""
    other = {order_key(v) for v in as_list(right)}
    return [v for v in as_list(left) if order_key(v) not in other]


@FUNCTIONS.expression("intersects", min_args=2, max_args=2)
def intersects(left: Any, right: Any) -> bool:
    """Whether the two arguments have a value in common.

    True if the two arguments have at least one value in common (the join test of ``eq`` in
    hops, usable anywhere)."""
    other = {order_key(v) for v in as_list(right)}
    return any(order_key(v) in other for v in as_list(left))
