"""Wildcard property patterns of ``copy`` and ``remove`` (``*`` any text, ``?`` one character).

Every other character is literal (no fnmatch ``[...]`` classes) and a pattern must match the whole
name. With namespaced identifiers on, matching is per namespace, split at the last colon: a
pattern without a colon matches the identifier part of every key (``"age"`` matches ``x:age``),
``"x*:*e"`` matches namespace and identifier separately, and ``"::x"`` matches ``x`` exactly.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from engine.dtl.env import RunContext
from engine.dtl.namespaces import split_name
from engine.dtl.values import as_list
from engine.errors import DtlEvalError

__all__ = ["Selector", "selector"]


def _pattern_name(value: Any) -> str:
    if not isinstance(value, str):
        raise DtlEvalError(
            f"a copy/remove pattern must be a string, got {type(value).__name__} {value!r}"
        )
    return value


@lru_cache(maxsize=512)
def _wildcard(pattern: str) -> re.Pattern[str]:
    parts: list[str] = []
    for ch in pattern:
        parts.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
    return re.compile("".join(parts), re.DOTALL)


@lru_cache(maxsize=512)
def _matcher(pattern: str, namespaced: bool) -> Callable[[str], bool]:
    """A key predicate for a wildcard pattern; namespace aware splits at the last colon."""
    if not namespaced:
        whole = _wildcard(pattern)
        return lambda key: whole.fullmatch(key) is not None
    if pattern.startswith("::"):
        exact = _wildcard(pattern[2:])
        return lambda key: exact.fullmatch(key) is not None
    pattern_ns, pattern_id = split_name(pattern)
    ident = _wildcard(pattern_id)
    if pattern_ns is None:
        return lambda key: ident.fullmatch(split_name(key)[1]) is not None
    space = _wildcard(pattern_ns)

    def qualified(key: str) -> bool:
        key_ns, key_id = split_name(key)
        return (
            key_ns is not None
            and space.fullmatch(key_ns) is not None
            and ident.fullmatch(key_id) is not None
        )

    return qualified


class Selector:
    """Which keys a copy/remove pattern set selects; remembers answers per key name.

    Datasets repeat the same few keys in every entity, so the memo turns the wildcard matching
    into one dict lookup per key after the first entity (it stops growing at 4096 names).
    """

    __slots__ = ("_exclude", "_include", "_memo", "everything", "exact")

    def __init__(self, include: tuple[str, ...], exclude: tuple[str, ...], ns: bool) -> None:
        self._include = [_matcher(p, ns) for p in include]
        self._exclude = [_matcher(p, ns) for p in exclude]
        self._memo: dict[str, bool] = {}
        self.everything = not exclude and "*" in include
        wild = any(c in p for p in include for c in "*?")
        self.exact: tuple[str, ...] | None = None if ns or wild or exclude else include
        """The literal names selected, when no pattern needs matching."""

    def __call__(self, key: str) -> bool:
        hit = self._memo.get(key)
        if hit is None:
            hit = any(m(key) for m in self._include) and not any(m(key) for m in self._exclude)
            if len(self._memo) < 4096:
                self._memo[key] = hit
        return hit


@lru_cache(maxsize=256)
def _cached(include: tuple[str, ...], exclude: tuple[str, ...], ns: bool) -> Selector:
    return Selector(include, exclude, ns)


def _pattern_names(value: Any) -> tuple[str, ...]:
    return tuple(_pattern_name(p) for p in as_list(value))


@lru_cache(maxsize=256)
def _cached_single(include: str, exclude: str | None, ns: bool) -> Selector:
    return _cached((include,), () if exclude is None else (exclude,), ns)


def selector(include: Any, exclude: Any, ctx: RunContext) -> Selector:
    """The (cached) selector for INCLUDE/EXCLUDE patterns: one string or a list of strings."""
    ns = ctx.namespaced_identifiers
    if type(include) is str and (exclude is None or type(exclude) is str):
        return _cached_single(include, exclude, ns)  # the common case, without list building
    return _cached(_pattern_names(include), _pattern_names(exclude), ns)
