"""``substring`` and ``datetime-format`` in SQL: strings cut by position, with exact results.

Both take characters at positions: ``substring`` from a string, ``datetime-format`` from the
canonical text of a datetime (``"~t2024-01-02T03:04:05.123Z"``, whose fields sit at fixed
places), so neither parses or computes dates.

Exactness notes (checked against :mod:`engine.dtl.functions.strings` and ``datetimes``):

* ``substring(START, [END], VALUES)`` with constant integer bounds (END may be null) is
  Python's ``s[start:end]`` on code points: DuckDB's ``length`` and ``substring`` count code
  points (not bytes, not graphemes), and Python's clamping of negative and out-of-range bounds
  is written out. Strings map, null and non-strings give null, lists go to the interpreter
  (:func:`engine.sqlc.functions.map_string`). Non-constant bounds are refused.
* ``datetime-format(FORMAT, VALUES)`` in UTC (no TIMEZONE, or the constant ``UTC``) for a
  constant FORMAT whose tokens are among ``%Y %y %m %d %e %H %I %M %S %f %p %z %%``; other
  tokens (locale-dependent ``strftime`` ones) are refused. A value formats when its JSON text is
  a ``~t`` datetime or date in the form ``parse_datetime`` reads (``YYYY-MM-DD``, optionally
  ``THH:MM:SS``, a fraction of 1–9 digits and ``Z``) and the fields are valid (DuckDB's
  ``DATE`` cast checks the calendar; year 0, which DuckDB accepts and Python does not, and
  hours, minutes and seconds out of range are checked apart). Any other ``~t`` text (which the
  store decodes as a plain string when it does not parse) and lists go to the interpreter;
  every other value gives null. A date is midnight; ``%f`` is the first six fraction digits,
  zero-padded (the interpreter truncates to microseconds).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from engine.dtl.nodes import Call, Literal, Node
from engine.sqlc import sqltext as q
from engine.sqlc.frame import E, Frame
from engine.sqlc.functions import constant_string, map_string
from engine.sqlc.lists import clamp

if TYPE_CHECKING:
    from engine.sqlc.expressions import ExprCompiler

__all__ = ["STRING_FUNCTIONS"]


def _bound(node: Node, what: str, *, nullable: bool = False) -> int | None:
    if nullable and isinstance(node, Literal) and node.value is None:
        return None
    if (
        isinstance(node, Literal)
        and isinstance(node.value, int)
        and not isinstance(node.value, bool)
    ):
        return node.value
    raise Frame.refuse(f"{what} must be a constant integer to compile to SQL", node.path)


def _cut(s: str, start: int, end: int | None) -> str:
    """SQL: Python's ``s[start:end]`` of the raw VARCHAR ``s`` (code points)."""
    if start >= 0 and end is None:
        return f"substring({s}, {start + 1})"
    if start >= 0 and end is not None and end >= 0:
        return f"substring({s}, {start + 1}, {max(end - start, 0)})"
    n = f"length({s})"
    low = clamp(start, n)
    high = n if end is None else clamp(end, n)
    return f"substring({s}, {low} + 1, greatest({high} - {low}, 0))"


def substring(c: ExprCompiler, node: Call) -> E:
    start = _bound(node.args[0], "the substring START")
    end = _bound(node.args[1], "the substring END", nullable=True) if len(node.args) == 3 else None
    if start is None:  # not reached: START is never nullable
        raise Frame.refuse("the substring START must be an integer", node.path)
    first = start

    def cut(s: str) -> str:
        return _cut(s, first, end)

    def keep(s: str) -> str:
        """A prefix longer than the string is the string: its text is passed through."""
        return "true" if end is None else f"length({s}) <= {end}"

    whole = first == 0 and (end is None or end >= 0)
    return map_string(c, node.args[-1], cut, keep=keep if whole else None)


# -- datetime-format --------------------------------------------------------------------------

