"""DTL list functions: construction, access, slicing, flattening, the function-expression
family (``filter``, ``map``, ``map-values``, ``map-dict``, ``distinct``, ``sorted``,
``group-by``), ``range``, ``enumerate`` and ``tuples``.

Function-expression arguments are evaluated per element with ``_`` bound to it
(``arg(env.bind(element))``), so every function taking one is lazy. Order is always the input
order (``distinct`` keeps first occurrences; ``sorted`` is stable) and never depends on hashing.
``filter`` here is the two-argument *expression*; the one-argument transform of the same name
belongs to the core.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from engine.dtl.functions.encoding import to_json_text
from engine.dtl.registry import SpecCollector
from engine.dtl.values import as_list, first_value, order_key, sort_values, unique
from engine.errors import DtlEvalError

if TYPE_CHECKING:
    from engine.dtl.env import Env
    from engine.dtl.registry import Evaluator

FUNCTIONS = SpecCollector()


def _int_arg(value: Any, name: str, what: str) -> int:
    v = first_value(value)
    if not isinstance(v, int) or isinstance(v, bool):
        raise DtlEvalError(f"{name}: {what} must be an integer, got {v!r}")
    return v


@FUNCTIONS.expression("list", min_args=0, max_args=None)
def list_(*values: Any) -> list[Any]:
    """A list of the argument values, as they are (``["list", "a", ["list", "b"]]`` nests)."""
    return list(values)


@FUNCTIONS.expression("first", min_args=1, max_args=1)
def first(values: Any) -> Any:
    """The first element of a list (null if empty); a non-list value is returned as is."""
    return first_value(values)


@FUNCTIONS.expression("last", min_args=1, max_args=1)
def last(values: Any) -> Any:
    """The last element of a list (null if empty); a non-list value is returned as is."""
    if isinstance(values, list):
        return values[-1] if values else None
    return values


@FUNCTIONS.expression("nth", min_args=2, max_args=2)
def nth(index: Any, values: Any) -> Any:
    """The element at a zero-based index.

    ``nth(INDEX, VALUES)``: the zero-based INDEXth element, or null when out of range. A
    non-list value is returned for INDEX 0 only. A negative INDEX counts from the end."""
    i = _int_arg(index, "nth", "INDEX")
    if not isinstance(values, list):
        return values if i == 0 else None
    return values[i] if -len(values) <= i < len(values) else None


@FUNCTIONS.expression("slice", min_args=2, max_args=4)
def slice_(*args: Any) -> Any:
    """A Python-style slice of a list.

    ``slice(START, [END], [STRIDE], VALUES)``: Python-style slice (negative indexes count from
    the end): ``["slice", 2, -2, 2, ["list", 0, 1, 2, 3, 4, 5, 6]]`` → ``[2, 4]``."""
    start = _int_arg(args[0], "slice", "START")
    end = (
        None if len(args) < 3 or first_value(args[1]) is None else _int_arg(args[1], "slice", "END")
    )
    stride = _int_arg(args[2], "slice", "STRIDE") if len(args) == 4 else 1
    if stride == 0:
        raise DtlEvalError("slice: STRIDE cannot be 0")
    if args[-1] is None:
        return None
    return as_list(args[-1])[start:end:stride]


@FUNCTIONS.expression("insert", min_args=3, max_args=3)
def insert(index: Any, values: Any, obj: Any) -> list[Any]:
    """A copy of a list with a value inserted at an index.

    ``insert(INDEX, VALUES, OBJECT)``: a copy of VALUES (coerced to a list) with OBJECT
    inserted at INDEX; negative INDEX counts from the end (``-2`` on ``[1, 2, 3]`` → before 2)."""
    out = list(as_list(values))
    i = _int_arg(index, "insert", "INDEX")
    # list.insert clamps like this anyway, but overflows on indexes beyond a machine word
    out.insert(max(-len(out) - 1, min(i, len(out))), obj)
    return out


@FUNCTIONS.expression("combine", min_args=1, max_args=None)
def combine(*values: Any) -> list[Any]:
    """Concatenate the arguments, coerced to lists, into one list.

    Concatenate the arguments coerced to lists (one level): ``["combine", 1, ["list", 2, 3]]``
    → ``[1, 2, 3]``; null contributes nothing."""
    return [v for arg in values for v in as_list(arg)]


@FUNCTIONS.expression("flatten", min_args=1, max_args=1)
def flatten(values: Any) -> list[Any]:
    """Flatten one level: ``[1, [2, [3]]]`` → ``[1, 2, [3]]``; null gives ``[]``."""
    out: list[Any] = []
    for v in as_list(values):
        if isinstance(v, list):
            out.extend(v)
        else:
            out.append(v)
    return out


@FUNCTIONS.expression("filter", min_args=2, max_args=2, lazy=True)
def filter_(env: Env, function: Evaluator, values: Evaluator) -> list[Any]:
    """The values for which a function-expression is truthy.

    ``filter(FUNCTION, VALUES)``: the values for which FUNCTION (``_`` bound to the value) is
    truthy: ``["filter", ["gt", "_.age", 42], ...]``."""
    elements = as_list(values(env))
    if not elements:
        return []
    bound = env.bind(None)  # one Env for every element: nothing keeps it past the call
    out = []
    for v in elements:
        bound.current = v
        kept = function(bound)
        if kept is None or kept is False or (isinstance(kept, list) and not kept):
            continue  # not truthy (values.truthy, inlined: this runs per element)
        out.append(v)
    return out


@FUNCTIONS.expression("map", min_args=2, max_args=2, lazy=True)
def map_(env: Env, function: Evaluator, values: Evaluator) -> Any:
    """A function-expression applied to every value.

    ``map(FUNCTION, VALUES)``: FUNCTION of every value, ``_`` bound to it; a list gives a list
    (results are not flattened), a single value a single result, null gives null."""
    value = values(env)
    if value is None:
        return None
    if isinstance(value, list):
        return [function(env.bind(v)) for v in value]
    return function(env.bind(value))


@FUNCTIONS.expression("map-values", min_args=2, max_args=2, lazy=True)
def map_values(env: Env, function: Evaluator, values: Evaluator) -> list[Any]:
    """A function-expression applied to every value of dicts.

    ``map-values(FUNCTION, DICTS)``: FUNCTION of every value of every dict, as one flat
    list; non-dicts are ignored."""
    return [
        function(env.bind(v))
        for d in as_list(values(env))
        if isinstance(d, dict)
        for v in d.values()
    ]


@FUNCTIONS.expression("map-dict", min_args=3, max_args=3, lazy=True)
def map_dict(
    env: Env, key_function: Evaluator, value_function: Evaluator, values: Evaluator
) -> Any:
    """Dicts with keys and values rewritten by two function-expressions.

    ``map-dict(KEY_FUNCTION, VALUE_FUNCTION, DICTS)``: a new dict per dict, with ``_`` bound
    to each key for KEY_FUNCTION and to each value for VALUE_FUNCTION. Pairs whose new key is
    not a string are dropped, and so are dicts that end up empty."""

    def remap(d: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in d.items():
            new_key = key_function(env.bind(k))
            if isinstance(new_key, str):
                out[new_key] = value_function(env.bind(v))
        return out

    value = values(env)
    if isinstance(value, dict):
        return remap(value) or None
    if isinstance(value, list):
        return [m for d in value if isinstance(d, dict) and (m := remap(d))]
    return None


@FUNCTIONS.expression("distinct", min_args=1, max_args=2, lazy=True)
def distinct(env: Env, *args: Evaluator) -> list[Any]:
    """The values without duplicates, first occurrences kept.

    ``distinct([FUNCTION], VALUES)``: VALUES without duplicates, first occurrences kept;
    with FUNCTION the duplicates are judged by FUNCTION's result but the values are returned."""
    *function, values = args
    elements = as_list(values(env))
    if function:
        return unique(elements, key=lambda v: function[0](env.bind(v)))
    return unique(elements)


