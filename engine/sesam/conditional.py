"""Sesam's ``conditional`` transform, resolved at load time (pure).

Like the ``conditional`` source, a conditional transform picks one of its ``alternatives`` by the
value of ``condition`` (usually ``"$ENV(node-env)"``) when the pipe is created; the choice never
changes while the pipe runs. So instead of a runtime transform type, the chosen alternative (one
transform or a list) is spliced into the pipe's transform chain before the pipe is parsed, and
the chain stays a plain list of ``dtl``/``emit_children``/... transforms.

A condition that names no alternative is a :class:`ConfigError` naming the file, the JSON path and
the known keys. Alternatives that are not chosen are never validated: in Sesam they only have to
exist, and a test profile often leaves the production alternative unreachable.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.errors import ConfigError, JsonPath

__all__ = ["resolve_conditional_transforms"]

_CONDITIONAL_KEYS = frozenset(
    {"type", "condition", "alternatives", "comment", "description", "name"}
)


def resolve_conditional_transforms(
    raw: Mapping[str, Any], *, file: str | None = None, path: JsonPath = JsonPath()
) -> dict[str, Any]:
    """A copy of a raw pipe config whose ``conditional`` transforms are replaced by their choice.

    >>> pipe = {"_id": "p", "transform": [{"type": "conditional", "condition": "test",
    ...          "alternatives": {"test": {"type": "emit_children"}, "prod": []}}]}
    >>> resolve_conditional_transforms(pipe)["transform"]
    [{'type': 'emit_children'}]
    """
    out = dict(raw)
    transform = raw.get("transform")
    if transform is None:
        return out
    if isinstance(transform, list):
        out["transform"] = _resolve_list(transform, file, path / "transform", depth=0)
    elif isinstance(transform, dict) and transform.get("type") == "conditional":
        out["transform"] = _resolve_one(transform, file, path / "transform", depth=0)
    return out


def _resolve_list(items: list[Any], file: str | None, path: JsonPath, depth: int) -> list[Any]:
    out: list[Any] = []
    for i, item in enumerate(items):
        out.extend(_resolve_one(item, file, path / i, depth))
    return out


def _resolve_one(item: Any, file: str | None, path: JsonPath, depth: int) -> list[Any]:
    if not isinstance(item, dict) or item.get("type") != "conditional":
        return [item]
    if depth > 10:
        raise ConfigError("conditional transforms nested too deeply", file=file, path=path)
    for key in item:
        if key not in _CONDITIONAL_KEYS:
            raise ConfigError(
                f"unknown key {key!r} in a 'conditional' transform; known: "
                f"{', '.join(sorted(_CONDITIONAL_KEYS))}",
                file=file,
                path=path / key,
            )
    alternatives = item.get("alternatives")
    if not isinstance(alternatives, dict) or not alternatives:
        raise ConfigError(
            "a conditional transform needs an object 'alternatives' of transforms",
            file=file,
            path=path / "alternatives",
        )
    if "condition" not in item:
        raise ConfigError(
            "a conditional transform needs a 'condition'", file=file, path=path / "condition"
        )
    key = str(item["condition"])
    if key not in alternatives:
        raise ConfigError(
            f"the condition is {key!r} but 'alternatives' has no such key "
            f"(known: {', '.join(sorted(alternatives))})",
            file=file,
            path=path / "condition",
        )
    chosen = alternatives[key]
    where = path / "alternatives" / key
    if chosen is None:
        return []
    if isinstance(chosen, list):
        return _resolve_list(chosen, file, where, depth + 1)
    if isinstance(chosen, dict):
        return _resolve_one(chosen, file, where, depth + 1)
    raise ConfigError(
        "expected a transform object or a list of transforms for the chosen alternative",
        file=file,
        path=where,
    )
