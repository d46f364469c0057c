"""Parse raw DTL JSON into the typed nodes of :mod:`engine.dtl.nodes`.

Design notes
------------
* A JSON list starting with a string is a :class:`Call`; any other list is a :class:`Seq` (a list
  of transforms, or an error the compiler reports where it is not allowed).
* A string is a variable path when it is exactly a variable (``"_S"``, ``"_T"``, ``"_P"``,
  ``"_R"``, ``"_B"``, ``"_"``) or starts with one followed by a dot (``"_S."`` is the whole
  value). Inside ``hops`` the dataset aliases are variables too (``"o.cust_id"``), so the parser
  takes the set of aliases in scope. Every other string is a literal, transit-decoded
  (``"~t2015-01-01"`` is a date).
* Path elements are separated by dots; an element may be single-quoted to hold dots, with ``''``
  for a quote: ``"_S.foo.'john.doe''s'.bar"`` is ``foo`` / ``john.doe's`` / ``bar``.
* Dicts are constants (transit-decoded), never templates.
"""

from __future__ import annotations

from typing import Any

from engine.dtl.nodes import Call, Invalid, Literal, Node, PathRef, Seq
from engine.entity import decode
from engine.errors import JsonPath

__all__ = ["VARIABLES", "parse", "parse_path_steps", "path_variable"]

_ROOT = JsonPath()
VARIABLES = frozenset({"_S", "_T", "_P", "_R", "_B", "_"})


def path_variable(text: str, aliases: frozenset[str] = frozenset()) -> str | None:
    """The variable a string starts with if it is a variable path, else ``None``.

    >>> path_variable("_S.a.b"), path_variable("_Sa"), path_variable("_")
    ('_S', None, '_')
    """
    head = text.partition(".")[0]
    if head in VARIABLES or head in aliases:
        return head
    return None


def parse_path_steps(text: str) -> tuple[str, ...]:
    """Split the part after the variable into elements, honouring single quotes.

    >>> parse_path_steps("foo.'john.doe''s'.bar")
    ('foo', "john.doe's", 'bar')

    Raises ValueError with a human message for an unterminated quote or an empty element.
    """
    if text == "":
        return ()
    steps: list[str] = []
    i, n = 0, len(text)
    while True:
        if i < n and text[i] == "'":
            buf: list[str] = []
            i += 1
            while True:
                if i >= n:
                    raise ValueError("unterminated quote in path element")
                if text[i] == "'":
                    if i + 1 < n and text[i + 1] == "'":
                        buf.append("'")
                        i += 2
                        continue
                    i += 1
                    break
                buf.append(text[i])
                i += 1
            steps.append("".join(buf))
            if i < n and text[i] != ".":
                raise ValueError("a quoted path element must be followed by '.' or end the path")
        else:
            j = text.find(".", i)
            end = n if j < 0 else j
            step = text[i:end]
            if step == "":
                raise ValueError("empty path element")
            steps.append(step)
            i = end
        if i >= n:
            return tuple(steps)
        i += 1  # the dot
        if i >= n:
            raise ValueError("a path cannot end with '.'")


def parse(raw: Any, path: JsonPath = _ROOT, aliases: frozenset[str] = frozenset()) -> Node:
    """Parse one raw DTL value (expression, transform or list of transforms) into a node."""
    if isinstance(raw, str):
        return _parse_string(raw, path, aliases)
    if isinstance(raw, list):
        if raw and isinstance(raw[0], str):
            args = tuple(parse(a, path / i, aliases) for i, a in enumerate(raw[1:], 1))
            return Call(raw[0], args, raw, path)
        items = tuple(parse(a, path / i, aliases) for i, a in enumerate(raw))
        return Seq(items, raw, path)
    return Literal(decode(raw), raw, path)


def _parse_string(raw: str, path: JsonPath, aliases: frozenset[str]) -> Node:
    variable = path_variable(raw, aliases)
    if variable is None:
        return Literal(decode(raw), raw, path)
    rest = raw[len(variable) + 1 :]
    try:
        steps = parse_path_steps(rest)
    except ValueError as e:
        return Invalid(f"bad variable path {raw!r}: {e}", raw, path)
    return PathRef(variable, steps, raw, path)
