"""``datetime-parse`` in SQL: formats of ``%Y %m %d %H %M %S`` read exactly as the interpreter.

The interpreter (:mod:`engine.dtl.functions.datetimes`) matches a format with its own regex (not
``strptime``): ``%Y`` is four digits, the others one or two, literal text case-insensitive, the
whole string must match, and the date must be valid. The same pattern runs in RE2 with ASCII
``[0-9]``; non-ASCII input (where Python's ``\\d`` also takes other digits) goes to the
interpreter. The result text is built digit by digit, as ``format_datetime`` writes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.dtl.nodes import Call
from engine.errors import JsonPath
from engine.sqlc import sqltext as q
from engine.sqlc.frame import E, Frame

if TYPE_CHECKING:
    from engine.sqlc.expressions import ExprCompiler

__all__ = ["datetime_parse"]

_DATE_TOKENS = {"Y": "([0-9]{4})", "m": "([0-9]{1,2})", "d": "([0-9]{1,2})"}
_TIME_TOKENS = {"H": "([0-9]{1,2})", "M": "([0-9]{1,2})", "S": "([0-9]{1,2})"}


def _format_regex(fmt: str, where: JsonPath) -> tuple[str, list[str]]:
    """The RE2 full-match pattern of a format and its tokens in order (as the interpreter's)."""
    tokens: list[str] = []
    out = ["(?i)^"]
    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch == "%" and i + 1 < len(fmt):
            token = fmt[i + 1]
            i += 2
            if token == "%":
                out.append("%")
                continue
            regex = _DATE_TOKENS.get(token) or _TIME_TOKENS.get(token)
            if regex is None or token in tokens:
                raise Frame.refuse(f"datetime-parse token %{token} is not compiled to SQL", where)
            tokens.append(token)
            out.append(regex)
            continue
        if not ch.isascii() or ch == "%":
            raise Frame.refuse("datetime-parse FORMAT must be ASCII for SQL", where)
        out.append(ch if ch.isalnum() else "\\" + ch if ch not in " " else " ")
        i += 1
    if not tokens:
        raise Frame.refuse("datetime-parse FORMAT without tokens is not compiled to SQL", where)
    return "".join(out) + "\\z", tokens


def datetime_parse(self: ExprCompiler, node: Call) -> E:
    """``datetime-parse(FORMAT, VALUES)`` for formats of ``%Y %m %d %H %M %S`` (UTC)."""
    if len(node.args) != 2:
        raise Frame.refuse("datetime-parse with a TIMEZONE is not compiled to SQL", node.path)
    fmt = self.compile(node.args[0])
    if not (fmt.is_constant and isinstance(fmt.constant, str)):
        raise Frame.refuse("datetime-parse needs a constant FORMAT in SQL", node.args[0].path)
    pattern, tokens = _format_regex(fmt.constant, node.path)
    e = self.json(node.args[1])
    self.unsure(f"starts_with({e.sql}, '[')")
    self.unsure(f"strlen({e.sql}) <> length({e.sql})")  # Python's \\d takes any digit
    names = [f"g{i}" for i in range(len(tokens))]
    groups = (
        f"regexp_extract({q.raw_string(e.sql)}, {q.sql_str(pattern)}, "
        f"[{', '.join(q.sql_str(n) for n in names)}])"
    )
    part = dict(zip(tokens, (f"{groups}.{n}" for n in names), strict=True))
    defaults = {"Y": "1900", "m": "1", "d": "1", "H": "0", "M": "0", "S": "0"}

    def number(token: str) -> str:
        return f"TRY_CAST({part[token]} AS INTEGER)" if token in part else defaults[token]

    def padded(token: str) -> str:
        return f"lpad({part[token]}, 2, '0')" if token in part else f"'{int(defaults[token]):02d}'"

    year, month, day = number("Y"), number("m"), number("d")
    # Nested CASEs, not AND: make_date must only see a month already known to be valid.
    fields_ok = (
        f"coalesce({groups}.g0 <> '' AND {year} >= 1 AND {month} BETWEEN 1 AND 12 "
        f"AND {day} >= 1 AND {number('H')} <= 23 AND {number('M')} <= 59 "
        f"AND {number('S')} <= 59, false)"
    )
    day_ok = f"{day} <= day(last_day(make_date({year}, {month}, 1)))"
    valid = f"(CASE WHEN {fields_ok} THEN {day_ok} ELSE false END)"
    year_text = part.get("Y", "'1900'")
    text = (
        f"'\"~t' || {year_text} || '-' || {padded('m')} || '-' || {padded('d')} || 'T' || "
        f"{padded('H')} || ':' || {padded('M')} || ':' || {padded('S')} || 'Z\"'"
    )
    return E(
        f"(CASE WHEN {q.is_plain_string(e.sql)} THEN "
        f"(CASE WHEN {valid} THEN {text} ELSE 'null' END) ELSE 'null' END)",
        "json",
    )