def _sorted(env: Env, args: tuple[Evaluator, ...], descending: bool) -> Any:
    *function, values = args
    value = values(env)
    if not isinstance(value, list):
        return value
    if function:
        return sort_values(value, lambda v: function[0](env.bind(v)), descending=descending)
    return sort_values(value, descending=descending)


@FUNCTIONS.expression("sorted", min_args=1, max_args=2, lazy=True)
def sorted_(env: Env, *args: Evaluator) -> Any:
    """The values sorted ascending in the mixed-type order.

    ``sorted([FUNCTION], VALUES)``: a stable ascending sort in the mixed-type order (null <
    booleans < numbers < datetimes < UUIDs < NIs < URIs < strings < dicts < lists < bytes), by
    FUNCTION's result when given. A non-list is returned as is; duplicates are kept."""
    return _sorted(env, args, descending=False)


@FUNCTIONS.expression("sorted-descending", min_args=1, max_args=2, lazy=True)
def sorted_descending(env: Env, *args: Evaluator) -> Any:
    """The values sorted descending in the mixed-type order.

    ``sorted-descending([FUNCTION], VALUES)``: like ``sorted`` but descending (equal keys keep
    their input order)."""
    return _sorted(env, args, descending=True)


@FUNCTIONS.expression("reversed", min_args=1, max_args=1)
def reversed_(values: Any) -> Any:
    """VALUES in reverse order; a non-list is returned as is."""
    return values[::-1] if isinstance(values, list) else values


