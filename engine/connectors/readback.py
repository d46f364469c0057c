"""How a record the hub sends reads back from the system: a share's ``compare`` paths, inverted.

A share sink compares what it would send with the record as collected through ``compare``: a
payload field mapped to a JMESPath into the record (Wave's ``currency`` is ``currency.code``,
its ``address`` a multiselect of ``address.*`` paths, invoice ``items`` a projection of
``items[].{productId: product.id, ...}``). A field without a path reads back under its own name.
A reconcile converges only because reading a sent record back through those paths gives what
was sent; so running the paths backwards turns a sent body into the record a later collect
would see, which is what the plan's overlay needs (``engine.connectors.overlay``).

Only paths that have one inverse are inverted: fields, ``a.b.c``, multiselect objects of such
paths, and ``list[].{...}`` / ``list[]`` projections. Any other expression (a function, a
filter) leaves the field under its own name, so the plan may then see a difference the
reconcile would not.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import jmespath

__all__ = ["NotInvertible", "invert", "read_back"]


class NotInvertible(ValueError):
    """The expression does not say where one value came from."""


def read_back(body: Mapping[str, Any], compare: Mapping[str, str]) -> dict[str, Any]:
    """The record a system holds after ``body`` was written, as ``compare`` reads it.

    >>> read_back({"name": "A", "currency": "NOK"}, {"currency": "currency.code"})
    {'name': 'A', 'currency': {'code': 'NOK'}}
    """
    out: dict[str, Any] = {}
    placed: dict[str, Any] = {}
    for key, value in body.items():
        expression = compare.get(key)
        if expression is None:
            out[key] = copy.deepcopy(value)
            continue
        try:
            invert(jmespath.compile(expression).parsed, value, placed)
        except NotInvertible:
            out[key] = copy.deepcopy(value)
    return _merge(out, placed)


def invert(node: Mapping[str, Any], value: Any, target: dict[str, Any]) -> None:
    """Write ``value`` into ``target`` so that evaluating ``node`` on ``target`` gives it back."""
    kind = node.get("type")
    if kind in ("field", "subexpression"):
        _set(target, _path(node), copy.deepcopy(value))
    elif kind == "multi_select_dict":
        if value is not None and not isinstance(value, Mapping):
            raise NotInvertible(f"a multiselect object needs an object, got {value!r}")
        for pair in node["children"]:
            invert(pair["children"][0], (value or {}).get(pair["value"]), target)
    elif kind == "projection":
        left, right = node["children"]
        if left.get("type") == "flatten":
            left = left["children"][0]
        if value is not None and not isinstance(value, list):
            raise NotInvertible(f"a projection needs a list, got {value!r}")
        items = []
        for element in value or []:
            if right.get("type") == "identity":
                items.append(copy.deepcopy(element))
                continue
            one: dict[str, Any] = {}
            invert(right, element, one)
            items.append(one)
        _set(target, _path(left), items)
    else:
        raise NotInvertible(f"cannot invert a JMESPath {kind!r}")


def _path(node: Mapping[str, Any]) -> list[str]:
    if node.get("type") == "field":
        return [str(node["value"])]
    if node.get("type") == "subexpression":
        return [part for child in node["children"] for part in _path(child)]
    raise NotInvertible(f"cannot invert a JMESPath {node.get('type')!r}")


def _set(target: dict[str, Any], path: list[str], value: Any) -> None:
    for part in path[:-1]:
        child = target.get(part)
        if not isinstance(child, dict):
            child = target[part] = {}
        target = child
    target[path[-1]] = value


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        old = base.get(key)
        if isinstance(old, dict) and isinstance(value, Mapping):
            _merge(old, value)
        else:
            base[key] = value
    return base
