"""The typed syntax tree of DTL: what the parser produces and the compiler consumes.

Every node keeps its :class:`~engine.errors.JsonPath` (where it sits in the pipe config) and its
``raw`` JSON (for error snippets and for functions such as ``hops`` that re-read their spec).
Nodes are frozen; they are built once per pipe run and never mutated.

The parser is context free: whether a JSON list is an expression, a list of transforms or a
mistake depends on the position, which only the compiler knows. So a list that does not start
with a function name becomes a :class:`Seq`, and a malformed path string becomes an
:class:`Invalid` node; the compiler turns either into a ``DtlSyntaxError`` where it is not
allowed. ``comment`` and ``literal`` never compile their arguments, so garbage inside them is fine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

from engine.errors import JsonPath

__all__ = ["Call", "Invalid", "Literal", "Node", "PathRef", "Seq"]


@dataclass(frozen=True, slots=True, eq=False)
class Literal:
    """A constant: number, boolean, null, a non-path string (transit-decoded) or a dict."""

    value: Any
    raw: Any
    path: JsonPath


@dataclass(frozen=True, slots=True, eq=False)
class PathRef:
    """A variable path such as ``"_S.a.b"``: ``variable`` is ``"_S"`` (or a hops alias)."""

    variable: str
    steps: tuple[str, ...]
    raw: Any
    path: JsonPath


@dataclass(frozen=True, slots=True, eq=False)
class Call:
    """A function call ``[name, arg, ...]``; the kind (transform or expression) is positional."""

    name: str
    args: tuple[Node, ...]
    raw: Any
    path: JsonPath


@dataclass(frozen=True, slots=True, eq=False)
class Seq:
    """A JSON list that does not start with a name: a list of transforms, or a syntax error."""

    items: tuple[Node, ...]
    raw: Any
    path: JsonPath


@dataclass(frozen=True, slots=True, eq=False)
class Invalid:
    """Something the parser could not read (e.g. an unterminated quote in a path)."""

    message: str
    raw: Any
    path: JsonPath


Node: TypeAlias = Literal | PathRef | Call | Seq | Invalid
