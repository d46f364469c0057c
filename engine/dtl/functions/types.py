"""DTL type casts with default fallbacks (``boolean``, ``integer``, ``decimal``, ``float``) and the
``is-*`` type predicates.

The casts follow the mapping rule (single → single, list → list, null → null) and drop values
that do not convert. With the optional leading DEFAULT argument they are lazy: DEFAULT is a
function-expression evaluated once per failing element with ``_`` bound to that element
(``["integer", ["string", "_."], ...]`` keeps the text of what did not parse). Null elements are
neither converted nor defaulted.

The ``is-*`` predicates look at the value, or at the first element of a list (sesam-hub.md §5.6);
``is-list`` is the exception and tests the value itself.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from engine.dtl.registry import SpecCollector
from engine.dtl.values import DROP, first_value, is_number, map_each, parse_decimal
from engine.entity import URI

if TYPE_CHECKING:
    from engine.dtl.env import Env
    from engine.dtl.registry import Evaluator

FUNCTIONS = SpecCollector()


def cast_with_default(env: Env, args: tuple[Evaluator, ...], convert: Callable[[Any], Any]) -> Any:
    """Evaluate ``([DEFAULT], VALUES)`` and map ``convert`` over VALUES with the fallback."""
    if len(args) == 1:  # no DEFAULT: the common case; one value is map_each's rule, inlined
        value = args[0](env)
        if value is None or isinstance(value, list):
            return map_each(value, convert)
        result = convert(value)
        return None if result is DROP else result
    *default, values = args
    if not default:
        return map_each(values(env), convert)
    fallback = default[0]

    def with_default(element: Any) -> Any:
        result = convert(element)
        if result is DROP and element is not None:
            return fallback(env.bind(element))
        return result

    return map_each(values(env), with_default)


# --- boolean ----------------------------------------------------------------------------------


def to_boolean(value: Any) -> Any:
    """``true``/``false`` and the strings "true"/"false" in any case; anything else is DROP."""
    if value is True or value is False:
        return value
    if isinstance(value, str):
        lowered = value.lower()
        if lowered == "true":
            return True
        if lowered == "false":
            return False
    return DROP


@FUNCTIONS.expression("boolean", min_args=1, max_args=2, lazy=True)
def boolean(env: Env, *args: Evaluator) -> Any:
    """Cast values to booleans, with an optional DEFAULT.

    ``boolean([DEFAULT], VALUES)``: cast booleans and the strings "true"/"false" (any case)
    to booleans; other values are dropped or replaced by DEFAULT (evaluated with ``_``)."""
    return cast_with_default(env, args, to_boolean)


# --- integer ----------------------------------------------------------------------------------


def parse_hex(text: str) -> int | None:
    """Two's-complement hex text: ``"0x00ff"`` → 255, ``"0xff"`` → -1, ``"0x1"`` → 1."""
    digits = text[2:]
    if not digits or any(c not in "0123456789abcdefABCDEF" for c in digits):
        return None
    if len(digits) % 2:
        digits = "0" + digits
    return int.from_bytes(bytes.fromhex(digits), "big", signed=True)


def to_integer(value: Any) -> Any:
    """Integers as is, floats and decimals truncated, integer text (and ``0x`` hex) parsed."""
    if value is True or value is False:
        return DROP
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else DROP
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text[:2].lower() == "0x":
            parsed = parse_hex(text)
            return DROP if parsed is None else parsed
        if "_" in text:  # Python accepts "1_000"; DTL does not
            return DROP
        try:
            return int(text)
        except ValueError:
            return DROP
    return DROP


@FUNCTIONS.expression("integer", min_args=1, max_args=2, lazy=True)
def integer(env: Env, *args: Evaluator) -> Any:
    """``integer([DEFAULT], VALUES)``: cast to integers.

    ``"1"`` → 1, ``124.4`` → 124 (truncated),
    ``"0x00ff"`` → 255 and ``"0xff"`` → -1 (two's complement). Other values (URIs, booleans,
    ``"10^2"``) are dropped or replaced by DEFAULT (evaluated with ``_`` bound to the value)."""
    return cast_with_default(env, args, to_integer)


# --- decimal / float --------------------------------------------------------------------------


