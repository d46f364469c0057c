"""``split``, ``slice``, ``first`` and ``join`` over split strings, compiled to SQL exactly.

The person and contact enrich pipes cut a name in two: ``["first", ["split", " ", NAME]]`` and
``["join", " ", ["slice", 1, ["split", " ", NAME]]]``. A split string is held as a DuckDB
``VARCHAR[]`` of raw strings (SQL NULL where the interpreter's value is DTL null), so ``first``,
``slice`` and ``join`` work on the list itself and never parse JSON lists; only a split or slice
used as a value is written out as JSON text.

Exactness notes (checked against :mod:`engine.dtl.functions.strings` and ``lists``):

* ``split`` with a constant, non-empty separator is DuckDB's ``string_split``: both cut UTF-8
  text left to right at non-overlapping occurrences and keep empty parts (``"a  b "`` →
  ``["a", "", "b", ""]``, ``""`` → ``[""]``), and a cut on UTF-8 bytes of a valid separator is
  a cut on code points. Without a separator Python splits on runs of ``str.isspace``
  characters and drops empty parts: the same RE2 class as ``strip``
  (:data:`~engine.sqlc.functions.WHITESPACE`) with the empty parts filtered out. The empty
  separator (one part per code point) is ``string_split(s, '')``, which cuts code points too,
  without the ``[""]`` it gives for ``""`` (Python's ``list("")`` is ``[]``).
  Null and non-string values give null; a list (split element-wise, then flattened) goes to the
  interpreter.
* ``slice`` with constant integer START/END and no STRIDE (or STRIDE 1): Python's clamping of
  negative and out-of-range bounds is written out (``max(n + i, 0)``, ``min(i, n)``), then a
  1-based ``list_slice``. Other strides, and slices of anything but a split, are refused.
* ``first`` of a split list is its first element or null; of ``["list", A, ...]`` it is ``A``
  as it is. ``first`` of any other value is the value itself (``first_value``); a JSON list
  there goes to the interpreter.
* ``join`` of a split list is ``array_to_string``, which keeps empty parts; a null list joins
  to ``""`` (``as_list(None)`` is ``[]``). Other ``join`` forms are
  :func:`engine.sqlc.functions.join`.
* List text is DuckDB's ``to_json`` of the parts with ``~`` escaped per element: not exact
  (``E.exact`` false), so the usual risky-text checks apply.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from engine.dtl.nodes import Call, Literal, Node
from engine.sqlc import functions as fn
from engine.sqlc import sqltext as q
from engine.sqlc.frame import E, Frame

if TYPE_CHECKING:
    from engine.sqlc.expressions import ExprCompiler

__all__ = ["LIST_FUNCTIONS", "string_list"]

_WS_RUN = q.sql_str("[" + "".join(f"\\x{{{ord(c):x}}}" for c in fn.WHITESPACE) + "]+")
_NULL_LIST = "CAST(NULL AS VARCHAR[])"


def _cut(separator: str | None, s: str) -> str:
    """SQL VARCHAR[]: Python's ``s.split(separator)`` of the raw VARCHAR ``s`` (NULL stays)."""
    if separator is None:
        return f"list_filter(regexp_split_to_array({s}, {_WS_RUN}), lambda x: x <> '')"
    if separator == "":  # one part per code point; '' has none (DuckDB gives [''])
        return f"list_filter(string_split({s}, ''), lambda x: x <> '')"
    return f"string_split({s}, {q.sql_str(separator)})"


def _split(c: ExprCompiler, node: Call) -> str:
    separator = (
        fn.constant_string(c, node.args[0], "the split SEPARATOR") if len(node.args) == 2 else None
    )
    e = c.compile(node.args[-1])
    if e.kind == "str":
        return _cut(separator, e.sql)
    if e.kind == "bool":
        return _NULL_LIST
    j = e.sql
    if c.fast:
        # json_extract_string of 'null' is NULL, and every list function keeps NULL.
        c.unsure(f"NOT ({fn.fast_string(j)} OR {j} = 'null')")
        return _cut(separator, f"json_extract_string({j}, '$')")
    c.unsure(f"starts_with({j}, '[')")
    return f"(CASE WHEN {q.is_plain_string(j)} THEN {_cut(separator, q.raw_string(j))} END)"


