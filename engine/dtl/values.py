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
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def to_aware(value: _dt.datetime | _dt.date) -> _dt.datetime:
    """A UTC datetime for a datetime or a date (dates are midnight UTC)."""
    if isinstance(value, _dt.datetime):
        return value.replace(tzinfo=_dt.UTC) if value.tzinfo is None else value
    return _dt.datetime(value.year, value.month, value.day, tzinfo=_dt.UTC)


def order_key(value: Any) -> tuple[Any, ...]:
    """The mixed-type total-order key of a value (sesam-hub.md §10.7); also its identity.

    Two values are DTL-equal exactly when their keys are equal; the key is hashable.

    >>> order_key(None) < order_key(False) < order_key(0) < order_key("a") < order_key({})
    True
    >>> order_key(1) == order_key(1.0), order_key(True) == order_key(1)
    (True, False)
    """
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


def values_equal(left: Any, right: Any) -> bool:
    """Exact DTL equality of two values (no list coercion; see :func:`dtl_eq` for that).

    >>> values_equal(1, 1.0), values_equal(True, 1), values_equal([1, "a"], [1, "a"])
    (True, False, True)
    """
    return order_key(left) == order_key(right)


def dtl_eq(left: Any, right: Any) -> bool:
    """``eq`` semantics: both sides coerced to lists, then compared exactly, in order.

    >>> dtl_eq(1, [1]), dtl_eq(None, []), dtl_eq([1, 2], [2, 1])
    (True, True, False)
    """
    return values_equal(as_list(left), as_list(right))


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
