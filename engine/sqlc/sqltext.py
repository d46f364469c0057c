"""SQL snippets over canonical JSON text: the vocabulary the DTL→SQL compiler builds with.

Every DTL value in a compiled query is held as the *canonical JSON text* our Python side writes
(:func:`engine.entity.canonical_json`: sorted keys, compact, transit strings, ``~`` escaped as
``~~``). The predicates here classify such text without parsing it where possible, because the
compiler must know a value's DTL type to pick exact semantics:

* a *plain string* is a JSON string that is not a transit value: ``"abc"`` or ``"~~x"`` (the
  literal ``~x``); ``"~t..."``, ``"~f..."``, ``"~:..."`` ... are typed values, never strings;
* *risky* text is text DuckDB's JSON writer (yyjson) may spell differently from Python's
  ``json.dumps``: numbers in exponent form or beyond the range Python writes without exponent,
  and ``\\u00XX`` escapes (yyjson writes upper-case hex). Rows holding risky values go to the
  interpreter; everything else is byte-identical (checked by the differential tests).
"""

from __future__ import annotations

import json
from typing import Any

from engine.entity import canonical_json

__all__ = [
    "EXPONENT",
    "FLOAT_RISK",
    "is_null_like",
    "is_plain_string",
    "json_path",
    "json_text",
    "key_text",
    "path_safe",
    "raw_string",
    "risky",
    "risky_output",
    "risky_source",
    "sql_str",
    "string_json",
    "text_comparable",
    "truthy",
]

FLOAT_RISK = r"[0-9][eE]|(^|[^0-9.])0\.0000|[0-9]{17}\."
"""Number spellings where yyjson and Python's ``repr`` may differ (exponents, tiny, huge)."""

EXPONENT = r"[0-9]e[-+][0-9]"
"""A number in exponent form as Python writes it (``1e+16``, ``1.5e-07``): the only floats whose
yyjson spelling differs (every float Python writes without an exponent is spelled alike)."""


def sql_str(text: str) -> str:
    """A SQL string literal.

    >>> sql_str("it's")
    "'it''s'"
    """
    return "'" + text.replace("'", "''") + "'"


def json_text(value: Any) -> str:
    """The canonical JSON text of a (typed) DTL value as a SQL literal."""
    return sql_str(canonical_json(value))


def key_text(key: str) -> str:
    """The JSON text of an object key, as Python's ``json.dumps`` writes it (not SQL-quoted)."""
    return json.dumps(key, ensure_ascii=False)


def path_safe(key: str) -> bool:
    """Whether DuckDB's quoted JSON path ``$."key"`` reads exactly this key."""
    return key != "" and not any(c in key for c in '"\\') and all(ord(c) >= 0x20 for c in key)


def json_path(steps: tuple[str, ...]) -> str:
    """A DuckDB JSON path for property steps (callers check :func:`path_safe` first).

    >>> json_path(("a", "b.c"))
    '$."a"."b.c"'
    """
    return "$" + "".join(f'."{s}"' for s in steps)


def is_plain_string(j: str) -> str:
    """SQL: the JSON text ``j`` is a DTL string (not a transit-typed value)."""
    return f"(starts_with({j}, '\"') AND (NOT starts_with({j}, '\"~') OR starts_with({j}, '\"~~')))"


def raw_string(j: str) -> str:
    """SQL: the DTL string held by the plain-string JSON text ``j`` (``"~~x"`` is ``~x``)."""
    return (
        f"(CASE WHEN starts_with({j}, '\"~~') THEN substr(json_extract_string({j}, '$'), 2) "
        f"ELSE json_extract_string({j}, '$') END)"
    )


def string_json(s: str) -> str:
    """SQL: the canonical JSON text of the raw VARCHAR ``s`` (a leading ``~`` is escaped).

    The escape is a prefix test rather than an anchored ``regexp_replace`` (a third cheaper per
    row); DuckDB evaluates the repeated ``s`` once (common subexpression elimination).
    """
    return f"CAST(to_json(CASE WHEN starts_with({s}, '~') THEN '~' || {s} ELSE {s} END) AS VARCHAR)"


def truthy(j: str) -> str:
    """SQL: DTL truthiness of JSON text (only ``false``, ``null`` and ``[]`` are false)."""
    return f"({j} NOT IN ('null', 'false', '[]'))"


def is_null_like(j: str) -> str:
    """SQL: ``is-null`` of JSON text: null, ``[]`` or a list whose first element is null."""
    return f"({j} IN ('null', '[]', '[null]') OR starts_with({j}, '[null,'))"


def text_comparable(j: str) -> str:
    """SQL: JSON text whose DTL equality with other such text is byte equality.

    Null, booleans, plain strings without escapes, and integers that fit 18 digits. Floats,
    decimals, lists (``eq`` coerces to lists), dicts and escaped strings are not.
    """
    return (
        f"({j} IN ('null', 'true', 'false') "
        f"OR ({is_plain_string(j)} AND NOT contains({j}, '\\')) "
        f"OR regexp_full_match({j}, '-?[0-9]{{1,18}}'))"
    )


def risky_output(body: str, source: str) -> str:
    """SQL: an output body DuckDB may have spelled differently from Python.

    Copied values are re-serialised by yyjson, which differs from ``json.dumps`` only for floats
    Python writes with an exponent (found in the *source* text, with a cheap literal pre-check)
    and for ``\\u00XX`` escapes (upper-case hex; found in the output).
    """
    exponent = (
        f"(CASE WHEN regexp_matches({source}, 'e[-+][0-9]') "
        f"THEN regexp_matches({source}, {sql_str(EXPONENT)}) ELSE false END)"
    )
    return f"(contains({body}, '\\u00') OR {exponent})"


def risky_source(source: str) -> str:
    """SQL: a source body whose values yyjson may respell, when no constant holds an escape.

    Every ``\\u00XX`` escape in an output body written by DuckDB then comes from a source
    value (a control character survives extraction, ``upper``/``lower`` and ``concat`` and is
    escaped again), so one scan of the source replaces the scan of the output (tested on every
    code point below U+0800 and the special ones above: each respelling had ``\\u00`` in the
    source).
    """
    exponent = (
        f"(CASE WHEN regexp_matches({source}, 'e[-+][0-9]') "
        f"THEN regexp_matches({source}, {sql_str(EXPONENT)}) ELSE false END)"
    )
    return f"(contains({source}, '\\u00') OR {exponent})"


def risky(j: str) -> str:
    """SQL: JSON text that yyjson may spell differently from Python (see the module notes)."""
    return (
        f"(CASE left({j}, 1) WHEN '\"' THEN contains({j}, '\\u00') "
        f"WHEN 't' THEN false WHEN 'f' THEN false WHEN 'n' THEN false "
        f"ELSE contains({j}, '\\u00') OR regexp_matches({j}, {sql_str(FLOAT_RISK)}) END)"
    )
