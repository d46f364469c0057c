"""DTL dict functions: ``dict``, ``has-key``, ``items``, ``keys``, ``values``, ``key-values``.

``dict`` has three shapes decided by the argument count: none (``{}``), one (a list of
``[key, value]`` pairs) or key/value pairs; the last key wins. The accessors take a dict or a
list of dicts and ignore everything else. ``is-dict`` lives with the other type predicates and
``apply-ns`` with the core.
"""

from __future__ import annotations

from typing import Any

from engine.dtl.registry import SpecCollector
from engine.dtl.values import as_list, first_value
from engine.errors import DtlEvalError

FUNCTIONS = SpecCollector()


@FUNCTIONS.expression("dict", min_args=0, max_args=None)
def dict_(*args: Any) -> dict[str, Any]:
    """Build a dict from nothing, from key/value pairs, or from K1, V1, K2, V2 ...

    ``dict()`` → ``{}``; ``dict(ITEMS)`` builds a dict from ``[key, value]`` pairs (other
    values ignored); ``dict(K1, V1, K2, V2 ...)`` from key/value arguments. The last key wins;
    non-string keys are ignored."""
    out: dict[str, Any] = {}
    if len(args) == 1:
        source = args[0]
        if isinstance(source, dict):
            return dict(source)
        for pair in as_list(source):
            if isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str):
                out[pair[0]] = pair[1]
        return out
    if len(args) % 2:
        raise DtlEvalError(f"dict: expected 0, 1 or an even number of arguments, got {len(args)}")
    for key, value in zip(args[::2], args[1::2], strict=True):
        k = first_value(key)
        if isinstance(k, str):
            out[k] = value
    return out


@FUNCTIONS.expression("has-key", min_args=2, max_args=2)
def has_key(key: Any, value: Any) -> Any:
    """Whether a dict has a key (null for a non-dict).

    ``has-key(KEY, DICT)``: true if the dict (or the first element of a list) has KEY; null
    when that is not a dict."""
    d = first_value(value)
    if not isinstance(d, dict):
        return None
    k = first_value(key)
    return isinstance(k, str) and k in d


def _dicts(values: Any) -> list[dict[str, Any]]:
    return [d for d in as_list(values) if isinstance(d, dict)]


@FUNCTIONS.expression("items", min_args=1, max_args=1)
def items(values: Any) -> list[list[Any]]:
    """``[key, value]`` pairs of every dict in DICTS; non-dicts are ignored."""
    return [[k, v] for d in _dicts(values) for k, v in d.items()]


@FUNCTIONS.expression("keys", min_args=1, max_args=1)
def keys(values: Any) -> list[str]:
    """The keys of every dict in DICTS (duplicates kept); non-dicts are ignored."""
    return [k for d in _dicts(values) for k in d]


@FUNCTIONS.expression("values", min_args=1, max_args=1)
def values_(values: Any) -> list[Any]:
    """The values of every dict in DICTS; non-dicts are ignored."""
    return [v for d in _dicts(values) for v in d.values()]


@FUNCTIONS.expression("key-values", min_args=1, max_args=1)
def key_values(values: Any) -> Any:
    """The pairs of dicts as ``{"key": k, "value": v}`` dicts.

    ``{"key": k, "value": v}`` per pair of every dict in DICTS. A single dict with a single
    pair gives a single dict (``{"hello": "world"}`` → ``{"key": "hello", "value": "world"}``)."""
    out = [{"key": k, "value": v} for d in _dicts(values) for k, v in d.items()]
    if isinstance(values, dict) and len(out) == 1:
        return out[0]
    return out
