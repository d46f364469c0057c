"""Build the parts of a pipe run from its config: source, transform chain, sink.

The type registries (``SOURCE_TYPES``, ``SINK_TYPES``) are plain dict literals assembled here,
so it is visible which types run. A type that config validation knows but no builder exists for
is a clear :class:`ConfigError`, never a silent skip.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

from engine.config.pipes import PipeConfig, SourceConfig
from engine.config.project import Project
from engine.entity import ID, Entity
from engine.errors import ConfigError
from engine.sesam.receiver import ReceiverSource
from engine.sinks.base import Sink
from engine.sinks.dataset import DatasetSink
from engine.sinks.endpoint import EndpointSink
from engine.sinks.share import ShareSink
from engine.sources.base import Source
from engine.sources.dataset import DatasetSource
from engine.sources.embedded import EmbeddedSource
from engine.sources.merge import MergeSource
from engine.sources.multi import DiffDatasetsSource, MergeDatasetsSource, UnionDatasetsSource
from engine.sources.system import SystemSource
from engine.store import Store
from engine.store.lookup import StoreLookup
from engine.survivorship import build_survivorship
from engine.tracking import DependencyTracker

__all__ = [
    "SINK_TYPES",
    "SOURCE_TYPES",
    "TransformChain",
    "build_sink",
    "build_source",
    "build_transforms",
]

TransformFn = Callable[[list[Entity]], list[Entity]]
BatchStep = Callable[[list[Entity]], list[Entity]]

SOURCE_TYPES: dict[str, Callable[[Store, Project, PipeConfig], Source]] = {
    "dataset": lambda store, project, pipe: DatasetSource(store, pipe.source),
    "embedded": lambda store, project, pipe: EmbeddedSource(pipe.source),
    "merge": lambda store, project, pipe: MergeSource(store, pipe),
    "union_datasets": lambda store, project, pipe: UnionDatasetsSource(store, pipe.source),
    "merge_datasets": lambda store, project, pipe: MergeDatasetsSource(store, pipe.source),
    "diff_datasets": lambda store, project, pipe: DiffDatasetsSource(store, pipe.source),
    "conditional": lambda store, project, pipe: _conditional(store, project, pipe),
    "system": lambda store, project, pipe: SystemSource(store, project, pipe),
    "http_endpoint": lambda store, project, pipe: ReceiverSource(pipe.source),
}


def _conditional(store: Store, project: Project, pipe: PipeConfig) -> Source:
    """Sesam's ``conditional`` source: the alternative named by ``condition`` (after $ENV)."""
    raw = pipe.source.raw
    condition = raw.get("condition")
    alternatives = raw.get("alternatives")
    path = pipe.source.path
    if not isinstance(alternatives, dict) or not alternatives:
        raise ConfigError(
            "a conditional source needs an object 'alternatives'",
            file=pipe.file,
            path=path / "alternatives",
        )
    key = str(condition)
    if key not in alternatives:
        raise ConfigError(
            f"the condition is {key!r} but 'alternatives' has no such key "
            f"(known: {', '.join(sorted(alternatives))})",
            file=pipe.file,
            path=path / "condition",
        )
    chosen_raw = alternatives[key]
    chosen = _typed_block_for(pipe, chosen_raw, path / "alternatives" / key)
    return build_source(store, project, dataclasses.replace(pipe, source=chosen))


def _typed_block_for(pipe: PipeConfig, raw: Any, path: Any) -> SourceConfig:
    from engine.config.pipes import SOURCE_KEYS

    if not isinstance(raw, dict) or raw.get("type") not in SOURCE_KEYS:
        raise ConfigError(
            f"expected a source object with a known 'type' (known: {', '.join(sorted(SOURCE_KEYS))})",
            file=pipe.file,
            path=path,
        )
    unknown = set(raw) - SOURCE_KEYS[raw["type"]]
    if unknown:
        raise ConfigError(
            f"unknown key {sorted(unknown)[0]!r} in the source",
            file=pipe.file,
            path=path / sorted(unknown)[0],
        )
    return SourceConfig(raw["type"], raw, path)


SINK_TYPES: dict[str, Callable[[Store, Project, PipeConfig], Sink]] = {
    "dataset": lambda store, project, pipe: DatasetSink(store, pipe.sink, pipe.id),
    "system": lambda store, project, pipe: ShareSink(store, project, pipe),
    "http_endpoint": lambda store, project, pipe: EndpointSink(store, pipe),
    "csv_endpoint": lambda store, project, pipe: EndpointSink(store, pipe),
    "json": lambda store, project, pipe: EndpointSink(store, pipe),
    "sql": lambda store, project, pipe: EndpointSink(store, pipe),
}


