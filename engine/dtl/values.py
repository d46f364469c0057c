"""Value semantics shared by every DTL function: truthiness, list coercion, equality, ordering.

These rules are DTL's, not Python's:

* only ``false``, ``null`` and ``[]`` are false (``0`` and ``""`` are true);
* booleans never equal numbers (``true`` is not ``1``), while ``1``, ``1.0`` and ``~f1`` are
  the same number;
* typed values compare by type first: the NI ``~:a:b`` never equals the string ``"a:b"``;
* mixed types order as null < boolean < number < datetime < UUID < NI < URI < string < dict <
  list < bytes (sesam-hub.md §10.7); dicts compare by their sorted key/value pairs, strings by
  code point.

Equality is *defined* through :func:`order_key` (two values are equal iff their keys are), so
``sorted``, ``distinct``, ``union`` and ``eq`` can never disagree. The key is hashable and serves
as the identity of a value in sets and dicts.

The module also holds the mapping rule every function shares (:func:`map_each`: single value →
single value, list → element-wise list, wrong-typed elements dropped, null → null) and number
helpers, so the rules live in one place.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from engine.entity import NI, URI, json_type
from engine.errors import DtlEvalError, EntityError

__all__ = [
    "DROP",
    "Number",
    "as_list",
    "contains",
    "dtl_eq",
    "first_value",
    "is_number",
    "map_each",
    "number_text",
    "order_key",
    "parse_decimal",
    "sort_values",
    "to_aware",
    "truthy",
    "type_name",
    "unique",
    "values_equal",
]

Number = int | float | Decimal


class _Drop:
    """The marker a converter returns for an element that must be left out of the result."""

    def __repr__(self) -> str:
        return "DROP"


DROP: Final = _Drop()
"""Returned by per-element converters to drop the element (see :func:`map_each`)."""

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)


def truthy(value: Any) -> bool:
    """DTL truthiness: only ``false``, ``null`` and ``[]`` are false (``0`` and ``""`` are true)."""
    return not (value is None or value is False or (isinstance(value, list) and not value))


def as_list(value: Any) -> list[Any]:
    """Coerce to a list: ``null`` -> ``[]``, a list -> itself, anything else -> ``[value]``."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def first_value(value: Any) -> Any:
    """The value itself, or the first element of a list (``null`` for ``[]``).

    Used by the "first value" functions (``gt``, ``+`` ...) and the ``is-*`` predicates.
    """
    if isinstance(value, list):
        return value[0] if value else None
    return value


def is_number(value: Any) -> bool:
    """True for int, float and decimal values; never for booleans (``True`` is not ``1``)."""
    t = type(value)
    if t is int or t is float or t is Decimal:  # exact types first: one check, no bool test
        return True
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def to_aware(value: _dt.datetime | _dt.date) -> _dt.datetime:
    """A UTC datetime for a datetime or a date (dates are midnight UTC)."""
    if isinstance(value, _dt.datetime):
        return value.replace(tzinfo=_dt.UTC) if value.tzinfo is None else value
    return _dt.datetime(value.year, value.month, value.day, tzinfo=_dt.UTC)


_SCALAR_TAGS: Final[dict[type, int]] = {str: 7, int: 2, float: 2, Decimal: 2}
"""Exact types whose key is ``(tag, value)``: the hot cases of :func:`order_key`, found by one
dict lookup instead of walking the ``isinstance`` chain (subclasses take the chain)."""


def order_key(value: Any) -> tuple[Any, ...]:
    """The mixed-type total-order key of a value (sesam-hub.md §10.7); also its identity.

    Two values are DTL-equal exactly when their keys are equal; the key is hashable.

    >>> order_key(None) < order_key(False) < order_key(0) < order_key("a") < order_key({})
    True
    >>> order_key(1) == order_key(1.0), order_key(True) == order_key(1)
    (True, False)
    """
    tag = _SCALAR_TAGS.get(type(value))
    if tag is not None:
        return (tag, value)
    if value is None:
        return (0,)
    if value is True or value is False:
        return (1, value)
    if isinstance(value, int | float | Decimal):
        return (2, value)
    if isinstance(value, str):
        return (7, value)
    if isinstance(value, dict):
        return (8, tuple(sorted((k, order_key(v)) for k, v in value.items())))
    if isinstance(value, list | tuple):
        return (9, tuple(order_key(v) for v in value))
    if isinstance(value, _dt.datetime):
        return (3, to_aware(value), 1)
    if isinstance(value, _dt.date):
        # A date sorts at its midnight but is a different value from that datetime.
        return (3, to_aware(value), 0)
    if isinstance(value, uuid.UUID):
        return (4, str(value))
    if isinstance(value, NI):
        return (5, value.namespace, value.identifier)
    if isinstance(value, URI):
        return (6, value.value)
    if isinstance(value, bytes | bytearray):
        return (10, bytes(value))
    raise DtlEvalError(f"not a DTL value: {type(value).__name__} {value!r}")