@FUNCTIONS.expression("range", min_args=2, max_args=3)
def range_(start: Any, stop: Any, *step: Any) -> list[int]:
    """A list of integers from START up to (not including) STOP.

    ``range(START, STOP, [STEP])``: integers from START (inclusive) to STOP (exclusive):
    ``["range", 4, 0, -1]`` → ``[4, 3, 2, 1]``. STEP cannot be 0."""
    a = _int_arg(start, "range", "START")
    b = _int_arg(stop, "range", "STOP")
    s = _int_arg(step[0], "range", "STEP") if step else 1
    if s == 0:
        raise DtlEvalError("range: STEP cannot be 0")
    if abs((b - a) // s) > 10_000_000:
        raise DtlEvalError(f"range: too many elements ({a}..{b} step {s})")
    return list(range(a, b, s))


@FUNCTIONS.expression("enumerate", min_args=1, max_args=2)
def enumerate_(*args: Any) -> Any:
    """The values numbered as ``{"key": i, "value": v}`` dicts.

    ``enumerate([START], VALUES)``: ``{"key": i, "value": v}`` per value, counting from START
    (default 0). A single value gives a single dict; null gives null."""
    start = _int_arg(args[0], "enumerate", "START") if len(args) == 2 else 0
    values = args[-1]
    if values is None:
        return None
    if not isinstance(values, list):
        return {"key": start, "value": values}
    return [{"key": start + i, "value": v} for i, v in enumerate(values)]


@FUNCTIONS.expression("group-by", min_args=1, max_args=3, lazy=True)
def group_by(env: Env, *args: Evaluator) -> dict[str, list[Any]]:
    """The values grouped into a dict by a key function.

    ``group-by([KEY_FUNCTION], [STRING_FUNCTION], VALUES)``: a dict of key → values with that
    key, in first-seen order. Keys are transit JSON text (``"3"``, ``"\\"A\\""``) unless
    STRING_FUNCTION (``_`` bound to the group key) makes the key string."""
    *functions, values = args
    groups: dict[str, list[Any]] = {}
    for v in as_list(values(env)):
        key = functions[0](env.bind(v)) if functions else v
        text: Any = functions[1](env.bind(key)) if len(functions) == 2 else None
        if not isinstance(text, str):
            text = to_json_text(key, transit=True)
        groups.setdefault(text, []).append(v)
    return groups


@FUNCTIONS.expression("group", min_args=3, max_args=3, lazy=True)
def group(env: Env, key_function: Evaluator, value_function: Evaluator, values: Evaluator) -> Any:
    """The values grouped into ``[key, [values]]`` pairs.

    ``group(KEY_FUNCTION, VALUE_FUNCTION, VALUES)``: ``[key, [values]]`` pairs, one per
    distinct KEY_FUNCTION result (DTL equality, first-seen order), collecting VALUE_FUNCTION of
    each element (``_`` bound to it). Wrap in ``dict`` to get a dict of string keys."""
    keys: list[Any] = []
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for element in as_list(values(env)):
        bound = env.bind(element)
        key = key_function(bound)
        identity = order_key(key)
        if identity not in groups:
            keys.append(key)
            groups[identity] = []
        groups[identity].append(value_function(bound))
    return [[key, groups[order_key(key)]] for key in keys]


@FUNCTIONS.expression("tuples", min_args=0, max_args=None)
def tuples(*values: Any) -> list[list[Any]]:
    """The cartesian product of the arguments.

    The cartesian product of the arguments (coerced to lists, nulls ignored), as lists:
    ``["tuples", ["list", 1, 2], 3]`` → ``[[1, 3], [2, 3]]``. Good for composite join keys."""
    if not values:
        return []
    lists = [[v for v in as_list(arg) if v is not None] for arg in values]
    return [list(t) for t in itertools.product(*lists)]
