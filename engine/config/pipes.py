"""Pipe configs: Sesam's JSON pipe format parsed into typed, validated objects.

Validation happens here, once, at load time: every unknown key or type is a
:class:`ConfigError` naming the file, the JSON path, what was expected and a did-you-mean. No
code after the loader indexes the raw dicts for settings it could have had typed; source and sink
implementations read their own type-specific keys from ``raw`` (already checked against the
known-key tables below).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.cron import parse_cron
from engine.errors import ConfigError, HubError, JsonPath, did_you_mean

__all__ = [
    "SINK_KEYS",
    "SOURCE_KEYS",
    "TRANSFORM_KEYS",
    "PipeConfig",
    "PumpConfig",
    "SinkConfig",
    "SourceConfig",
    "TransformConfig",
    "parse_pipe",
]

_COMMON = {"type", "comment", "description", "name"}

#: Known keys per source type (Sesam's spelling). Types marked here may not all run yet; the
#: runner says so clearly when a pipe uses one it cannot run.
SOURCE_KEYS: Mapping[str, frozenset[str]] = {
    "dataset": frozenset(
        _COMMON
        | {
            "dataset",
            "include_previous_versions",
            "include_replaced",
            "subset",
            "completeness",
            "initial_completeness",
            "require_populated_input",
            "supports_signalling",
            "if_source_empty",
        }
    ),
    "embedded": frozenset(_COMMON | {"entities", "if_source_empty"}),
    "merge": frozenset(
        _COMMON
        | {
            "datasets",
            "equality",
            "equality_sets",
            "identity",
            "strategy",
            "version",
            "max_merged",
            "initial_datasets",
            "ignore_non_existent_datasets",
            "require_populated_input",
            "supports_signalling",
            "if_source_empty",
            "include_replaced",
        }
    ),
    "union_datasets": frozenset(
        _COMMON
        | {
            "datasets",
            "include_previous_versions",
            "prefix_ids",
            "initial_datasets",
            "ignore_non_existent_datasets",
            "supports_signalling",
            "if_source_empty",
        }
    ),
    "merge_datasets": frozenset(
        _COMMON
        | {"datasets", "strategy", "initial_datasets", "require_populated_input", "if_source_empty"}
    ),
    "diff_datasets": frozenset(
        _COMMON | {"datasets", "whitelist", "blacklist", "treat_lists_as_sets", "ignore_deletes"}
    ),
    "conditional": frozenset(_COMMON | {"condition", "alternatives"}),
    "system": frozenset(
        _COMMON
        | {
            "system",
            "operation",
            "datatype",
            "properties",
            "if_source_empty",
            "full",
            "share_dataset",
            "parent_operation",
            "parent_property",
        }
    ),
    "http_endpoint": frozenset(
        _COMMON | {"auto_populate_dataset", "do_float_as_decimal", "do_float_as_int", "trace"}
    ),
}

TRANSFORM_KEYS: Mapping[str, frozenset[str]] = {
    "dtl": frozenset(_COMMON | {"rules", "id_required", "side_effects"}),
    "emit_children": frozenset(_COMMON | {"side_effects"}),
    "survivorship": frozenset(
        _COMMON | {"properties", "priority", "members", "empty_values", "claims_property"}
    ),
    # Resolved at load time by engine.sesam.conditional (the chosen alternative is spliced in).
    "conditional": frozenset(_COMMON | {"condition", "alternatives"}),
}

SINK_KEYS: Mapping[str, frozenset[str]] = {
    "dataset": frozenset(
        _COMMON
        | {
            "dataset",
            "set_initial_offset",
            "indexes",
            "deletion_tracking",
            "mark_deletion_tracked",
            "circuit_breaker_threshold_factor",
            "circuit_breaker_threshold_count",
            "track_children",
            "prevent_multiple_versions",
            "enable_optimistic_locking",
            "suppress_filtered",
            "max_entity_bytes_size",
        }
    ),
    "system": frozenset(
        _COMMON | {"system", "operation", "datatype", "dataset", "delete_policy", "properties"}
    ),
    "null": frozenset(_COMMON),
    # Endpoint sinks: captured offline in a dataset named after the pipe (engine.sinks.endpoint).
    "http_endpoint": frozenset(_COMMON | {"filename", "content_disposition"}),
    "csv_endpoint": frozenset(
        _COMMON
        | {
            "columns",
            "delimiter",
            "quotechar",
            "quoting",
            "escapechar",
            "doublequote",
            "lineterminator",
            "skipinitialspace",
            "include_header",
            "encoding",
            "filename",
            "content_disposition",
        }
    ),
    "json": frozenset(_COMMON | {"system", "url", "batch_size", "headers"}),
    "sql": frozenset(
        _COMMON
        | {
            "system",
            "table",
            "schema",
            "primary_key",
            "batch_size",
            "whitelist",
            "blacklist",
            "truncate_table_on_first_run",
            "create_table_if_missing",
            "schema_definition",
            "use_bulk_operations",
            "keep_failed_bulk_operation_files",
            "bulk_operation_timeout",
            "bulk_operation_queue_size",
            "timestamp",
        }
    ),
}

_PIPE_KEYS = frozenset(
    {
        "_id",
        "type",
        "name",
        "description",
        "comment",
        "source",
        "transform",
        "sink",
        "pump",
        "batch_size",
        "checkpoint_interval",
        "namespaced_identifiers",
        "namespaces",
        "add_namespaces",
        "remove_namespaces",
        "metadata",
        "exclude_completeness",
        "include_completeness",
        "compaction",
        "dependency_tracking",
        "reprocessing_policy",
        "disable_set_last_seen",
        "enable_background_rescan",
        "infer_pipe_entity_types",
    }
)

_PUMP_KEYS = frozenset(
    {
        "comment",
        "schedule_interval",
        "cron_expression",
        "mode",
        "run_at_startup",
        "rescan_run_count",
        "rescan_cron_expression",
        "partial_rescan_run_count",
        "partial_rescan_delta",
        "max_read_retries",
        "read_retry_delay",
        "write_retry_delay",
        "max_retries_per_entity",
        "max_consecutive_write_errors",
        "max_write_errors_in_retry_dataset",
        "fallback_to_single_entities_on_batch_fail",
        "dead_letter_dataset",
        "track_dead_letters",
        "use_dead_letter_dataset",
        "log_events_noop_runs",
        "log_events_noop_runs_changes_only",
        "notification_granularity",
    }
)


@dataclass(frozen=True, slots=True)
class SourceConfig:
    type: str
    raw: Mapping[str, Any]
    path: JsonPath


@dataclass(frozen=True, slots=True)
class TransformConfig:
    type: str
    raw: Mapping[str, Any]
    path: JsonPath


@dataclass(frozen=True, slots=True)
class SinkConfig:
    type: str
    raw: Mapping[str, Any]
    path: JsonPath
    dataset: str | None = None
    """Target dataset of a dataset sink (defaults to the pipe ``_id``)."""


@dataclass(frozen=True, slots=True)
class PumpConfig:
    schedule_interval: float | None = None
    cron_expression: str | None = None
    mode: str = "scheduled"
    raw: Mapping[str, Any] = field(default_factory=dict)
    rescan_run_count: int | None = None
    """Every N-th run re-reads the source in full (engine.rescan)."""
    rescan_cron_expression: str | None = None
    """A full re-read is due once this cron fired after the last full run (engine.rescan)."""

    @property
    def rescans(self) -> bool:
        """Whether the pipe declares a rescan schedule (either setting)."""
        return self.rescan_run_count is not None or self.rescan_cron_expression is not None


def _rescan(
    check: _Checker, pump: Mapping[str, Any], path: JsonPath
) -> tuple[int | None, str | None]:
    """``rescan_run_count`` / ``rescan_cron_expression``, checked (Sesam: mutually exclusive)."""
    count = pump.get("rescan_run_count")
    text = pump.get("rescan_cron_expression")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        check.fail(
            f"expected a whole number of runs of at least 1, found {_describe(count)}",
            path / "rescan_run_count",
            count,
        )
        count = None
    if text is not None:
        try:
            parse_cron(text if isinstance(text, str) else "")
        except HubError as e:
            check.fail(
                f"expected a cron string for the rescan: {e.message}",
                path / "rescan_cron_expression",
                text,
            )
            text = None
    if count is not None and text is not None:
        check.fail(
            "'rescan_run_count' and 'rescan_cron_expression' exclude each other; keep one",
            path / "rescan_cron_expression",
            text,
        )
    return count, text


@dataclass(frozen=True, slots=True)
class PipeConfig:
    """One pipe, validated. ``raw`` is the config as written (for docs and the DTL API)."""

    id: str
    file: str | None
    raw: Mapping[str, Any]
    source: SourceConfig
    transforms: tuple[TransformConfig, ...]
    sink: SinkConfig
    pump: PumpConfig
    namespaced_identifiers: bool = False
    identity_namespace: str | None = None
    property_namespace: str | None = None
    add_namespaces: bool = False
    remove_namespaces: bool = False
    batch_size: int = 100
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def sink_dataset(self) -> str | None:
        return self.sink.dataset

    def input_datasets(self) -> list[str]:
        """Datasets the source reads (aliases stripped), for dependency ordering."""
        raw = self.source.raw
        if self.source.type == "dataset":
            return [str(raw.get("dataset"))]
        if self.source.type == "conditional":
            names: list[str] = []
            for alt in (raw.get("alternatives") or {}).values():
                if isinstance(alt, dict) and isinstance(alt.get("dataset"), str):
                    names.append(alt["dataset"])
                names += [str(d).split(" ")[0] for d in (alt or {}).get("datasets", [])]
            return names
        return [str(d).split(" ")[0] for d in raw.get("datasets", [])]


class _Checker:
    """Collects or raises errors while walking one pipe config."""

    def __init__(self, file: str | None, errors: list[ConfigError] | None) -> None:
        self.file = file
        self.errors = errors

    def fail(self, message: str, path: JsonPath, snippet: Any = None) -> None:
        error = ConfigError(message, file=self.file, path=path, snippet=snippet)
        if self.errors is None:
            raise error
        self.errors.append(error)

    def keys(
        self, obj: Mapping[str, Any], known: frozenset[str], path: JsonPath, what: str
    ) -> None:
        for key in obj:
            if key not in known:
                self.fail(f"unknown key {key!r} in {what}{did_you_mean(key, known)}", path / key)

    def typed(
        self,
        obj: Mapping[str, Any],
        key: str,
        types: tuple[type, ...],
        path: JsonPath,
        expected: str,
    ) -> Any:
        value = obj.get(key)
        if value is None:
            return None
        if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
            self.fail(
                f"expected {expected} for {key!r}, found {_describe(value)}", path / key, value
            )
            return None
        return value


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {value!r}".lower()
    if isinstance(value, int | float):
        return f"number {value!r}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _typed_block(
    check: _Checker,
    raw: Any,
    path: JsonPath,
    known: Mapping[str, frozenset[str]],
    what: str,
) -> tuple[str, Mapping[str, Any]] | None:
    if not isinstance(raw, dict):
        check.fail(f"expected an object for the {what}, found {_describe(raw)}", path, raw)
        return None
    kind = raw.get("type")
    if not isinstance(kind, str):
        check.fail(
            f"the {what} needs a string 'type'; known: {', '.join(sorted(known))}",
            path / "type",
            raw,
        )
        return None
    if kind not in known:
        check.fail(
            f"unknown {what} type {kind!r}{did_you_mean(kind, set(known))}; "
            f"known: {', '.join(sorted(known))}",
            path / "type",
            kind,
        )
        return None
    check.keys(raw, known[kind], path, f"a {kind!r} {what}")
    return kind, raw


def parse_pipe(
    raw: Any,
    *,
    file: str | None = None,
    path: JsonPath = JsonPath(),
    errors: list[ConfigError] | None = None,
) -> PipeConfig | None:
    """Validate one pipe config. Raises on the first error, or collects into ``errors``."""
    check = _Checker(file, errors)
    if not isinstance(raw, dict):
        check.fail(f"expected a pipe object, found {_describe(raw)}", path, raw)
        return None
    pipe_id = raw.get("_id")
    if not isinstance(pipe_id, str) or not pipe_id or "/" in pipe_id:
        check.fail("a pipe needs a string '_id' without '/'", path / "_id", pipe_id)
        return None
    if raw.get("type", "pipe") != "pipe":
        check.fail(f"expected type 'pipe', found {_describe(raw.get('type'))}", path / "type")
    check.keys(raw, _PIPE_KEYS, path, "a pipe")

    source_raw = raw.get("source")
    if source_raw is None:
        check.fail("a pipe needs a 'source'", path / "source")
        return None
    source = _typed_block(check, source_raw, path / "source", SOURCE_KEYS, "source")
    if source and source[0] == "dataset" and not isinstance(source[1].get("dataset"), str):
        check.fail("a dataset source needs a string 'dataset'", path / "source" / "dataset")
    if source and source[0] == "embedded":
        _check_embedded(check, source[1], path / "source")
    if source and source[0] in {"merge", "union_datasets", "merge_datasets", "diff_datasets"}:
        datasets = source[1].get("datasets")
        if not isinstance(datasets, list) or not all(isinstance(d, str) for d in datasets):
            check.fail(
                "expected a list of dataset names for 'datasets'",
                path / "source" / "datasets",
                datasets,
            )

    transforms_raw = raw.get("transform")
    if transforms_raw is None:
        transforms_list: list[Any] = []
    elif isinstance(transforms_raw, list):
        transforms_list = transforms_raw
    else:
        transforms_list = [transforms_raw]
    transforms: list[TransformConfig] = []
    for i, t in enumerate(transforms_list):
        tpath = path / "transform" / i if isinstance(transforms_raw, list) else path / "transform"
        parsed = _typed_block(check, t, tpath, TRANSFORM_KEYS, "transform")
        if parsed is None:
            continue
        if parsed[0] == "dtl" and not isinstance(parsed[1].get("rules"), dict):
            check.fail(
                "a dtl transform needs an object 'rules' with a 'default' rule", tpath / "rules"
            )
            continue
        if parsed[0] == "dtl" and "default" not in parsed[1]["rules"]:
            check.fail("the dtl rules need a 'default' rule", tpath / "rules")
            continue
        transforms.append(TransformConfig(parsed[0], parsed[1], tpath))

    sink_raw = raw.get("sink", {"type": "dataset"})
    sink = _typed_block(check, sink_raw, path / "sink", SINK_KEYS, "sink")
    sink_dataset: str | None = None
    if sink and sink[0] == "dataset":
        sink_dataset = check.typed(sink[1], "dataset", (str,), path / "sink", "a dataset name")
        sink_dataset = sink_dataset or pipe_id
    elif sink and sink[0] == "system":
        sink_dataset = sink[1].get("dataset") or pipe_id

    pump_raw = raw.get("pump", {})
    pump = PumpConfig()
    if isinstance(pump_raw, dict):
        check.keys(pump_raw, _PUMP_KEYS, path / "pump", "the pump")
        interval = check.typed(
            pump_raw, "schedule_interval", (int, float), path / "pump", "a number of seconds"
        )
        cron = check.typed(pump_raw, "cron_expression", (str,), path / "pump", "a cron string")
        mode = check.typed(pump_raw, "mode", (str,), path / "pump", "a mode") or "scheduled"
        if mode not in {"scheduled", "manual", "off"}:
            check.fail(
                f"unknown pump mode {mode!r}; known: scheduled, manual, off", path / "pump" / "mode"
            )
        run_count, rescan_cron = _rescan(check, pump_raw, path / "pump")
        pump = PumpConfig(interval, cron, mode, pump_raw, run_count, rescan_cron)
    else:
        check.fail(f"expected an object for 'pump', found {_describe(pump_raw)}", path / "pump")

    namespaces = raw.get("namespaces") or {}
    if not isinstance(namespaces, dict):
        check.fail("expected an object for 'namespaces'", path / "namespaces")
        namespaces = {}
    batch_size = check.typed(raw, "batch_size", (int,), path, "an integer") or 100
    if batch_size < 1:
        check.fail("'batch_size' must be at least 1", path / "batch_size", batch_size)
        batch_size = 100
    for flag in ("namespaced_identifiers", "add_namespaces", "remove_namespaces"):
        check.typed(raw, flag, (bool,), path, "true or false")

    if source is None or sink is None:
        return None
    return PipeConfig(
        id=pipe_id,
        file=file,
        raw=raw,
        source=SourceConfig(source[0], source[1], path / "source"),
        transforms=tuple(transforms),
        sink=SinkConfig(sink[0], sink[1], path / "sink", sink_dataset),
        pump=pump,
        namespaced_identifiers=raw.get("namespaced_identifiers") is True,
        identity_namespace=namespaces.get("identity"),
        property_namespace=namespaces.get("property"),
        add_namespaces=raw.get("add_namespaces") is True,
        remove_namespaces=raw.get("remove_namespaces") is True,
        batch_size=batch_size,
        metadata=raw.get("metadata") or {},
    )


def _check_embedded(check: _Checker, raw: Mapping[str, Any], path: JsonPath) -> None:
    entities = raw.get("entities")
    if not isinstance(entities, list):
        check.fail("an embedded source needs a list 'entities'", path / "entities", entities)
        return
    for i, entity in enumerate(entities):
        if not isinstance(entity, dict) or not isinstance(entity.get("_id"), str):
            check.fail(
                "expected an entity object with a string '_id'", path / "entities" / i, entity
            )
