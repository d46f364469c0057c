"""Namespaced identifiers on whole entities: ``add_namespaces``, ``remove_namespaces``, ``apply-ns``.

Semantics (sesam-hub.md §5.4, §5.6 Dicts, §7.2):

* ``add_namespaces`` (before the first transform) prefixes every property key with
  ``<property-ns>:`` and the ``_id`` *value* with ``<identity-ns>:``, recursively into nested
  dicts (also inside lists). Keys starting with ``_`` or ``$`` are skipped (kept, their values
  untouched), except that ``_id`` gets its value prefixed.
* ``remove_namespaces`` (after the last transform) strips the namespace (up to the last colon)
  from the ``_id`` value, from every key, and turns NI values into their identifier string.
  When two keys collapse to the same name the later one in the entity wins.
* ``apply-ns`` exposes ``add_namespaces`` to DTL with a config dict:
  ``property_namespace``, ``identity_namespace``, ``skip_underscore`` (true), ``skip_dollar``
  (true), ``recursive`` (true). A plain string configures both namespaces.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.entity import NI, Entity

__all__ = ["NamespaceConfig", "add_namespaces", "qualify", "remove_namespaces", "split_name"]


@dataclass(frozen=True, slots=True)
class NamespaceConfig:
    """How ``add_namespaces``/``apply-ns`` prefix keys and the ``_id`` value."""

    identity: str
    property: str
    skip_underscore: bool = True
    skip_dollar: bool = True
    recursive: bool = True


def split_name(name: str) -> tuple[str | None, str]:
    """``"ns:id"`` → ``("ns", "id")`` at the last colon; ``"id"`` → ``(None, "id")``.

    >>> split_name("a:b:c"), split_name("age")
    (('a:b', 'c'), (None, 'age'))
    """
    ns, sep, ident = name.rpartition(":")
    return (ns, ident) if sep else (None, name)


def qualify(name: str, namespace: str) -> str:
    """A property name as ``add``/``default`` write it with NIs on (sesam-hub.md §5.4).

    ``"::x"`` is exactly ``x``, ``":x"`` and an unqualified ``x`` get ``namespace``, a
    qualified name and ``_``/``$`` names are kept.

    >>> qualify("age", "p"), qualify("::age", "p"), qualify(":age", "p"), qualify("x:age", "p")
    ('p:age', 'age', 'p:age', 'x:age')
    """
    if name.startswith("::"):
        return name[2:]
    if name.startswith(":"):
        return f"{namespace}{name}"
    if ":" in name or name[:1] in ("_", "$"):
        return name
    return f"{namespace}:{name}"


def _skipped(key: str, config: NamespaceConfig) -> bool:
    return (config.skip_underscore and key.startswith("_")) or (
        config.skip_dollar and key.startswith("$")
    )


def _add(value: Any, config: NamespaceConfig, root: bool) -> Any:
    if isinstance(value, list):
        return [_add(v, config, False) for v in value] if config.recursive else value
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        if root and key == "_id":
            out[key] = f"{config.identity}:{item}" if isinstance(item, str) else item
        elif _skipped(key, config):
            out[key] = item
        else:
            out[f"{config.property}:{key}"] = (
                _add(item, config, False) if config.recursive else item
            )
    return out


def add_namespaces(
    entity: Entity, identity_ns: str, property_ns: str, *, config: NamespaceConfig | None = None
) -> Entity:
    """A copy of ``entity`` with namespaces added (see the module docstring).

    >>> add_namespaces({"_id": "1", "name": "A", "$x": {"y": 1}}, "crm", "crm")
    {'_id': 'crm:1', 'crm:name': 'A', '$x': {'y': 1}}
    """
    cfg = config or NamespaceConfig(identity=identity_ns, property=property_ns)
    result: Entity = _add(entity, cfg, True)
    return result


def _strip_value(value: Any) -> Any:
    if isinstance(value, NI):
        return value.identifier
    if isinstance(value, list):
        return [_strip_value(v) for v in value]
    if isinstance(value, dict):
        return {split_name(k)[1]: _strip_value(v) for k, v in value.items()}
    return value


def remove_namespaces(entity: Entity) -> Entity:
    """A copy of ``entity`` without namespaces (see the module docstring).

    >>> remove_namespaces({"_id": "crm:1", "crm:mgr": NI("crm", "2"), "$ids": [NI("crm", "1")]})
    {'_id': '1', 'mgr': '2', '$ids': ['1']}
    """
    out: Entity = {}
    for key, value in entity.items():
        if key == "_id" and isinstance(value, str):
            out[key] = split_name(value)[1]
        else:
            out[split_name(key)[1]] = _strip_value(value)
    return out
