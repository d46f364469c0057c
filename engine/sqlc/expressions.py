"""DTL expressions → SQL over canonical JSON text (the compiled subset, with exact semantics).

Design notes
------------
* Each node compiles to an :class:`~engine.sqlc.frame.E` of kind ``json`` (canonical text),
  ``str`` (a raw string, when the result is known to be a DTL string, e.g. ``concat``) or
  ``bool``. Constants are rendered by Python (``canonical_json``), so literal text is exact.
* Where a value's runtime type would need semantics the SQL does not reproduce (lists under the
  mapping rule, number equality across int/float/decimal, non-ASCII case mapping ...), the
  expression adds an *unsure* condition to the frame instead of guessing; such rows run through
  the interpreter. Anything not handled at all raises :class:`NotCompilable` with the JSON path
  of the offending expression.
* **Two modes.** The *general* mode dispatches on the value's type per row (a ``CASE`` per
  possible type). The *fast* mode (the default) assumes the type a function is normally given
  (``concat``/``upper`` a plain string or null, ``gt 500`` an integer or null) and flags every
  other row for the interpreter instead of dispatching: a cheap prefix test replaces the ``CASE``
  work on every row. Both are exact; the executor switches a run to the general query when the
  fast one flags more than a few rows (:mod:`engine.sqlc.executor`).
* Function names stay in DTL spelling in :data:`_FUNCTIONS` and messages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.dtl.nodes import Call, Literal, Node, PathRef
from engine.entity import canonical_json
from engine.errors import JsonPath
from engine.sqlc import sqltext as q
from engine.sqlc.datetimes import datetime_parse
from engine.sqlc.frame import E, Frame
from engine.sqlc.functions import ENRICH_FUNCTIONS
from engine.sqlc.hops import compile_hops
from engine.sqlc.lists import LIST_FUNCTIONS
from engine.sqlc.names import PLAIN, Naming
from engine.sqlc.strings import STRING_FUNCTIONS

__all__ = ["RESERVED_READ", "ExprCompiler", "as_bool", "as_json"]

RESERVED_READ = frozenset({"_updated", "_ts", "_hash", "_previous", "_filtered"})
"""Source fields the interpreter sees that the stored body does not hold."""

TargetReader = Callable[[str, JsonPath], E]


def constant(value: Any) -> E:
    """A literal as an expression (strings and booleans keep their SQL kinds)."""
    if isinstance(value, bool):
        return E("true" if value else "false", "bool", constant=value, is_constant=True)
    if isinstance(value, str):
        return E(q.sql_str(value), "str", constant=value, is_constant=True)
    return E(q.json_text(value), "json", constant=value, is_constant=True)


def as_json(e: E) -> E:
    """The canonical JSON text of any compiled expression."""
    if e.kind == "json":
        return e
    if e.is_constant:
        return E(q.json_text(e.constant), "json", constant=e.constant, is_constant=True)
    if e.kind == "bool":
        return E(f"(CASE WHEN {e.sql} THEN 'true' ELSE 'false' END)", "json")
    return E(q.string_json(e.sql), "json", exact=False)


def as_bool(e: E) -> str:
    """SQL BOOLEAN: DTL truthiness of the expression."""
    if e.kind == "bool":
        return e.sql
    if e.kind == "str":
        return "true"
    return q.truthy(e.sql)


def _same_kind(parts: list[E]) -> list[E]:
    kinds = {p.kind for p in parts}
    if len(kinds) == 1 and kinds != {"json"}:
        return parts
    return [as_json(p) for p in parts]


class ExprCompiler:
    """Compiles expression nodes; see the module notes."""

    def __init__(
        self,
        frame: Frame,
        read_target: TargetReader,
        *,
        fast: bool = True,
        naming: Naming = PLAIN,
    ) -> None:
        self.frame = frame
        self.read_target = read_target
        self.fast = fast
        self.naming = naming

    def unsure(self, condition: str) -> None:
        self.frame.unsure.append(condition)

    def compile(self, node: Node) -> E:
        if isinstance(node, Literal):
            if _has_escape(node.value):
                self.frame.escaped_constants = True
            if isinstance(node.value, dict | list):
                try:
                    return E(q.json_text(node.value), "json", constant=node.value, is_constant=True)
                except (TypeError, ValueError) as e:
                    raise Frame.refuse(f"literal cannot be written as JSON: {e}", node.path) from e
            return constant(node.value)
        if isinstance(node, PathRef):
            return self.path(node)
        if isinstance(node, Call):
            handler = _FUNCTIONS.get(node.name)
            if handler is None:
                raise Frame.refuse(f"function {node.name!r} is not compiled to SQL", node.path)
            return handler(self, node)
        raise Frame.refuse("unsupported expression", node.path)

    def path(self, node: PathRef) -> E:
        if node.variable == "_S" and node.steps:
            return self.source_path(node.steps, node.path)
        if node.variable == "_T" and len(node.steps) == 1:
            return self.read_target(node.steps[0], node.path)
        raise Frame.refuse(f"variable path {node.raw!r} is not compiled to SQL", node.path)

    def source_path(self, steps: tuple[str, ...], where: JsonPath) -> E:
        """``_S.steps`` as JSON text (refusing fields the stored body does not hold)."""
        if steps[0] in RESERVED_READ:
            raise Frame.refuse(f"_S.{steps[0]} is not in the stored body", where)
        if self.naming.namespaced and steps[0] == "$ids":
            raise Frame.refuse("_S.$ids with namespaced identifiers is not compiled", where)
        resolved = tuple(self.naming.source_step(step) for step in steps)
        if resolved[0] in RESERVED_READ:
            raise Frame.refuse(f"_S.{resolved[0]} is not in the stored body", where)
        return self.frame.source_value(resolved, where)[0]

    def json(self, node: Node) -> E:
        return as_json(self.compile(node))

    # -- strings ----------------------------------------------------------------------------

    def string_part(self, node: Node) -> str:
        """SQL VARCHAR: the strings ``concat`` takes from one argument ('' for non-strings)."""
        e = self.compile(node)
        if e.kind == "str":
            return e.sql
        if e.kind == "bool":
            return "''"
        if e.is_constant:
            value = e.constant if isinstance(e.constant, list) else [e.constant]
            return q.sql_str("".join(v for v in value if isinstance(v, str)))
        if self.fast:
            # null gives SQL NULL, which concat skips; anything but a plain string: interpreter
            self.unsure(f"NOT ({_fast_string(e.sql)} OR {e.sql} = 'null')")
            return f"json_extract_string({e.sql}, '$')"
        self.unsure(f"starts_with({e.sql}, '[')")  # lists are flattened: interpreter
        return f"(CASE WHEN {q.is_plain_string(e.sql)} THEN {q.raw_string(e.sql)} ELSE '' END)"

    def case_map(self, node: Call, fn: str) -> E:
        """``upper``/``lower``: strings mapped, non-strings dropped (null), ASCII only in SQL."""
        e = self.compile(node.args[0])
        if e.kind == "str":
            # Python and DuckDB case mappings differ outside ASCII (ß, final sigma ...).
            self.unsure(f"strlen({e.sql}) <> length({e.sql})")
            return E(f"{fn}({e.sql})", "str")
        if e.kind == "bool":
            return E("'null'", "json")
        if self.fast:
            # A string not starting with ~ maps to one that does not either: no ~ escape needed.
            ascii_string = f"({_fast_string(e.sql)} AND strlen({e.sql}) = length({e.sql}))"
            self.unsure(f"NOT ({ascii_string} OR {e.sql} = 'null')")
            mapped = f"CAST(to_json({fn}(json_extract_string({e.sql}, '$'))) AS VARCHAR)"
            return E(f"coalesce({mapped}, 'null')", "json", exact=False)
        raw = q.raw_string(e.sql)
        self.unsure(f"starts_with({e.sql}, '[')")
        self.unsure(f"({q.is_plain_string(e.sql)} AND strlen({e.sql}) <> length({e.sql}))")
        return E(
            f"(CASE WHEN {q.is_plain_string(e.sql)} THEN {q.string_json(f'{fn}({raw})')} "
            "ELSE 'null' END)",
            "json",
            exact=False,
        )

    def string(self, node: Call) -> E:
        """``string``: every non-null value to its text (typed values by their payload)."""
        e = self.compile(node.args[0])
        if e.kind == "str":
            return e
        if e.kind == "bool":
            return E(f"(CASE WHEN {e.sql} THEN 'true' ELSE 'false' END)", "str")
        j = e.sql
        self.unsure(f"(left({j}, 1) IN ('[', '{{') OR starts_with({j}, '\"~b'))")
        self.unsure(f"(left({j}, 1) NOT IN ('\"', 't', 'f', 'n') AND {q.risky(j)})")
        payload = f"substr(json_extract_string({j}, '$'), 3)"
        typed = " OR ".join(f"starts_with({j}, '\"~{t}')" for t in "tfru")
        return E(
            f"(CASE WHEN {j} = 'null' OR left({j}, 1) IN ('[', '{{') THEN 'null' "
            f"WHEN {q.is_plain_string(j)} THEN {j} "
            f"WHEN {typed} THEN {q.string_json(payload)} "
            f"WHEN starts_with({j}, '\"~:') THEN {q.string_json(f'json_extract_string({j}, {q.sql_str(chr(36))})')} "
            f"ELSE '\"' || {j} || '\"' END)",
            "json",
            exact=False,
        )

    # -- comparisons and logic --------------------------------------------------------------

    def eq(self, node: Call) -> E:
        a, b = (self.compile(arg) for arg in node.args)
        if a.kind == "str" and b.kind == "str":
            return E(f"({a.sql} = {b.sql})", "bool")
        if a.kind == "str" or b.kind == "str":
            s, other = (a, b) if a.kind == "str" else (b, a)
            j = as_json(other).sql
            self.unsure(f"starts_with({j}, '[')")  # eq coerces to lists: ["a"] eq "a"
            if s.is_constant and _text_comparable_constant(s.constant):
                # Canonical text without escapes: equal strings have equal text, and no other
                # value (typed values start with "~, which the constant's text does not) has it.
                return E(f"({j} = {q.json_text(s.constant)})", "bool")
            return E(f"({q.is_plain_string(j)} AND {q.raw_string(j)} = {s.sql})", "bool")
        ja, jb = as_json(a), as_json(b)
        for side in (ja, jb):
            if not (side.is_constant and _text_comparable_constant(side.constant)):
                self.unsure(f"NOT {q.text_comparable(side.sql)}")
        return E(f"({ja.sql} = {jb.sql})", "bool")

    def neq(self, node: Call) -> E:
        return E(f"(NOT {self.eq(node).sql})", "bool")

    def order(self, node: Call, op: str) -> E:
        """``gt``/``gte``/``lt``/``lte`` for two integers or two plain strings; null if a side is."""
        a, b = (self.json(arg) for arg in node.args)
        if self.fast and a.is_constant != b.is_constant:
            fast = self._order_constant(a, b, op)
            if fast is not None:
                return fast
        ints = f"({_is_int(a)} AND {_is_int(b)})"
        strs = f"({q.is_plain_string(a.sql)} AND {q.is_plain_string(b.sql)})"
        nulls = f"({a.sql} IN ('null', '[]') OR {b.sql} IN ('null', '[]'))"
        self.unsure(f"NOT ({nulls} OR {ints} OR {strs})")
        by_int = f"TRY_CAST({a.sql} AS BIGINT) {op} TRY_CAST({b.sql} AS BIGINT)"
        by_str = f"{q.raw_string(a.sql)} {op} {q.raw_string(b.sql)}"
        return E(
            f"(CASE WHEN {nulls} THEN 'null' WHEN {ints} THEN "
            f"(CASE WHEN {by_int} THEN 'true' ELSE 'false' END) "
            f"WHEN {strs} AND {by_str} THEN 'true' ELSE 'false' END)",
            "json",
        )

    def _order_constant(self, a: E, b: E, op: str) -> E | None:
        """Fast mode: a value against an integer or plain-string constant; other types flagged."""
        value, const = (b, a) if a.is_constant else (a, b)
        c = const.constant
        j = value.sql
        if isinstance(c, int) and not isinstance(c, bool) and abs(c) < 2**63:
            same_kind = _is_int(value)
            left, right = f"TRY_CAST({j} AS BIGINT)", str(c)
        elif isinstance(c, str) and _text_comparable_constant(c) and not c.startswith("~"):
            same_kind = _fast_string(j)
            left, right = f"json_extract_string({j}, '$')", q.sql_str(c)
        else:
            return None
        self.unsure(f"NOT ({j} = 'null' OR {same_kind})")
        if a.is_constant:
            left, right = right, left
        return E(
            f"(CASE WHEN {j} = 'null' THEN 'null' WHEN {left} {op} {right} THEN 'true' "
            "ELSE 'false' END)",
            "json",
        )

    def logic(self, node: Call, op: str) -> E:
        parts = [as_bool(self.compile(arg)) for arg in node.args]
        joined = f" {op} ".join(f"({p})" for p in parts)
        return E(f"({joined})", "bool")

    def not_(self, node: Call) -> E:
        return E(f"(NOT {self.logic(node, 'AND').sql})", "bool")

    def is_null(self, node: Call, negate: bool) -> E:
        e = self.compile(node.args[0])
        test = q.is_null_like(e.sql) if e.kind == "json" else "false"
        return E(f"(NOT {test})" if negate else test, "bool")

    # -- conditionals and nulls -------------------------------------------------------------

    def if_(self, node: Call) -> E:
        condition = as_bool(self.compile(node.args[0]))
        branches = [self.compile(arg) for arg in node.args[1:]]
        if len(branches) == 1:
            branches.append(E("'null'", "json"))
        then, otherwise = _same_kind(branches)
        return E(
            f"(CASE WHEN {condition} THEN {then.sql} ELSE {otherwise.sql} END)",
            then.kind,
            exact=then.exact and otherwise.exact,
        )

    def case(self, node: Call) -> E:
        args = node.args
        conditions = [as_bool(self.compile(args[i])) for i in range(0, len(args) - 1, 2)]
        values = [self.compile(args[i]) for i in range(1, len(args), 2)]
        values.append(self.compile(args[-1]) if len(args) % 2 else E("'null'", "json"))
        values = _same_kind(values)
        whens = " ".join(f"WHEN {c} THEN {v.sql}" for c, v in zip(conditions, values, strict=False))
        return E(
            f"(CASE {whens} ELSE {values[-1].sql} END)",
            values[0].kind,
            exact=all(v.exact for v in values),
        )

    def first_non_null(self, parts: list[E]) -> E:
        """The first part that is not DTL null (strings and booleans never are)."""
        whens: list[str] = []
        exact = True
        for part in parts:
            if part.kind != "json":
                j = as_json(part)
                return self._first(whens, j.sql, exact and j.exact)
            exact = exact and part.exact
            whens.append(f"WHEN {part.sql} <> 'null' THEN {part.sql}")
        return self._first(whens, "'null'", exact)

    @staticmethod
    def _first(whens: list[str], last: str, exact: bool) -> E:
        if not whens:
            return E(last, "json", exact=exact)
        return E(f"(CASE {' '.join(whens)} ELSE {last} END)", "json", exact=exact)

    def coalesce(self, node: Call) -> E:
        if len(node.args) != 1:
            raise Frame.refuse("coalesce with a FUNCTION is not compiled to SQL", node.path)
        (arg,) = node.args
        if isinstance(arg, Call) and arg.name == "list":
            return self.first_non_null([self.compile(a) for a in arg.args])
        e = self.json(arg)
        self.unsure(f"starts_with({e.sql}, '[')")
        return e

    def if_null(self, node: Call) -> E:
        value, fallback = (self.json(a) for a in node.args)
        return E(
            f"(CASE WHEN {q.is_null_like(value.sql)} THEN {fallback.sql} ELSE {value.sql} END)",
            "json",
            exact=value.exact and fallback.exact,
        )

    def list_(self, node: Call) -> E:
        parts = [self.json(a) for a in node.args]
        if not parts:
            return E("'[]'", "json", constant=[], is_constant=True)
        inner = ", ".join(p.sql for p in parts)
        return E(f"('[' || concat_ws(',', {inner}) || ']')", "json", all(p.exact for p in parts))

    def concat(self, node: Call) -> E:
        parts = [self.string_part(a) for a in node.args]
        return E(f"concat({', '.join(parts)})", "str")


def _is_int(e: E) -> str:
    """SQL: the JSON text is an integer that fits BIGINT (decided in Python for constants)."""
    if e.is_constant:
        value = e.constant
        exact = isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63
        return "true" if exact else "false"
    # JSON number text casts to BIGINT iff it is a number in range (strings, literals, lists
    # and dicts do not cast); it is an integer iff it has no fraction or exponent. Cheaper than
    # the text round trip CAST(CAST(j AS BIGINT) AS VARCHAR) = j.
    j = e.sql
    return (
        f"(TRY_CAST({j} AS BIGINT) IS NOT NULL AND NOT contains({j}, '.') "
        f"AND NOT contains({j}, 'e') AND NOT contains({j}, 'E'))"
    )


def _has_escape(value: Any) -> bool:
    """Whether Python writes a ``\\u00XX`` escape somewhere in the constant (not a float)."""
    try:
        return "\\u00" in canonical_json(value)
    except (TypeError, ValueError):
        return False  # refused as a literal anyway


def _fast_string(j: str) -> str:
    """SQL: ``j`` is a plain string not starting with ``~`` (its raw text needs no unescaping)."""
    return f"(starts_with({j}, '\"') AND NOT starts_with({j}, '\"~'))"


def _text_comparable_constant(value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, str):
        text = canonical_json(value)
        return "\\" not in text and (not value.startswith("~") or text.startswith('"~~'))
    return isinstance(value, int) and abs(value) < 10**18


_FUNCTIONS: dict[str, Callable[[ExprCompiler, Call], E]] = {
    "concat": ExprCompiler.concat,
    "upper": lambda c, n: c.case_map(n, "upper"),
    "lower": lambda c, n: c.case_map(n, "lower"),
    "string": ExprCompiler.string,
    "eq": ExprCompiler.eq,
    "neq": ExprCompiler.neq,
    "gt": lambda c, n: c.order(n, ">"),
    "gte": lambda c, n: c.order(n, ">="),
    "lt": lambda c, n: c.order(n, "<"),
    "lte": lambda c, n: c.order(n, "<="),
    "and": lambda c, n: c.logic(n, "AND"),
    "or": lambda c, n: c.logic(n, "OR"),
    "not": ExprCompiler.not_,
    "is-null": lambda c, n: c.is_null(n, False),
    "is-not-null": lambda c, n: c.is_null(n, True),
    "if": ExprCompiler.if_,
    "case": ExprCompiler.case,
    "coalesce": ExprCompiler.coalesce,
    "coalesce-args": lambda c, n: c.first_non_null([c.compile(a) for a in n.args]),
    "if-null": ExprCompiler.if_null,
    "list": ExprCompiler.list_,
    "datetime-parse": datetime_parse,
    "hops": compile_hops,
    **ENRICH_FUNCTIONS,
    **LIST_FUNCTIONS,  # after ENRICH_FUNCTIONS: its join extends theirs
    **STRING_FUNCTIONS,
}
"""The expression functions compiled to SQL (DTL spelling)."""
