"""Path traversal: ``"_S.a.b"``, ``["path", ...]`` and the hops alias paths, namespace aware.

Semantics (sesam-hub.md §5.3, §5.4, §7.4, §10.8):

* Each element looks up a property of a dict. A list is traversed element by element and the
  results are flattened one level; elements without the property are left out. A missing
  property, or a step into a scalar, gives ``null``.
* With ``namespaced_identifiers`` on, an unqualified element (no colon, not starting with ``_``
  or ``$``) matches that identifier in every namespace (``name`` finds ``a:name`` and ``name``);
  several matches are unioned (flattened, distinct, in key order). ``"::x"`` means exactly ``x``;
  ``":x"`` means the pipe's property namespace, ``"P:x"``. A qualified element is exact.
* ``$ids`` is dynamic: on an entity without ``$ids`` and with namespaced identifiers on, it is
  ``[NI(_id)]``: a namespaced ``_id`` ``"crm-person:100"`` gives ``~:crm-person:100``, an
  un-namespaced ``"100"`` gives ``~:<identity-ns>:100``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.dtl.env import RunContext
from engine.dtl.values import order_key
from engine.entity import NI

__all__ = ["dynamic_ids", "lookup", "resolve_name", "walk"]


def resolve_name(step: str, ctx: RunContext) -> tuple[str, bool]:
    """The property name an element means and whether it is exact (vs every namespace).

    >>> ctx = RunContext(pipe_id="p", namespaced_identifiers=True)
    >>> resolve_name("::age", ctx), resolve_name(":age", ctx), resolve_name("age", ctx)
    (('age', True), ('p:age', True), ('age', False))
    """
    if not ctx.namespaced_identifiers:
        return step, True
    if step.startswith("::"):
        return step[2:], True
    if step.startswith(":"):
        return f"{ctx.property_ns}:{step[1:]}", True
    if ":" in step or step[:1] in ("_", "$"):
        return step, True
    return step, False


def dynamic_ids(entity: dict[str, Any], ctx: RunContext) -> Any:
    """``$ids`` of an entity as DTL sees it: stored, or ``[NI(_id)]`` when NIs are on."""
    if "$ids" in entity or not ctx.namespaced_identifiers:
        return entity.get("$ids")
    entity_id = entity.get("_id")
    if not isinstance(entity_id, str):
        return None
    if ":" in entity_id:
        return [NI.parse(entity_id)]
    return [NI(ctx.identity_ns, entity_id)]


def lookup(obj: dict[str, Any], step: str, ctx: RunContext) -> Any:
    """One element of a path on one dict (namespace aware when NIs are on)."""
    name, exact = resolve_name(step, ctx)
    if exact:
        return obj.get(name)
    matches = [obj[k] for k in matching_keys(obj, name)]
    if not matches:
        return None
    if len(matches) == 1:
        return matches[0]
    flat: list[Any] = []
    for value in matches:
        if isinstance(value, list):
            flat.extend(value)
        elif value is not None:
            flat.append(value)
    seen: set[Any] = set()
    out = []
    for value in flat:
        key = order_key(value)
        if key not in seen:
            seen.add(key)
            out.append(value)
    return out


_MEMO_LIMIT = 8192
_matching_memo: dict[tuple[str, tuple[str, ...]], tuple[str, ...]] = {}


def matching_keys(obj: dict[str, Any], name: str) -> tuple[str, ...]:
    """The keys of ``obj`` an unqualified ``name`` matches (``name`` itself or ``*:name``).

    Remembered per key layout: the entities of a dataset share a few layouts, and the suffix
    scan over every key, per property read, was the larger part of enrich pipes with
    namespaced identifiers. ``tuple(obj)`` (keys in order) identifies the layout, so the
    answer, in dict order, is the scan's. The memo stops growing at ``_MEMO_LIMIT`` layouts.
    """
    layout = tuple(obj)
    memo_key = (name, layout)
    keys = _matching_memo.get(memo_key)
    if keys is None:
        suffix = ":" + name
        keys = tuple(k for k in layout if k == name or k.endswith(suffix))
        if len(_matching_memo) < _MEMO_LIMIT:
            _matching_memo[memo_key] = keys
    return keys


def walk(value: Any, steps: Sequence[str], ctx: RunContext, entity_root: bool = False) -> Any:
    """Follow ``steps`` from ``value``; ``entity_root`` enables the dynamic ``$ids``."""
    plain = not ctx.namespaced_identifiers
    for index, step in enumerate(steps):
        if value is None:
            return None
        if isinstance(value, dict):
            if index == 0 and entity_root and step == "$ids":
                value = dynamic_ids(value, ctx)
            elif plain:
                value = value.get(step)
            else:
                value = lookup(value, step, ctx)
        elif isinstance(value, list):
            out: list[Any] = []
            for element in value:
                if isinstance(element, dict):
                    if index == 0 and entity_root and step == "$ids":
                        found = dynamic_ids(element, ctx)
                    else:
                        found = element.get(step) if plain else lookup(element, step, ctx)
                    if found is None:
                        continue
                    if isinstance(found, list):
                        out.extend(found)
                    else:
                        out.append(found)
            value = out
        else:
            return None
    return value
