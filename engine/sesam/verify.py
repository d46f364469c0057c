"""``pipe verify``: compare what pipes have produced with the expected files of their specs.

The current output of a spec is read from the hub, never recomputed, except for the ``stage``
option, which asks for an earlier stage of the pipe:

* ``sink`` (the default): the latest entities of the pipe's sink dataset, deleted ones included
  (``ignore_deletes`` decides about them). Endpoint sinks keep what they publish or send in the
  dataset named after the pipe (``engine.sinks.endpoint``).
* ``source`` / ``before-transform`` / ``after-transform``: the pipe's source is read in full (and
  transformed) inside a transaction that is rolled back, so nothing is written.
* endpoint ``csv``: the bytes the ``csv_endpoint`` sink would serve.

sesam-py's rules for the whole run are kept: a spec marked ``ignore`` is skipped, and once any
spec exists, every pipe with an endpoint sink must be covered by one (otherwise "no test
references pipe ..." fails the run). Without any spec the run passes with a warning.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from engine.config.pipes import PipeConfig
from engine.config.project import Project
from engine.entity import FILTERED, Entity
from engine.errors import ConfigError, HubError
from engine.sesam.compare import Comparison, compare_bytes, compare_entities
from engine.sesam.specs import TestSpec
from engine.sinks.endpoint import ENDPOINT_SINK_TYPES, render_csv
from engine.store import Store

__all__ = ["SpecResult", "VerifyReport", "current_output", "verify"]

Status = Literal["passed", "failed", "error", "ignored"]


@dataclass(frozen=True, slots=True)
class SpecResult:
    """The outcome of one spec."""

    spec: TestSpec
    status: Status
    comparison: Comparison | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("passed", "ignored")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "spec": self.spec.name,
            "spec_file": self.spec.spec_file,
            "pipe": self.spec.pipe,
            "file": self.spec.expected_path,
            "endpoint": self.spec.endpoint,
            "status": self.status,
        }
        if self.comparison is not None:
            c = self.comparison
            out.update(summary=c.summary, diff=c.diff, counts=c.details)
            out.update(missing=list(c.missing), unexpected=list(c.unexpected))
            out["changed"] = list(c.changed)
        if self.error is not None:
            out["error"] = self.error
        return out


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """Every spec's result plus the endpoint pipes no spec covers."""

    results: tuple[SpecResult, ...]
    missing_tests: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results) and not self.missing_tests

    @property
    def failed(self) -> list[SpecResult]:
        return [r for r in self.results if not r.ok]

    def to_dict(self) -> dict[str, Any]:
        counted = [r for r in self.results if r.status != "ignored"]
        return {
            "ok": self.ok,
            "specs": len(counted),
            "passed": sum(r.status == "passed" for r in counted),
            "failed": sum(r.status != "passed" for r in counted),
            "ignored": sum(r.status == "ignored" for r in self.results),
            "missing_tests": list(self.missing_tests),
            "warnings": list(self.warnings),
            "results": [r.to_dict() for r in self.results],
        }


def _uses_request_variables(pipe: PipeConfig) -> bool:
    """True if any transform mentions DTL's ``_B`` (the request parameters of an endpoint)."""
    text = json.dumps([t.raw for t in pipe.transforms], default=str)
    return '"_B' in text or "_B." in text


def _output_dataset(pipe: PipeConfig) -> str:
    if pipe.sink.type in ENDPOINT_SINK_TYPES:
        return pipe.id
    if pipe.sink_dataset:
        return pipe.sink_dataset
    raise ConfigError(
        f"pipe {pipe.id!r} has a {pipe.sink.type!r} sink, which keeps no output to compare",
        file=pipe.file,
        path=pipe.sink.path / "type",
        pipe=pipe.id,
    )


def _latest_by_id(entities: Iterable[Entity]) -> list[Entity]:
    out: dict[str, Entity] = {}
    for e in entities:
        out[str(e.get("_id"))] = e
    return list(out.values())


