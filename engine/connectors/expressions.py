"""JMESPath expressions of a system's operations, compiled once per expression text."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

import jmespath

__all__ = ["expression"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # JMESPath's unquoted-string


@functools.lru_cache(maxsize=256)
def expression(text: str) -> Callable[[Any], Any]:
    """A JMESPath expression as a function of one value, compiled once.

    Why: a collect evaluates the id and modification expressions of every record it lists, and
    ``jmespath.search`` walks its parser cache and tree interpreter each time (a few µs); nearly
    all of them are one plain field name, which is a ``get`` (``None`` on a value without one,
    as JMESPath's field lookup answers).
    """
    if not _IDENTIFIER.fullmatch(text):
        return jmespath.compile(text).search

    def field(value: Any) -> Any:
        try:
            return value.get(text)
        except AttributeError:
            return None

    return field
