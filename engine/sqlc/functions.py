"""The string functions and casts the flows' enrich pipes use, compiled to SQL with exact results.

``strip``, ``replace``, ``ni`` (with a namespace), ``integer``, ``boolean`` and ``is-empty``
(:mod:`engine.dtl.functions`), each for one value; lists (mapped element-wise by the
interpreter) go to the interpreter. The usual conventions of :mod:`engine.sqlc.expressions`
hold: in fast mode a function assumes the value type it is normally given (a plain string not
starting with ``~``, or null) and flags every other row; the general mode dispatches per type.

Exactness notes:

* ``strip`` removes what Python's ``str.strip()`` removes: the 29 code points for which
  ``str.isspace()`` holds (:data:`WHITESPACE`), matched by an RE2 class (code points, not
  graphemes, as Python). A string without whitespace at either end is passed through as the
  very text it was read as, so the common case re-serialises nothing.
* ``replace`` is DuckDB's ``replace`` with constant, non-empty search text: substring
  replacement on UTF-8 bytes is substring replacement on code points (an empty search text
  inserts between characters in Python and is refused).
* ``integer`` is exact for integers and for strings of at most 18 ASCII digits with an optional
  sign and nothing else; every other string (whitespace, ``0x`` hex, ``1_000``, Unicode digits,
  longer numbers), floats and decimals are the interpreter's. ``TRY_CAST`` alone is not exact:
  DuckDB accepts ``" 7"`` and ``"1_000"``.
* ``decimal``: a Decimal's text is ``format(d, "f")``, which keeps the digits it was made from,
  so integers, floats Python writes without an exponent (``repr``), and strings of the form
  ``-?(0|[1-9][0-9]*)([.][0-9]+)?`` become ``~f`` + their text; a decimal stays as it is. Other
  strings (``+1``, ``007``, `` 1.5``, ``1e3``, ``.5``) and typed values are the interpreter's.
* ``join`` with a constant separator over ``["list", ...]`` (or one value) is ``concat_ws``,
  which skips SQL NULL: each element is its raw string, or NULL when it is not a string (null,
  booleans, typed values are skipped by the interpreter too); a list element (flattened) goes
  to the interpreter.
* ``boolean``: no code point outside ASCII lower-cases (in Python or DuckDB) to a letter of
  ``true``/``false`` (checked over every code point), so ``lower(s) IN ('true', 'false')`` is
  Python's ``s.lower() in ("true", "false")``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from engine.dtl.nodes import Call, Literal, Node
from engine.entity import canonical_json
from engine.sqlc import sqltext as q
from engine.sqlc.frame import E, Frame

if TYPE_CHECKING:
    from engine.sqlc.expressions import ExprCompiler

__all__ = ["ENRICH_FUNCTIONS", "WHITESPACE", "constant_string", "fast_string", "map_string"]

WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
    + "\u2028\u2029\u202f\u205f\u3000"
)
"""Every code point ``str.isspace()`` holds for (what ``str.strip()`` removes)."""

_WS_CLASS = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in WHITESPACE) + "]"
_EDGE = q.sql_str(f"^{_WS_CLASS}|{_WS_CLASS}$")
_EDGES = q.sql_str(f"^{_WS_CLASS}+|{_WS_CLASS}+$")
_DIGITS = q.sql_str("[+-]?[0-9]{1,18}")
_QUOTED_DIGITS = q.sql_str('"[+-]?[0-9]{1,18}"')
_NUMBER = "-?(0|[1-9][0-9]{0,17})(\\.[0-9]{1,17})?"
"""Number text that ``format(Decimal(text), "f")`` writes back unchanged (within float digits)."""
_NUMBER_SQL = q.sql_str(_NUMBER)
_QUOTED_NUMBER_SQL = q.sql_str(f'"{_NUMBER}"')

RawFn = Callable[[str], str]


def fast_string(j: str) -> str:
    """SQL: ``j`` is a plain string not starting with ``~`` (its raw text needs no unescaping)."""
    return f"(starts_with({j}, '\"') AND NOT starts_with({j}, '\"~'))"


def constant_string(c: ExprCompiler, node: Node, what: str) -> str:
    """A constant string argument (refused otherwise); notes escapes Python writes."""
    if not (isinstance(node, Literal) and isinstance(node.value, str)):
        raise Frame.refuse(f"{what} must be a constant string to compile to SQL", node.path)
    if "\\u00" in canonical_json(node.value):
        c.frame.escaped_constants = True
    return node.value


def map_string(c: ExprCompiler, node: Node, fn: RawFn, *, keep: RawFn | None = None) -> E:
    """A string function under the mapping rule: strings mapped, null and non-strings null.

    ``keep(raw)``: SQL, true when ``fn`` leaves the string as it is (its text is passed through).
    """
    e = c.compile(node)
    if e.kind == "str":
        return E(fn(e.sql), "str")
    if e.kind == "bool":
        return E("'null'", "json")
    j = e.sql
    if c.fast:
        c.unsure(f"NOT ({fast_string(j)} OR {j} = 'null')")
        raw = f"json_extract_string({j}, '$')"
        mapped = q.string_json(fn(raw))
        if keep is not None:
            mapped = f"(CASE WHEN {keep(raw)} THEN {j} ELSE {mapped} END)"
        return E(f"(CASE WHEN {j} = 'null' THEN 'null' ELSE {mapped} END)", "json", exact=False)
    c.unsure(f"starts_with({j}, '[')")
    raw = q.raw_string(j)
    mapped = q.string_json(fn(raw))
    if keep is not None:
        mapped = f"(CASE WHEN {keep(raw)} THEN {j} ELSE {mapped} END)"
    return E(
        f"(CASE WHEN {q.is_plain_string(j)} THEN {mapped} ELSE 'null' END)", "json", exact=False
    )


def strip(c: ExprCompiler, node: Call) -> E:
    if len(node.args) != 1:
        raise Frame.refuse("strip with CHARACTERS is not compiled to SQL", node.path)
    return map_string(
        c,
        node.args[0],
        lambda s: f"regexp_replace({s}, {_EDGES}, '', 'g')",
        keep=lambda s: f"NOT regexp_matches({s}, {_EDGE})",
    )


def replace(c: ExprCompiler, node: Call) -> E:
    if len(node.args) != 3:
        raise Frame.refuse("replace with a MAPPING is not compiled to SQL", node.path)
    old = constant_string(c, node.args[0], "replace OLD")
    new = constant_string(c, node.args[1], "replace NEW")
    if not old:
        raise Frame.refuse("replace of the empty string is not compiled to SQL", node.path)
    return map_string(
        c,
        node.args[2],
        lambda s: f"replace({s}, {q.sql_str(old)}, {q.sql_str(new)})",
        keep=lambda s: f"NOT contains({s}, {q.sql_str(old)})",
    )


def ni(c: ExprCompiler, node: Call) -> E:
    """``["ni", NAMESPACE, VALUES]``: a string ``v`` becomes the NI ``~:NAMESPACE:v``."""
    if len(node.args) != 2:
        raise Frame.refuse("ni without a NAMESPACE is not compiled to SQL", node.path)
    namespace = constant_string(c, node.args[0], "the ni NAMESPACE")
    head = q.sql_str(f"~:{namespace}:" if namespace else "~:")
    e = c.compile(node.args[1])
    if e.kind == "str":
        return E(f"CAST(to_json({head} || {e.sql}) AS VARCHAR)", "json", exact=False)
    if e.kind == "bool":
        return E("'null'", "json")
    j = e.sql
    if c.fast:
        c.unsure(f"NOT ({fast_string(j)} OR {j} = 'null')")
        raw = f"json_extract_string({j}, '$')"
        return E(
            f"(CASE WHEN {j} = 'null' THEN 'null' "
            f"ELSE CAST(to_json({head} || {raw}) AS VARCHAR) END)",
            "json",
            exact=False,
        )
    c.unsure(f"starts_with({j}, '[')")
    return E(
        f"(CASE WHEN {q.is_plain_string(j)} "
        f"THEN CAST(to_json({head} || {q.raw_string(j)}) AS VARCHAR) ELSE 'null' END)",
        "json",
        exact=False,
    )


def integer(c: ExprCompiler, node: Call) -> E:
    if len(node.args) != 1:
        raise Frame.refuse("integer with a DEFAULT is not compiled to SQL", node.path)
    e = c.compile(node.args[0])
    if e.kind == "bool":
        return E("'null'", "json")
    if e.kind == "str":
        c.unsure(f"NOT regexp_full_match({e.sql}, {_DIGITS})")
        return E(f"coalesce(CAST(TRY_CAST({e.sql} AS BIGINT) AS VARCHAR), 'null')", "json")
    j = e.sql
    is_int = (
        f"(TRY_CAST({j} AS BIGINT) IS NOT NULL AND NOT contains({j}, '.') "
        f"AND NOT contains({j}, 'e') AND NOT contains({j}, 'E'))"
    )
    digits = f"regexp_full_match({j}, {_QUOTED_DIGITS})"
    c.unsure(f"NOT ({j} IN ('null', 'true', 'false') OR {is_int} OR {digits})")
    parsed = f"CAST(TRY_CAST(json_extract_string({j}, '$') AS BIGINT) AS VARCHAR)"
    return E(
        f"(CASE WHEN {is_int} THEN {j} WHEN {digits} THEN coalesce({parsed}, 'null') "
        "ELSE 'null' END)",
        "json",
    )


def _join_part(c: ExprCompiler, node: Node) -> str:
    """SQL VARCHAR: the string ``join`` takes from one element, NULL when it skips it."""
    e = c.compile(node)
    if e.kind == "str":
        return e.sql
    if e.kind == "bool":
        return "NULL"
    j = e.sql
    if c.fast:
        c.unsure(f"NOT ({fast_string(j)} OR {j} = 'null')")
        return f"json_extract_string({j}, '$')"
    c.unsure(f"starts_with({j}, '[')")
    return f"(CASE WHEN {q.is_plain_string(j)} THEN {q.raw_string(j)} END)"


def join(c: ExprCompiler, node: Call) -> E:
    separator = constant_string(c, node.args[0], "the join SEPARATOR")
    values = node.args[1]
    items = values.args if isinstance(values, Call) and values.name == "list" else (values,)
    parts = [_join_part(c, item) for item in items]
    return E(f"concat_ws({', '.join([q.sql_str(separator), *parts])})", "str")


def decimal(c: ExprCompiler, node: Call) -> E:
    if len(node.args) != 1:
        raise Frame.refuse("decimal with a DEFAULT is not compiled to SQL", node.path)
    e = c.compile(node.args[0])
    if e.kind == "bool":
        return E("'null'", "json")
    if e.kind == "str":
        c.unsure(f"NOT regexp_full_match({e.sql}, {_NUMBER_SQL})")
        return E(f"('\"~f' || {e.sql} || '\"')", "json")
    j = e.sql
    number = f"regexp_full_match({j}, {_NUMBER_SQL})"
    text = f"regexp_full_match({j}, {_QUOTED_NUMBER_SQL})"
    typed = f"starts_with({j}, '\"~f')"
    c.unsure(f"NOT ({j} IN ('null', 'true', 'false') OR {number} OR {text} OR {typed})")
    return E(
        f"(CASE WHEN {number} THEN '\"~f' || {j} || '\"' "
        f"WHEN {text} THEN '\"~f' || substr({j}, 2) "
        f"WHEN starts_with({j}, '\"~f') THEN {j} ELSE 'null' END)",
        "json",
    )


def boolean(c: ExprCompiler, node: Call) -> E:
    if len(node.args) != 1:
        raise Frame.refuse("boolean with a DEFAULT is not compiled to SQL", node.path)
    e = c.compile(node.args[0])
    if e.kind == "bool":
        return e
    if e.kind == "str":
        return E(
            f"(CASE lower({e.sql}) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' "
            "ELSE 'null' END)",
            "json",
        )
    j = e.sql
    c.unsure(f"starts_with({j}, '[')")
    word = f"lower({q.raw_string(j)})"
    return E(
        f"(CASE WHEN {j} IN ('true', 'false') THEN {j} "
        f"WHEN {q.is_plain_string(j)} AND {word} IN ('true', 'false') THEN {word} "
        "ELSE 'null' END)",
        "json",
    )


def is_empty(c: ExprCompiler, node: Call) -> E:
    """True for null and ``[]`` (``as_list`` of anything else has an element)."""
    e = c.compile(node.args[0])
    if e.kind != "json":
        return E("false", "bool")
    return E(f"({e.sql} IN ('null', '[]'))", "bool")


ENRICH_FUNCTIONS: dict[str, Callable[[ExprCompiler, Call], E]] = {
    "strip": strip,
    "replace": replace,
    "ni": ni,
    "integer": integer,
    "boolean": boolean,
    "decimal": decimal,
    "join": join,
    "is-empty": is_empty,
}
"""The functions of this module by their DTL names (merged into the compiler's table)."""
