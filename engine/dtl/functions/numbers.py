"""DTL number functions: map-style maths, the symbolic operators, rounding, aggregates.

Design notes
------------
* Two argument conventions (sesam-hub.md §5.6, §10.2). The named functions ``plus``, ``minus``,
  ``multiply``, ``divide``, ``mod``, ``pow`` take the *operand first* and map it over VALUES
  (``["minus", 10, 12]`` is 2). The symbols ``+ - * / % ^`` are natural order and take the first
  value of each side (``["-", 10, 12]`` is -2). Null on either side gives null.
* Number types: int op int stays int, except that a division that is not exact gives a float
  (``["divide", 2, ["list", 2, 4, 6]]`` is ``[1, 2, 3]`` but ``["/", 10, 20]`` is 0.5). A
  decimal on either side makes the result a decimal (a float operand is taken by its shortest
  text, so 0.1 means 0.1). Division or modulo by zero gives null.
* Rounding uses banker's rounding on the *decimal text* of a float, so ``round(2, 2.675)`` is
  2.68 as a person expects, not 2.67 as binary floats give. With DIGITS the result is a decimal
  of exactly DIGITS places (the docs show ``2.30``); without, an integer.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any

from engine.dtl.registry import SpecCollector
from engine.dtl.values import DROP, as_list, first_value, is_number, map_each, order_key
from engine.errors import DtlEvalError

if TYPE_CHECKING:
    from engine.dtl.env import Env
    from engine.dtl.registry import Evaluator

FUNCTIONS = SpecCollector()

_MAX_EXPONENT = 10_000
"""Integer powers beyond this would take minutes and gigabytes; they are an evaluation error."""


def _as_decimal(value: Any) -> Decimal:
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def arithmetic(op: str, a: Any, b: Any) -> Any:
    """``a op b`` for two DTL numbers with the type rules of the module docstring.

    Returns ``None`` for a non-number operand, a division by zero or an overflow.

    >>> arithmetic("/", 6, 3), arithmetic("/", 1, 2), arithmetic("+", Decimal("0.1"), 0.2)
    (2, 0.5, Decimal('0.3'))
    """
    if not (is_number(a) and is_number(b)):
        return None
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        a, b = _as_decimal(a), _as_decimal(b)
    try:
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            if b == 0:
                return None
            if isinstance(a, int) and isinstance(b, int) and a % b == 0:
                return a // b
            return a / b
        if op == "%":
            return None if b == 0 else a % b
        if op == "^":
            if isinstance(b, int) and abs(b) > _MAX_EXPONENT and abs(a) > 1:
                raise DtlEvalError(f"exponent {b} is too large (at most {_MAX_EXPONENT})")
            result = a**b
            if isinstance(result, complex):
                return None
            return result
    except ArithmeticError:  # zero division, overflow, decimal traps
        return None
    raise DtlEvalError(f"unknown arithmetic operator {op!r}")


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Decimal) and not value.is_finite():
        return None
    return value


def _map_operand(op: str, operand: Any, values: Any, *, operand_right: bool = True) -> Any:
    arg = first_value(operand)
    if not is_number(arg):
        return None

    def apply(value: Any) -> Any:
        if not is_number(value):
            return DROP
        result = _finite(
            arithmetic(op, value, arg) if operand_right else arithmetic(op, arg, value)
        )
        return DROP if result is None else result

    return map_each(values, apply)


@FUNCTIONS.expression("plus", min_args=2, max_args=2)
def plus(increment: Any, values: Any) -> Any:
    """``plus(INCREMENT, VALUES)``: add INCREMENT to every number of VALUES (others dropped).
    ``["plus", 10, ["list", 1, 2, 3]]`` → ``[11, 12, 13]``."""
    return _map_operand("+", increment, values)


@FUNCTIONS.expression("minus", min_args=2, max_args=2)
def minus(decrement: Any, values: Any) -> Any:
    """``minus(DECREMENT, VALUES)``: subtract DECREMENT from every number of VALUES.
    ``["minus", 10, 12]`` → 2."""
    return _map_operand("-", decrement, values)


@FUNCTIONS.expression("multiply", min_args=2, max_args=2)
def multiply(multiplier: Any, values: Any) -> Any:
    """``multiply(MULTIPLIER, VALUES)``: multiply every number of VALUES by MULTIPLIER."""
    return _map_operand("*", multiplier, values)


@FUNCTIONS.expression("divide", min_args=2, max_args=2)
def divide(divisor: Any, values: Any) -> Any:
    """``divide(DIVISOR, VALUES)``: divide every number of VALUES by DIVISOR (first value).
    ``["divide", 2, ["list", 2, 4, 6]]`` → ``[1, 2, 3]``; a zero divisor drops the values."""
    return _map_operand("/", divisor, values)


@FUNCTIONS.expression("mod", min_args=2, max_args=2)
def mod(divisor: Any, values: Any) -> Any:
    """``mod(DIVISOR, VALUES)``: the remainder of every number of VALUES divided by DIVISOR.
    ``["mod", 3, 5]`` → 2."""
    return _map_operand("%", divisor, values)


@FUNCTIONS.expression("pow", min_args=2, max_args=2)
def pow_(exponent: Any, values: Any) -> Any:
    """``pow(EXPONENT, VALUES)``: raise every number of VALUES to EXPONENT.
    ``["pow", 2, ["list", 2, 5, 6]]`` → ``[4, 25, 36]``."""
    return _map_operand("^", exponent, values)


def _natural(op: str, left: Any, right: Any) -> Any:
    return _finite(arithmetic(op, first_value(left), first_value(right)))


@FUNCTIONS.expression("+", min_args=2, max_args=2)
def add_(left: Any, right: Any) -> Any:
    """``LEFT + RIGHT`` on the first values; null if either is null or not a number."""
    return _natural("+", left, right)


@FUNCTIONS.expression("-", min_args=2, max_args=2)
def sub_(left: Any, right: Any) -> Any:
    """``LEFT - RIGHT`` on the first values: ``["-", 10, 12]`` → -2."""
    return _natural("-", left, right)


@FUNCTIONS.expression("*", min_args=2, max_args=2)
def mul_(left: Any, right: Any) -> Any:
    """``LEFT * RIGHT`` on the first values."""
    return _natural("*", left, right)


@FUNCTIONS.expression("/", min_args=2, max_args=2)
def div_(left: Any, right: Any) -> Any:
    """``LEFT / RIGHT`` on the first values: ``["/", 10, 20]`` → 0.5, ``["/", 5, 0]`` → null."""
    return _natural("/", left, right)


@FUNCTIONS.expression("%", min_args=2, max_args=2)
def mod_(left: Any, right: Any) -> Any:
    """``LEFT % RIGHT`` on the first values: ``["%", 5, 3]`` → 2."""
    return _natural("%", left, right)


@FUNCTIONS.expression("^", min_args=2, max_args=2)
def pow_op(left: Any, right: Any) -> Any:
    """``LEFT`` to the power ``RIGHT`` on the first values: ``["^", 5, 2]`` → 25."""
    return _natural("^", left, right)


# --- rounding ---------------------------------------------------------------------------------


def quantize(value: Any, digits: int | None, rounding: str) -> Any:
    """Round a number to ``digits`` places (``None``: to an integer result) with ``rounding``."""
    if not is_number(value):
        return DROP
    if isinstance(value, float) and not math.isfinite(value):
        return DROP
    try:
        result = _quantize(value, digits, rounding)
    except ArithmeticError:  # a DIGITS beyond the decimal context's precision
        return DROP
    return DROP if _finite(result) is None else result


def _quantize(value: Any, digits: int | None, rounding: str) -> Any:
    exact = _as_decimal(value)
    if digits is None or digits == 0:
        return int(exact.quantize(Decimal(1), rounding=rounding))
    if isinstance(value, int):
        if digits > 0:
            return value
        return int(exact.quantize(Decimal(1).scaleb(-digits), rounding=rounding))
    # Floats and decimals give a decimal with exactly DIGITS places (the docs print
    # ``["round", 2, 2.299]`` as ``2.30``, which only a decimal can be).
    return exact.quantize(Decimal(1).scaleb(-digits), rounding=rounding)


def _rounding(args: tuple[Any, ...], rounding: str, name: str) -> Any:
    if len(args) == 1:
        return map_each(args[0], lambda v: quantize(v, None, rounding))
    digits, values = first_value(args[0]), args[1]
    if not isinstance(digits, int) or isinstance(digits, bool):
        raise DtlEvalError(f"{name}: DIGITS must be an integer, got {digits!r}")
    return map_each(values, lambda v: quantize(v, digits, rounding))


@FUNCTIONS.expression("round", min_args=1, max_args=2)
def round_(*args: Any) -> Any:
    """Round numbers half to even, optionally to DIGITS places.

    ``round([DIGITS], VALUES)``: banker's rounding (half to even): ``[2.2, 3.5, 4.5]`` →
    ``[2, 4, 4]``, ``-4.5`` → -4. Without DIGITS (or 0) the result is an integer; with DIGITS a
    float or decimal becomes a decimal with DIGITS places (``["round", 2, 2.299]`` → ``2.30``)
    and an integer stays an integer."""
    return _rounding(args, ROUND_HALF_EVEN, "round")


@FUNCTIONS.expression("ceil", min_args=1, max_args=2)
def ceil(*args: Any) -> Any:
    """``ceil([DIGITS], VALUES)``: round up (towards +infinity); see ``round`` for DIGITS."""
    return _rounding(args, ROUND_CEILING, "ceil")


@FUNCTIONS.expression("floor", min_args=1, max_args=2)
def floor(*args: Any) -> Any:
    """``floor([DIGITS], VALUES)``: round down (towards -infinity); see ``round`` for DIGITS."""
    return _rounding(args, ROUND_FLOOR, "floor")


# --- single-argument maths --------------------------------------------------------------------


def _unary(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if not is_number(value):
            return DROP
        try:
            result = fn(value)
        except (ValueError, ArithmeticError):
            return DROP
        return DROP if result is None else _finite(result)

    return convert


@FUNCTIONS.expression("abs", min_args=1, max_args=1)
def abs_(values: Any) -> Any:
    """The absolute value of every number (the type is kept)."""
    return map_each(values, _unary(abs))


def _sqrt(value: Any) -> Any:
    if value < 0:
        return None
    if isinstance(value, Decimal):
        return value.sqrt()
    return math.sqrt(value)


@FUNCTIONS.expression("sqrt", min_args=1, max_args=1)
def sqrt(values: Any) -> Any:
    """The square root of every number as a float (decimal for decimals); negative → null."""
    return map_each(values, _unary(_sqrt))


@FUNCTIONS.expression("sin", min_args=1, max_args=1)
def sin(values: Any) -> Any:
    """The sine of every number (radians), as a float."""
    return map_each(values, _unary(lambda v: math.sin(float(v))))


@FUNCTIONS.expression("cos", min_args=1, max_args=1)
def cos(values: Any) -> Any:
    """The cosine of every number (radians), as a float."""
    return map_each(values, _unary(lambda v: math.cos(float(v))))


@FUNCTIONS.expression("tan", min_args=1, max_args=1)
def tan(values: Any) -> Any:
    """The tangent of every number (radians), as a float."""
    return map_each(values, _unary(lambda v: math.tan(float(v))))


@FUNCTIONS.expression("hex", min_args=1, max_args=1)
def hex_(values: Any) -> Any:
    """Integers as two's-complement hex text.

    Integers as two's-complement hex text in whole bytes: 1 → ``"0x01"``, 255 → ``"0x00ff"``,
    -1 → ``"0xff"`` (the inverse of ``integer`` on hex text). Non-integers are dropped."""

    def convert(value: Any) -> Any:
        if not isinstance(value, int) or isinstance(value, bool):
            return DROP
        length = 1
        while True:
            try:
                return "0x" + value.to_bytes(length, "big", signed=True).hex()
            except OverflowError:
                length += 1

    return map_each(values, convert)


# --- aggregates -------------------------------------------------------------------------------


@FUNCTIONS.expression("sum", min_args=1, max_args=1)
def sum_(values: Any) -> Any:
    """The sum of the numbers in VALUES; non-numbers are ignored; no numbers gives 0."""
    total: Any = 0
    for value in as_list(values):
        if is_number(value):
            total = arithmetic("+", total, value)
    return _finite(total)


@FUNCTIONS.expression("count", min_args=1, max_args=1)
def count(values: Any) -> int:
    """The number of elements of VALUES coerced to a list: null → 0, a single value → 1."""
    return len(as_list(values))


def _extreme(env: Env, args: tuple[Evaluator, ...], pick_max: bool) -> Any:
    *function, values = args
    best: Any = None
    best_key: tuple[Any, ...] | None = None
    for element in as_list(values(env)):
        key_value = function[0](env.bind(element)) if function else element
        if key_value is None or element is None:
            continue
        key = order_key(key_value)
        if best_key is None or (key > best_key if pick_max else key < best_key):
            best, best_key = element, key
    return best


@FUNCTIONS.expression("min", min_args=1, max_args=2, lazy=True)
def min_(env: Env, *args: Evaluator) -> Any:
    """The smallest value in the mixed-type order.

    ``min([FUNCTION], VALUES)``: the smallest value in the mixed-type order (numbers < strings
    < dicts; "A" < "a"). With FUNCTION the value whose FUNCTION result is smallest is returned
    (the value, not the key). Nulls are skipped; an empty list gives null."""
    return _extreme(env, args, pick_max=False)


@FUNCTIONS.expression("max", min_args=1, max_args=2, lazy=True)
def max_(env: Env, *args: Evaluator) -> Any:
    """``max([FUNCTION], VALUES)``: like ``min`` but the largest value."""
    return _extreme(env, args, pick_max=True)
