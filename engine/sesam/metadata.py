"""``node-metadata.conf.json``: the service metadata entity and the pipe defaults it sets.

Sesam keeps node-wide defaults in one entity ``{"_id": "node", "type": "metadata", ...}``. The
settings that change what a pipe computes are ``namespaced_identifiers`` (the default of every
pipe's flag), ``namespaces.default`` (prefix → URI base for the URI/NI functions) and
``global_defaults.max_merged``. Those are applied to each raw pipe config *before* it is parsed,
so the rest of the hub sees ordinary pipe configs (:func:`apply_node_defaults`, pure).

The namespace defaults of sources and sinks (sesam-hub.md §7.2, §3.5) are applied here as well:
with namespaced identifiers on, ``add_namespaces`` defaults to true for the inbound source types
and ``remove_namespaces`` for the outbound sink types, unless the pipe sets them.

Settings that only steer scheduling or monitoring are accepted and have no effect (listed in
:data:`NO_EFFECT_GLOBAL_DEFAULTS`); any other key is a :class:`ConfigError`, so a setting the
emulator does not know never changes results silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.errors import ConfigError, JsonPath, did_you_mean

__all__ = [
    "ADD_NAMESPACES_SOURCES",
    "NO_EFFECT_GLOBAL_DEFAULTS",
    "REMOVE_NAMESPACES_SINKS",
    "NodeMetadata",
    "apply_node_defaults",
    "effective_source",
    "parse_node_metadata",
]

METADATA_FILE = "node-metadata.conf.json"

#: Source types whose ``add_namespaces`` defaults to true when NIs are on (sesam-hub.md §7.2).
ADD_NAMESPACES_SOURCES = frozenset({"csv", "ldap", "sql", "embedded", "http_endpoint", "json"})

#: Sink types whose ``remove_namespaces`` defaults to true when NIs are on (sesam-hub.md §3.5).
REMOVE_NAMESPACES_SINKS = frozenset(
    {"csv_endpoint", "elasticsearch", "mail", "rest", "sms", "solr", "sql", "http_endpoint", "json"}
)

#: ``global_defaults`` keys that change scheduling, monitoring or storage only, never what a
#: from-scratch run computes; accepted and ignored.
NO_EFFECT_GLOBAL_DEFAULTS = frozenset(
    {
        "use_signalling_internally",
        "enable_background_rescan",
        "always_index_ids",
        "infer_pipe_entity_types",
        "default_compaction_type",
        "compaction_keep_versions",
        "compaction_time_threshold",
        "max_entity_bytes_size",
        "use_dead_letter_dataset",
        "notification_granularity",
        "log_events_noop_runs",
        "schedule_interval",
        "eager_load_microservices",
    }
)
_EFFECT_GLOBAL_DEFAULTS = frozenset({"max_merged", "symmetric_namespace_collapse"})

_METADATA_KEYS = frozenset(
    {
        "_id",
        "type",
        "name",
        "description",
        "comment",
        "metadata",
        "namespaced_identifiers",
        "namespaces",
        "global_defaults",
        "dependency_tracking",
        "task_manager",
    }
)


@dataclass(frozen=True, slots=True)
class NodeMetadata:
    """The node-wide settings that act as defaults for every pipe."""

    namespaced_identifiers: bool = False
    default_namespaces: Mapping[str, str] = field(default_factory=dict)
    max_merged: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


def parse_node_metadata(raw: Any, *, file: str = METADATA_FILE) -> NodeMetadata:
    """Validate the service metadata entity.

    Raises:
        ConfigError: naming the file, the JSON path and what was expected.
    """
    root = JsonPath()
    if not isinstance(raw, dict):
        raise ConfigError("expected the node metadata object", file=file, path=root)
    if raw.get("_id") != "node" or raw.get("type", "metadata") != "metadata":
        raise ConfigError(
            'expected the service metadata entity {"_id": "node", "type": "metadata"}, '
            f"found _id {raw.get('_id')!r} and type {raw.get('type')!r}",
            file=file,
            path=root / "_id",
        )
    for key in raw:
        if key not in _METADATA_KEYS:
            raise ConfigError(
                f"unknown key {key!r} in the node metadata{did_you_mean(key, _METADATA_KEYS)}",
                file=file,
                path=root / key,
            )
    ni = raw.get("namespaced_identifiers", False)
    if not isinstance(ni, bool):
        raise ConfigError(
            f"expected true or false for 'namespaced_identifiers', found {ni!r}",
            file=file,
            path=root / "namespaced_identifiers",
        )
    namespaces = raw.get("namespaces") or {}
    if not isinstance(namespaces, dict):
        raise ConfigError(
            "expected an object for 'namespaces'", file=file, path=root / "namespaces"
        )
    defaults = namespaces.get("default") or {}
    if not isinstance(defaults, dict) or not all(isinstance(v, str) for v in defaults.values()):
        raise ConfigError(
            "expected an object of prefix → URI base strings for 'namespaces.default'",
            file=file,
            path=root / "namespaces" / "default",
        )
    return NodeMetadata(
        namespaced_identifiers=ni,
        default_namespaces=dict(defaults),
        max_merged=_global_defaults(raw.get("global_defaults"), file),
        raw=raw,
    )


def _global_defaults(raw: Any, file: str) -> int | None:
    path = JsonPath() / "global_defaults"
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ConfigError("expected an object for 'global_defaults'", file=file, path=path)
    known = NO_EFFECT_GLOBAL_DEFAULTS | _EFFECT_GLOBAL_DEFAULTS
    for key in raw:
        if key not in known:
            raise ConfigError(
                f"global default {key!r} is not supported by this hub{did_you_mean(key, known)}; "
                f"supported: {', '.join(sorted(known))}",
                file=file,
                path=path / key,
            )
    if raw.get("symmetric_namespace_collapse", False) is not False:
        raise ConfigError(
            "global default 'symmetric_namespace_collapse' is not supported by this hub "
            "(only false, the default)",
            file=file,
            path=path / "symmetric_namespace_collapse",
        )
    max_merged = raw.get("max_merged")
    if max_merged is None:
        return None
    if not isinstance(max_merged, int) or isinstance(max_merged, bool) or max_merged < 1:
        raise ConfigError(
            f"expected a positive integer for 'max_merged', found {max_merged!r}",
            file=file,
            path=path / "max_merged",
        )
    return max_merged


def effective_source(source: Any) -> Any:
    """The source a pipe really uses: a ``conditional`` source's chosen alternative.

    Values are taken after ``$ENV`` substitution; when the condition names no alternative the
    conditional itself is returned (the pipeline reports that error when the pipe is built).
    """
    seen = 0
    while isinstance(source, dict) and source.get("type") == "conditional" and seen < 10:
        alternatives = source.get("alternatives")
        key = str(source.get("condition"))
        if not isinstance(alternatives, dict) or key not in alternatives:
            return source
        source = alternatives[key]
        seen += 1
    return source


def _copy(node: Any) -> Any:
    """Copy dicts and lists; leave values shared (a ``Secret`` refuses to be deep-copied)."""
    if isinstance(node, dict):
        return {k: _copy(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_copy(v) for v in node]
    return node


def apply_node_defaults(raw: Mapping[str, Any], metadata: NodeMetadata) -> dict[str, Any]:
    """A copy of one raw pipe config with the node-wide and namespace defaults filled in.

    Only keys the pipe does not set are added, so an explicit setting always wins.

    >>> meta = NodeMetadata(namespaced_identifiers=True)
    >>> pipe = {"_id": "p", "source": {"type": "embedded", "entities": []},
    ...         "sink": {"type": "csv_endpoint"}}
    >>> out = apply_node_defaults(pipe, meta)
    >>> out["namespaced_identifiers"], out["add_namespaces"], out["remove_namespaces"]
    (True, True, True)
    """
    out: dict[str, Any] = _copy(dict(raw))
    if "namespaced_identifiers" not in out and metadata.namespaced_identifiers:
        out["namespaced_identifiers"] = True
    if metadata.default_namespaces:
        namespaces = out.get("namespaces")
        if namespaces is None:
            namespaces = out["namespaces"] = {}
        if isinstance(namespaces, dict):
            declared = namespaces.get("default")
            merged = dict(metadata.default_namespaces)
            if isinstance(declared, dict):
                merged.update(declared)
            namespaces["default"] = merged
    source = effective_source(out.get("source"))
    if (
        metadata.max_merged is not None
        and isinstance(source, dict)
        and source.get("type") == "merge"
        and "max_merged" not in source
    ):
        source["max_merged"] = metadata.max_merged
    if out.get("namespaced_identifiers") is True:
        source_type = source.get("type") if isinstance(source, dict) else None
        if "add_namespaces" not in out and source_type in ADD_NAMESPACES_SOURCES:
            out["add_namespaces"] = True
        sink = out.get("sink")
        sink_type = sink.get("type") if isinstance(sink, dict) else None
        if "remove_namespaces" not in out and sink_type in REMOVE_NAMESPACES_SINKS:
            out["remove_namespaces"] = True
    return out