def to_decimal(value: Any) -> Any:
    """Numbers and numeric text to decimals; floats via their shortest text (2.2 → 2.2)."""
    if value is True or value is False:
        return DROP
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else DROP
    if isinstance(value, str):
        parsed = parse_decimal(value)
        return DROP if parsed is None else parsed
    return DROP


@FUNCTIONS.expression("decimal", min_args=1, max_args=2, lazy=True)
def decimal(env: Env, *args: Evaluator) -> Any:
    """Cast values to decimals, with an optional DEFAULT.

    ``decimal([DEFAULT], VALUES)``: cast numbers and numeric strings to decimals (unlimited
    precision); other values are dropped or replaced by DEFAULT."""
    return cast_with_default(env, args, to_decimal)


def to_float(value: Any) -> Any:
    """Numbers and numeric text to a finite float."""
    if value is True or value is False:
        return DROP
    if isinstance(value, int | float | Decimal):
        result = float(value)
    elif isinstance(value, str) and "_" not in value:
        try:
            result = float(value.strip())
        except ValueError:
            return DROP
    else:
        return DROP
    return result if math.isfinite(result) else DROP


@FUNCTIONS.expression("float", min_args=1, max_args=2, lazy=True)
def float_(env: Env, *args: Evaluator) -> Any:
    """Cast values to floats, with an optional DEFAULT.

    ``float([DEFAULT], VALUES)``: cast numbers and numeric strings to floats; other values
    (and NaN/infinity) are dropped or replaced by DEFAULT."""
    return cast_with_default(env, args, to_float)


# --- predicates -------------------------------------------------------------------------------


@FUNCTIONS.expression("is-boolean", min_args=1, max_args=1)
def is_boolean(value: Any) -> bool:
    """True if the value (or the first list element) is a boolean."""
    v = first_value(value)
    return v is True or v is False


@FUNCTIONS.expression("is-integer", min_args=1, max_args=1)
def is_integer(value: Any) -> bool:
    """True if the value (or the first list element) is an integer (never a boolean)."""
    v = first_value(value)
    return isinstance(v, int) and not isinstance(v, bool)


@FUNCTIONS.expression("is-decimal", min_args=1, max_args=1)
def is_decimal(value: Any) -> bool:
    """True if the value (or the first list element) is a decimal. A literal ``1.0`` is a float."""
    return isinstance(first_value(value), Decimal)


@FUNCTIONS.expression("is-float", min_args=1, max_args=1)
def is_float(value: Any) -> bool:
    """True if the value (or the first list element) is a float."""
    return isinstance(first_value(value), float)


@FUNCTIONS.expression("is-number", min_args=1, max_args=1)
def is_number_(value: Any) -> bool:
    """True if the value (or the first list element) is an integer, decimal or float."""
    return is_number(first_value(value))


@FUNCTIONS.expression("is-string", min_args=1, max_args=1)
def is_string(value: Any) -> bool:
    """True if the value (or the first list element) is a string (not a URI or NI)."""
    return isinstance(first_value(value), str)


@FUNCTIONS.expression("is-list", min_args=1, max_args=1)
def is_list(value: Any) -> bool:
    """True if the value itself is a list (``["list"]`` included)."""
    return isinstance(value, list)


@FUNCTIONS.expression("is-dict", min_args=1, max_args=1)
def is_dict(value: Any) -> bool:
    """True if the value (or the first list element) is a dict."""
    return isinstance(first_value(value), dict)


@FUNCTIONS.expression("is-uri", min_args=1, max_args=1)
def is_uri(value: Any) -> bool:
    """True if the value (or the first list element) is a URI (``"~r..."``), not a string."""
    return isinstance(first_value(value), URI)


@FUNCTIONS.expression("is-bytes", min_args=1, max_args=1)
def is_bytes(value: Any) -> bool:
    """True if the value (or the first list element) is a bytes value."""
    return isinstance(first_value(value), bytes | bytearray)


@FUNCTIONS.expression("is-uuid", min_args=1, max_args=1)
def is_uuid(value: Any) -> bool:
    """True if the value (or the first list element) is a UUID (``"~u..."``)."""
    return isinstance(first_value(value), uuid.UUID)