def _int_constant(node: Node, what: str) -> int:
    if not (
        isinstance(node, Literal)
        and isinstance(node.value, int)
        and not isinstance(node.value, bool)
    ):
        raise Frame.refuse(f"{what} must be a constant integer to compile to SQL", node.path)
    return node.value


def clamp(index: int, n: str) -> str:
    """SQL: where Python's slice puts ``index`` in a sequence of SQL length ``n`` (0 … n)."""
    return f"least({index}, {n})" if index >= 0 else f"greatest({n} + ({index}), 0)"


def _slice(c: ExprCompiler, node: Call) -> str:
    args = node.args
    start = _int_constant(args[0], "the slice START")
    end: int | None = None
    if len(args) >= 3 and not (isinstance(args[1], Literal) and args[1].value is None):
        end = _int_constant(args[1], "the slice END")
    if len(args) == 4 and _int_constant(args[2], "the slice STRIDE") != 1:
        raise Frame.refuse("slice with a STRIDE other than 1 is not compiled to SQL", node.path)
    values = string_list(c, args[-1])
    if values is None:
        raise Frame.refuse("slice is compiled to SQL over split only", node.path)
    n = f"len({values})"
    low = clamp(start, n)
    high = n if end is None else clamp(end, n)
    return f"list_slice({values}, {low} + 1, {high})"


def string_list(c: ExprCompiler, node: Node) -> str | None:
    """SQL VARCHAR[] of a ``split`` (or a ``slice`` of one); None for any other node."""
    if isinstance(node, Call) and node.name == "split":
        return _split(c, node)
    if isinstance(node, Call) and node.name == "slice":
        return _slice(c, node)
    return None


def list_json(values: str) -> str:
    """SQL: the canonical JSON text of a string list (``'null'`` for NULL)."""
    escaped = f"list_transform({values}, lambda x: CASE WHEN starts_with(x, '~') THEN '~' || x ELSE x END)"
    return f"coalesce(CAST(to_json({escaped}) AS VARCHAR), 'null')"


def split(c: ExprCompiler, node: Call) -> E:
    return E(list_json(_split(c, node)), "json", exact=False)


def slice_(c: ExprCompiler, node: Call) -> E:
    return E(list_json(_slice(c, node)), "json", exact=False)


def first(c: ExprCompiler, node: Call) -> E:
    values = string_list(c, node.args[0])
    if values is not None:
        return E(f"coalesce({q.string_json(f'{values}[1]')}, 'null')", "json", exact=False)
    arg = node.args[0]
    if isinstance(arg, Call) and arg.name == "list":  # the first argument, whatever it is
        parts = [c.compile(a) for a in arg.args]  # all compiled: refusals and checks kept
        return parts[0] if parts else E("'null'", "json")
    e = c.compile(arg)
    if e.kind == "json" and not e.is_constant:
        c.unsure(f"starts_with({e.sql}, '[')")
    elif e.is_constant and isinstance(e.constant, list):
        raise Frame.refuse("first of a constant list is not compiled to SQL", node.path)
    return e


def join(c: ExprCompiler, node: Call) -> E:
    values = string_list(c, node.args[1])
    if values is None:
        return fn.join(c, node)
    separator = fn.constant_string(c, node.args[0], "the join SEPARATOR")
    return E(f"coalesce(array_to_string({values}, {q.sql_str(separator)}), '')", "str")


LIST_FUNCTIONS: dict[str, Callable[[ExprCompiler, Call], E]] = {
    "split": split,
    "slice": slice_,
    "first": first,
    "join": join,
}
"""The functions of this module by their DTL names (``join`` extends the one of ``functions``)."""