_STAMP = q.sql_str('"~t[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]{1,9})?Z)?"')
_DATE_LENGTH = 14
"""Length of the JSON text ``"~tYYYY-MM-DD"`` (a date: midnight)."""


def _fields(j: str) -> dict[str, str]:
    """SQL VARCHAR of each token for the validated ``~t`` text ``j`` (fixed byte positions)."""

    def time_part(position: int) -> str:
        return f"(CASE WHEN length({j}) = {_DATE_LENGTH} THEN '00' ELSE substr({j}, {position}, 2) END)"

    hour = time_part(15)
    fraction = f"regexp_extract({j}, '[.]([0-9]+)Z', 1)"
    return {
        "Y": f"substr({j}, 4, 4)",
        "y": f"substr({j}, 6, 2)",
        "m": f"substr({j}, 9, 2)",
        "d": f"substr({j}, 12, 2)",
        "e": f"ltrim(substr({j}, 12, 2), '0')",
        "H": hour,
        "I": f"lpad(CAST(((TRY_CAST({hour} AS INTEGER) + 11) % 12) + 1 AS VARCHAR), 2, '0')",
        "M": time_part(18),
        "S": time_part(21),
        "f": f"rpad(left({fraction}, 6), 6, '0')",
        "p": f"(CASE WHEN {hour} < '12' THEN 'AM' ELSE 'PM' END)",
        "z": "'+0000'",
        "%": "'%'",
    }


def _render(fmt: str, fields: dict[str, str], where: Node) -> str:
    """SQL VARCHAR: ``format_with(fmt, value)``, scanning ``%X`` tokens as its regex does."""
    parts: list[str] = []
    literal = ""
    i = 0
    while i < len(fmt):
        if fmt[i] == "%" and i + 1 < len(fmt):
            token = fmt[i + 1]
            if token not in fields:
                raise Frame.refuse(
                    f"datetime-format token %{token} is not compiled to SQL", where.path
                )
            if literal:
                parts.append(q.sql_str(literal))
                literal = ""
            parts.append(fields[token])
            i += 2
            continue
        literal += fmt[i]
        i += 1
    if literal:
        parts.append(q.sql_str(literal))
    return f"concat({', '.join(parts)})" if parts else "''"


def datetime_format(c: ExprCompiler, node: Call) -> E:
    """``datetime-format([TIMEZONE], FORMAT, VALUES)`` in UTC; see the module notes."""
    if len(node.args) == 3:
        tz = node.args[0]
        if not (isinstance(tz, Literal) and tz.value in ("UTC", "Z", "utc")):
            raise Frame.refuse("datetime-format in a TIMEZONE is not compiled to SQL", tz.path)
    fmt = constant_string(c, node.args[-2], "the datetime-format FORMAT")
    e = c.compile(node.args[-1])
    if e.kind != "json":
        return E("'null'", "json")  # strings and booleans are not datetimes
    j = e.sql
    fields = _fields(j)
    valid = (
        f"(regexp_full_match({j}, {_STAMP}) AND substr({j}, 4, 4) <> '0000' "
        f"AND TRY_CAST(substr({j}, 4, 10) AS DATE) IS NOT NULL "
        f"AND {fields['H']} <= '23' AND {fields['M']} <= '59' AND {fields['S']} <= '59')"
    )
    c.unsure(f"(starts_with({j}, '[') OR (starts_with({j}, '\"~t') AND NOT {valid}))")
    text = q.string_json(_render(fmt, fields, node.args[-2]))
    return E(
        f"(CASE WHEN starts_with({j}, '\"~t') THEN {text} ELSE 'null' END)", "json", exact=False
    )


STRING_FUNCTIONS: dict[str, Callable[[ExprCompiler, Call], E]] = {
    "substring": substring,
    "datetime-format": datetime_format,
}
"""The functions of this module by their DTL names (merged into the compiler's table)."""