def _stage_entities(store: Store, project: Project, pipe: PipeConfig, stage: str) -> list[Entity]:
    """The source (or transform) output of ``pipe``, computed in a rolled-back transaction."""
    from engine.dtl.namespaces import add_namespaces
    from engine.pipeline import build_source, build_transforms

    with store.transaction():
        store.mark_rollback()
        source = build_source(store, project, pipe)
        entities = [e for batch in source.read(None) for e in batch.entities]
        if stage == "before-transform" and pipe.namespaced_identifiers and pipe.add_namespaces:
            identity = pipe.identity_namespace or pipe.id
            prop = pipe.property_namespace or pipe.id
            entities = [add_namespaces(e, identity, prop) for e in entities]
        elif stage == "after-transform":
            # A filtered entity is only a note to the dataset sink (delete if stored), not output.
            outputs = build_transforms(store, project, pipe, source)(entities)
            entities = [e for e in outputs if e.get(FILTERED) is not True]
    return _latest_by_id(entities)


def current_output(store: Store, project: Project, spec: TestSpec) -> list[Entity] | bytes:
    """What ``spec`` compares against: entities, or bytes for a byte endpoint.

    Raises:
        HubError: unknown pipe, a stage or endpoint the pipe cannot provide.
    """
    pipe = project.pipe(spec.pipe)
    file = spec.spec_file or spec.expected_path
    if spec.parameters and _uses_request_variables(pipe):
        raise ConfigError(
            "the spec passes 'parameters', which reach the pipe's DTL as _B; request "
            "variables are not supported by this hub yet",
            file=file,
            pipe=pipe.id,
        )
    if spec.stage not in (None, "sink"):
        if spec.endpoint == "csv":
            raise ConfigError(
                "a csv endpoint can only be compared at the sink stage", file=file, pipe=pipe.id
            )
        return _stage_entities(store, project, pipe, spec.stage)
    name = _output_dataset(pipe)
    entities: list[Entity] = []
    if store.dataset_info(name) is not None:
        entities = store.dataset(name).latest_entities(include_deleted=True)
    if spec.endpoint == "csv":
        if pipe.sink.type != "csv_endpoint":
            raise ConfigError(
                f"the spec compares a csv endpoint, but pipe {pipe.id!r} has a "
                f"{pipe.sink.type!r} sink",
                file=file,
                pipe=pipe.id,
            )
        return render_csv(entities, pipe.sink.raw, file=pipe.file, path=pipe.sink.path)
    return entities


def _read_expected(project: Project, spec: TestSpec) -> bytes:
    path = project.root / spec.expected_path
    try:
        return path.read_bytes()
    except OSError as e:
        raise ConfigError(
            f"cannot read the expected file: {e.strerror}", file=spec.expected_path
        ) from e


def _expected_entities(data: bytes, spec: TestSpec) -> list[Any]:
    try:
        parsed = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ConfigError(f"the expected file is not JSON: {e}", file=spec.expected_path) from e
    if isinstance(parsed, dict):
        parsed = [parsed]
    if not isinstance(parsed, list):
        raise ConfigError("expected a JSON list of entities", file=spec.expected_path)
    return parsed


def verify_spec(store: Store, project: Project, spec: TestSpec) -> SpecResult:
    """Run one spec; problems with the spec or pipe become an ``error`` result."""
    if spec.ignore:
        return SpecResult(spec, "ignored")
    try:
        expected = _read_expected(project, spec)
        current = current_output(store, project, spec)
        if isinstance(current, bytes):
            comparison = compare_bytes(expected, current, spec)
        else:
            comparison = compare_entities(_expected_entities(expected, spec), current, spec)
    except HubError as e:
        where = e.where()
        return SpecResult(spec, "error", error=f"{where}: {e.message}" if where else e.message)
    return SpecResult(spec, "passed" if comparison.ok else "failed", comparison)


def verify(
    store: Store,
    project: Project,
    specs: Sequence[TestSpec],
    *,
    pipes: Sequence[str] | None = None,
) -> VerifyReport:
    """Run every spec (or those of ``pipes``) against the store's current datasets."""
    if pipes:
        for pipe_id in pipes:
            project.pipe(pipe_id)
        specs = [s for s in specs if s.pipe in pipes]
    if not specs:
        return VerifyReport((), (), ("found no tests (expected/*.test.json or expected/*.json)",))
    results = tuple(verify_spec(store, project, s) for s in specs)
    covered = {s.pipe for s in specs}
    endpoint_pipes = sorted(
        p.id
        for p in project.pipes.values()
        if p.sink.type in ENDPOINT_SINK_TYPES and (not pipes or p.id in pipes)
    )
    missing = tuple(p for p in endpoint_pipes if p not in covered)
    return VerifyReport(results, missing)