_CATEGORY: Final[dict[type, int]] = {
    type(None): 0,
    bool: 1,
    int: 2,
    float: 2,
    Decimal: 2,
    str: 7,
    NI: 5,
    URI: 6,
    list: 9,
    tuple: 9,
}
"""The :func:`order_key` tag of the exact types :func:`values_equal` decides without a key.

Values of two different categories are never equal; within a category the fast path compares
like the key would (``is`` then ``==``, as tuple equality does). Other types (dicts, dates,
UUIDs, bytes, subclasses) fall back to comparing keys."""


def values_equal(left: Any, right: Any) -> bool:
    """Exact DTL equality of two values (no list coercion; see :func:`dtl_eq` for that).

    Decided directly by type and value where that is cheap (strings, numbers, NIs, lists ...),
    because ``eq``/``in``/``filter`` run it per element and building two order keys per call
    dominated share pipes; the result is by construction ``order_key(left) == order_key(right)``
    (a property test holds the two together). One knowing difference: a non-DTL value (which
    entities cannot hold) inside a list after the first unequal element is not reported.

    >>> values_equal(1, 1.0), values_equal(True, 1), values_equal([1, "a"], [1, "a"])
    (True, False, True)
    """
    cl = _CATEGORY.get(type(left))
    cr = _CATEGORY.get(type(right))
    if cl is None or cr is None:
        return order_key(left) == order_key(right)
    if cl != cr:
        return False
    if cl == 9:
        return _lists_equal(left, right)
    if cl == 5:
        return left.namespace == right.namespace and left.identifier == right.identifier
    if cl == 6:
        return bool(left.value == right.value)
    # None, booleans, numbers, strings: what tuple equality of the keys does per element.
    return left is right or bool(left == right)


def _lists_equal(left: Any, right: Any) -> bool:
    if len(left) != len(right):
        return False
    return all(map(values_equal, left, right))


def dtl_eq(left: Any, right: Any) -> bool:
    """``eq`` semantics: both sides coerced to lists, then compared exactly, in order.

    >>> dtl_eq(1, [1]), dtl_eq(None, []), dtl_eq([1, 2], [2, 1])
    (True, True, False)
    """
    kind = type(left)
    if kind is type(right) and (kind is str or kind is int):  # ["eq", "_.x", "name"]
        return bool(left == right)
    return _lists_equal(as_list(left), as_list(right))


def contains(items: list[Any], value: Any) -> bool:
    """Whether ``value`` is DTL-equal to an element of ``items`` (a linear scan).

    For the short lists of ``in`` (``["in", "_.ns", ["list", "a", "b"]]``) a scan is cheaper
    than the set of order keys it replaces. Strings and NIs use the list's own ``in``: their
    ``==`` is DTL equality (a string equals only a string, an NI only an NI), and ``in`` never
    reports a match that is not ``==`` or identity.
    """
    if type(value) in _NATIVE_EQ:
        return value in items
    return any(values_equal(value, item) for item in items)


_NATIVE_EQ: Final = frozenset({str, NI})


def unique(values: Iterable[Any], key: Callable[[Any], Any] | None = None) -> list[Any]:
    """Distinct values in first-seen order; ``key`` (default: the value) decides identity."""
    seen: set[tuple[Any, ...]] = set()
    out: list[Any] = []
    for value in values:
        k = order_key(value if key is None else key(value))
        if k not in seen:
            seen.add(k)
            out.append(value)
    return out


def sort_values(
    values: list[Any], key: Callable[[Any], Any] | None = None, *, descending: bool = False
) -> list[Any]:
    """A stable sort by the mixed-type order (of ``key(value)`` when given)."""
    if key is None:
        return sorted(values, key=order_key, reverse=descending)
    keys = [order_key(key(v)) for v in values]
    order = sorted(range(len(values)), key=keys.__getitem__, reverse=descending)
    return [values[i] for i in order]


def map_each(value: Any, convert: Callable[[Any], Any]) -> Any:
    """The DTL mapping rule: null → null; list → element-wise list; one value → one value.

    ``convert`` returns :data:`DROP` for elements of the wrong type; they are left out of a list
    result, and a single dropped value gives ``null``.

    >>> map_each([1, "a", 2], lambda v: v * 10 if isinstance(v, int) else DROP)
    [10, 20]
    """
    if value is None:
        return None
    if isinstance(value, list):
        out = []
        for element in value:
            result = convert(element)
            if result is not DROP:
                out.append(result)
        return out
    result = convert(value)
    return None if result is DROP else result


def number_text(value: Number) -> str:
    """The text of a number as ``string`` writes it: ``1``, ``124.4``, ``1.50`` (decimals as is)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return repr(value)
    return str(value)


def parse_decimal(text: str) -> Decimal | None:
    """A finite decimal from text, or ``None``."""
    if "_" in text:  # Python accepts "1_000"; DTL does not
        return None
    try:
        d = Decimal(text.strip())
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def type_name(value: Any) -> str:
    """The entity-model type name of a value, for error messages."""
    try:
        return json_type(value)
    except EntityError:
        return type(value).__name__