def build_source(store: Store, project: Project, pipe: PipeConfig) -> Source:
    factory = SOURCE_TYPES.get(pipe.source.type)
    if factory is None:
        raise ConfigError(
            f"source type {pipe.source.type!r} is not supported by this hub yet; "
            f"supported: {', '.join(sorted(SOURCE_TYPES))}",
            file=pipe.file,
            path=pipe.source.path / "type",
        )
    return factory(store, project, pipe)


def build_sink(store: Store, project: Project, pipe: PipeConfig) -> Sink:
    factory = SINK_TYPES.get(pipe.sink.type)
    if factory is None:
        raise ConfigError(
            f"sink type {pipe.sink.type!r} is not supported by this hub yet; "
            f"supported: {', '.join(sorted(SINK_TYPES))}",
            file=pipe.file,
            path=pipe.sink.path / "type",
        )
    return factory(store, project, pipe)


def run_context(store: Store, pipe: PipeConfig, source: Source | None = None) -> Any:
    """The DTL run context of a pipe: namespaces, hops lookups, previous versions."""
    from engine.dtl import RunContext

    return RunContext(
        pipe_id=pipe.id,
        namespaced_identifiers=pipe.namespaced_identifiers,
        identity_namespace=pipe.identity_namespace or pipe.id,
        property_namespace=pipe.property_namespace or pipe.id,
        sink_is_dataset=pipe.sink.type == "dataset",
        datasets=StoreLookup(store),
        previous=source.previous_version if source is not None else None,
        file=pipe.file,
    )


class TransformChain:
    """A pipe's compiled transform chain, applied to batches of source entities.

    When ``tracker`` is set (dataset sources whose DTL hops), entities go through one at a time
    so every hop can be attributed to the source entity that made it.
    """

    def __init__(
        self,
        steps: list[BatchStep],
        ctx: Any,
        *,
        add_ns: tuple[str, str] | None,
        remove_ns: bool,
        hops_datasets: frozenset[str],
        tracker: DependencyTracker | None,
    ) -> None:
        self.steps = steps
        self.ctx = ctx
        self.add_ns = add_ns
        self.remove_ns = remove_ns
        self.hops_datasets = hops_datasets
        self.tracker = tracker

    def _chain(self, entities: list[Entity]) -> list[Entity]:
        from engine.dtl.namespaces import add_namespaces, remove_namespaces

        current = entities
        if self.add_ns is not None:
            current = [add_namespaces(e, *self.add_ns) for e in current]
        for step in self.steps:
            current = step(current)
        if self.remove_ns:
            current = [remove_namespaces(e) for e in current]
        return current

    def __call__(self, entities: list[Entity]) -> list[Entity]:
        if self.tracker is None:
            return self._chain(entities)
        out: list[Entity] = []
        for entity in entities:
            self.tracker.processing(entity[ID])
            out.extend(self._chain([entity]))
        return out


def build_transforms(
    store: Store,
    project: Project,
    pipe: PipeConfig,
    source: Source | None = None,
    *,
    track: bool = False,
) -> TransformChain:
    """Compile the pipe's transform chain once per run."""
    from engine.dtl import compile_transform

    ctx = run_context(store, pipe, source)
    steps: list[BatchStep] = []
    hops: set[str] = set()
    for t in pipe.transforms:
        if t.type == "dtl":
            compiled = compile_transform(
                t.raw["rules"],
                file=pipe.file,
                path=t.path / "rules",
                id_required=t.raw.get("id_required", True) is not False,
            )
            hops |= set(compiled.hops_datasets)
            steps.append(_per_entity(functools.partial(compiled.apply, ctx=ctx)))
        elif t.type == "emit_children":
            steps.append(_per_entity(_emit_children))
        elif t.type == "survivorship":
            steps.append(build_survivorship(store, t, pipe).apply_batch)
        else:
            raise ConfigError(
                f"transform type {t.type!r} is not supported by this hub yet",
                file=pipe.file,
                path=t.path / "type",
            )
    tracker = None
    if track and hops and isinstance(source, DatasetSource):
        tracker = DependencyTracker(store, pipe.id)
        ctx.dependencies = tracker
    add_ns = None
    if pipe.namespaced_identifiers and pipe.add_namespaces:
        add_ns = (ctx.identity_namespace, ctx.property_namespace)
    return TransformChain(
        steps,
        ctx,
        add_ns=add_ns,
        remove_ns=pipe.namespaced_identifiers and pipe.remove_namespaces,
        hops_datasets=frozenset(hops),
        tracker=tracker,
    )


def _per_entity(step: Callable[[Entity], list[Entity]]) -> BatchStep:
    """Lift a per-entity transform to a batch step (outputs in input order)."""

    def run(batch: list[Entity]) -> list[Entity]:
        return [out for e in batch for out in step(e)]

    return run


def _emit_children(entity: Entity) -> list[Entity]:
    children = entity.get("$children") or []
    return [c for c in children if isinstance(c, dict) and isinstance(c.get("_id"), str)]
