"""Run one pipe: source → transforms → sink, atomically, with a run report.

Design notes
------------
* A run to a dataset sink is **one transaction**: every batch the sink appends, the deletion
  tracking at the end and the pipe's new offset commit together, so a failed or killed run
  leaves datasets and offsets exactly as they were. (Sinks with side effects outside the hub,
  such as system shares, commit per batch instead; they say so with ``commit_per_batch``.)
* Incremental by default: the source reads after the stored ``since``. A full run (``--full``,
  a reset, the first run, a source without since support, or a rescan its pump schedules:
  engine.rescan) reads from the beginning and ends with deletion tracking.
* Each stage re-raises failures as :class:`PipeRunError` naming the pipe and the stage.
* The runner never prints; it reports progress through an optional callback.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from typing import Any

from engine.config.pipes import PipeConfig
from engine.config.project import Project
from engine.entity import Entity
from engine.errors import CircuitBreakerTripped, ConfigError, HubError, PipeRunError, Stage
from engine.pipeline import build_sink, build_source, build_transforms
from engine.rescan import rescan_due
from engine.sources.base import SourceBatch
from engine.store import Store
from engine.store.runs import record_run

__all__ = ["PipeRunner", "RunReport"]

ProgressFn = Callable[[int], None]
TRACKED_CHUNK = 5000
"""Source entities re-emitted by dependency tracking per batch (a dataset source's read size)."""


@dataclass(frozen=True, slots=True)
class RunReport:
    """What one run did. ``written`` counts new versions in the sink, ``deleted`` the
    versions written by deletion tracking or filters, ``unchanged`` entities that were emitted
    with the same content as stored."""

    pipe: str
    full: bool
    dry_run: bool
    read: int
    written: int
    unchanged: int
    deleted: int
    seconds: float
    since_before: Any
    since_after: Any
    status: str = "ok"
    error: str | None = None
    sent: dict[str, int] | None = None
    """For system shares: what was (or, in a dry run, would be) sent, by operation."""
    path: str = "interpreter"
    """How the transforms ran: ``sql`` (compiled to DuckDB) or ``interpreter``."""
    run_id: int | None = None
    """The hub-wide run id this run committed as (``None`` for a dry run); see ``pipe runs``."""
    rescan: str | None = None
    """Why an otherwise incremental run read in full: its rescan schedule (engine.rescan)."""

    @property
    def changed(self) -> int:
        return self.written + self.deleted

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _sent(sink: Any) -> dict[str, int] | None:
    """A system share's per-operation counts (``None`` for sinks that send nothing out)."""
    stats = getattr(sink, "stats", None)
    return dict(stats) if isinstance(stats, dict) else None


def _chunks(items: list[Entity], size: int) -> Iterator[list[Entity]]:
    """``items`` in chunks of ``size`` (0: one chunk); always at least one (maybe empty)."""
    if size <= 0 or len(items) <= size:
        yield items
        return
    for start in range(0, len(items), size):
        yield items[start : start + size]


@contextlib.contextmanager
def stage(name: Stage, pipe_id: str) -> Iterator[None]:
    """Re-raise anything from a stage as :class:`PipeRunError` (once, with the stage named)."""
    try:
        yield
    except PipeRunError:
        raise
    except (HubError, ValueError, TypeError, KeyError, OSError) as e:
        raise PipeRunError(pipe_id, name, e) from e


class PipeRunner:
    """Runs pipes of one project against one store."""

    def __init__(self, store: Store, project: Project) -> None:
        self.store = store
        self.project = project

    def run(
        self,
        pipe_id: str,
        *,
        full: bool = False,
        dry_run: bool = False,
        force: bool = False,
        progress: ProgressFn | None = None,
    ) -> RunReport:
        pipe = self.project.pipe(pipe_id)
        started = time.perf_counter()
        start_ts = self.store.clock.now_micros()
        state = self.store.pipe_state(pipe.id)
        if state.last_status == "tripped" and not force:
            raise PipeRunError(
                pipe.id,
                "sink",
                CircuitBreakerTripped(
                    f"the circuit breaker is tripped since the last run ({state.last_error}); "
                    "run with --force to write anyway, or reset the pipe"
                ),
            )
        try:
            return self._run(
                pipe, full=full, dry_run=dry_run, force=force, progress=progress, t0=started
            )
        except PipeRunError as e:
            if not dry_run:
                self._log_failure(pipe, start_ts, e)
            raise

    def _run(
        self,
        pipe: PipeConfig,
        *,
        full: bool,
        dry_run: bool,
        force: bool,
        progress: ProgressFn | None,
        t0: float,
    ) -> RunReport:
        with stage("source", pipe.id):
            source = build_source(self.store, self.project, pipe)
        with stage("transform", pipe.id):
            transforms = build_transforms(self.store, self.project, pipe, source, track=True)
        with stage("sink", pipe.id):
            sink = build_sink(self.store, self.project, pipe)
            if hasattr(sink, "force"):
                sink.force = force
            if hasattr(sink, "dry_run"):
                sink.dry_run = dry_run
        # A sink with effects outside the hub (a system share) cannot be rolled back, so what it
        # sent must be durable at once: it commits every chunk of ``chunk_size`` entities, and
        # the offset after every source batch. Dataset sinks commit the whole run at once.
        per_batch = bool(getattr(sink, "commit_per_batch", False))
        sql_plan = self._sql_plan(pipe, source, sink, transforms)
        chunk_size = int(pipe.raw.get("batch_size", 1)) if per_batch else 0
        state = self.store.pipe_state(pipe.id)
        since_before = state.since
        is_full = full or state.since is None or not source.supports_since
        rescan = None if is_full else rescan_due(self.store, pipe, self.store.clock.now_micros())
        is_full = is_full or rescan is not None
        since = None if is_full else state.since
        read = 0
        totals_written = totals_unchanged = totals_deleted = 0
        start_ts = self.store.clock.now_micros()

        @contextlib.contextmanager
        def unit(scope: bool) -> Iterator[None]:
            """A transaction when ``scope`` holds, else nothing (the outer one covers it)."""
            if not scope:
                yield
                return
            with self.store.transaction():
                if dry_run:
                    self.store.mark_rollback()
                yield

        with unit(not per_batch):
            with stage("sink", pipe.id), unit(per_batch):
                sink.begin(full=is_full)
            tracker = transforms.tracker
            tracked: set[str] = set()
            tracking = dict((state.extra or {}).get("tracking", {}))
            if tracker is not None:
                with stage("source", pipe.id):
                    if is_full:
                        tracker.forget()
                        tracking = {}
                    tracked, tracking = tracker.changed_sources(
                        sorted(transforms.hops_datasets), tracking, transforms.ctx
                    )
            processed: set[str] = set()
            pending: list[str] = []
            pending_at = 0
            if sql_plan is not None:
                # _sql_plan checked these are a DatasetSource and a DatasetSink
                dataset_source: Any = source
                dataset_sink: Any = sink
                with stage("transform", pipe.id):
                    sql_batches = sql_plan.execute(self.store, since, until=dataset_source.until())
                while True:
                    with stage("transform", pipe.id):
                        sql_batch = next(sql_batches, None)
                    if sql_batch is None:
                        break
                    read += sql_batch.read
                    with stage("sink", pipe.id):
                        result = dataset_sink.write_arrow(sql_batch.entities, sql_batch.filtered)
                    totals_written += result.written
                    totals_unchanged += result.unchanged
                    totals_deleted += result.deleted
                    since = sql_batch.next_since
                    if progress is not None:
                        progress(sql_batch.read)
            batches = source.read(since) if sql_plan is None else iter(())
            while True:
                with stage("source", pipe.id):
                    batch = next(batches, None)
                if batch is None and tracked:
                    # re-emitted in source-sized batches: a hopped dataset that changed
                    # everywhere re-emits every source entity (docs/decisions/sync.md); the
                    # ids left are sorted once, not once per batch
                    pending, tracked = sorted(tracked - processed), set()
                if batch is None and pending_at < len(pending):
                    next_ids = pending[pending_at : pending_at + TRACKED_CHUNK]
                    pending_at += TRACKED_CHUNK
                    batch = SourceBatch(self._tracked_entities(source, next_ids))
                if batch is None:
                    break
                read += len(batch.entities)
                if tracker is not None:
                    processed.update(e["_id"] for e in batch.entities)
                with stage("transform", pipe.id):
                    out: list[Entity] = transforms(batch.entities)
                with stage("sink", pipe.id):
                    prefilter = getattr(sink, "prefilter", None)
                    if prefilter is not None and out:
                        # settle in bulk what needs no request (engine.sinks.share_diff)
                        with unit(per_batch):
                            out, result = prefilter(out)
                        totals_written += result.written
                        totals_unchanged += result.unchanged
                        totals_deleted += result.deleted
                    for chunk in _chunks(out, chunk_size):
                        with unit(per_batch):
                            result = sink.write(chunk)
                        totals_written += result.written
                        totals_unchanged += result.unchanged
                        totals_deleted += result.deleted
                    if batch.next_since is not None:
                        since = batch.next_since
                    with unit(per_batch):
                        if tracker is not None:
                            tracker.flush()
                        if per_batch and not dry_run and source.supports_since:
                            self._save_since(pipe.id, since)
                if progress is not None:
                    progress(len(batch.entities))
            if is_full and read == 0 and pipe.source.raw.get("if_source_empty") == "fail":
                raise PipeRunError(
                    pipe.id,
                    "source",
                    ConfigError(
                        "the source was empty and if_source_empty is 'fail': nothing was deleted"
                    ),
                )
            with unit(per_batch):
                with stage("sink", pipe.id):
                    final = sink.finish(full=is_full, source_populated=source.is_populated())
                    self._stamp_completeness(pipe, transforms.hops_datasets)
                totals_written += final.written
                totals_unchanged += final.unchanged
                totals_deleted += final.deleted
                seconds = time.perf_counter() - t0
                report = RunReport(
                    pipe=pipe.id,
                    full=is_full,
                    dry_run=dry_run,
                    read=read,
                    written=totals_written,
                    unchanged=totals_unchanged,
                    deleted=totals_deleted,
                    seconds=round(seconds, 6),
                    since_before=since_before,
                    since_after=since if source.supports_since else None,
                    sent=_sent(sink),
                    path="sql" if sql_plan is not None else "interpreter",
                    rescan=rescan,
                )
                state = self.store.pipe_state(pipe.id)
                if tracker is not None:
                    state.extra = {**(state.extra or {}), "tracking": tracking}
                state.since = report.since_after
                state.last_run_ts = start_ts
                state.last_status = "ok"
                state.last_error = None
                state.runs += 1
                self.store.save_pipe_state(state)
                self._log_run(pipe, start_ts, report)
                if not dry_run:  # last, so the run's dataset bounds include all of its writes
                    run_id = record_run(
                        self.store,
                        pipe=pipe.id,
                        started_ts=start_ts,
                        status="ok",
                        full=report.full,
                        read=report.read,
                        written=report.written,
                        deleted=report.deleted,
                    )
                    report = replace(report, run_id=run_id)
        return report

    @staticmethod
    def _sql_plan(pipe: PipeConfig, source: Any, sink: Any, transforms: Any) -> Any:
        """The compiled SQL plan when this pipe can take the SQL path, else ``None``.

        Only dataset → DTL → dataset pipes without dependency tracking qualify; the compiler
        refuses (and the interpreter runs) whatever it cannot reproduce exactly.
        """
        from engine.sinks.dataset import DatasetSink
        from engine.sources.dataset import DatasetSource
        from engine.sqlc import SqlPlan, plan_pipe

        if not (isinstance(source, DatasetSource) and isinstance(sink, DatasetSink)):
            return None
        if transforms.tracker is not None or not pipe.transforms:
            return None
        plan = plan_pipe(pipe)
        return plan if isinstance(plan, SqlPlan) else None

    def _save_since(self, pipe_id: str, since: Any) -> None:
        state = self.store.pipe_state(pipe_id)
        state.since = since
        self.store.save_pipe_state(state)

    def _stamp_completeness(self, pipe: PipeConfig, hopped: frozenset[str]) -> None:
        """The sink inherits the smallest completeness of the pipe's inputs (Sesam's rule).

        Inputs are the source datasets and hopped datasets minus ``exclude_completeness`` (or
        exactly ``include_completeness``); an inbound pipe (embedded or system source) or one with
        all of its inputs excluded stamps "now", after everything it wrote.
        """
        if not pipe.sink_dataset or pipe.sink.type != "dataset":
            return
        raw = pipe.raw
        inbound = pipe.source.type in ("embedded", "system")
        inputs = set() if inbound else set(pipe.input_datasets()) | set(hopped)
        if isinstance(raw.get("include_completeness"), list):
            inputs = set(raw["include_completeness"])
        inputs -= set(raw.get("exclude_completeness") or [])
        stamps = [self.store.dataset(name).completeness for name in sorted(inputs)]
        known = [s for s in stamps if s is not None]
        value = min(known) if known else self.store.clock.now_micros()
        self.store.dataset(pipe.sink_dataset).set_completeness(value)

    @staticmethod
    def _tracked_entities(source: Any, ids: list[str]) -> list[Entity]:
        """Latest versions of source entities re-queued by dependency tracking."""
        return list(source.dataset.latest_many(ids))

    # --- execution log ------------------------------------------------------------------------

    def _log_run(self, pipe: PipeConfig, start_ts: int, report: RunReport) -> None:
        """Append the run to ``system:pump_execution:<pipe>`` (one version per run)."""
        entity = {
            "_id": "pump-completed",
            "event_type": "pump-completed",
            "pipe": pipe.id,
            "start_time": start_ts,
            "end_time": self.store.clock.now_micros(),
            "sync_type": "rescan" if report.rescan else "full" if report.full else "incremental",
            "entities_read": report.read,
            "entities_written": report.written,
            "entities_deleted": report.deleted,
            "entities_unchanged": report.unchanged,
            "run": self.store.pipe_state(pipe.id).runs,
        }
        self.store.dataset(f"system:pump_execution:{pipe.id}").append([entity])

    def _log_failure(self, pipe: PipeConfig, start_ts: int, error: PipeRunError) -> None:
        with self.store.transaction():
            state = self.store.pipe_state(pipe.id)
            state.last_run_ts = start_ts
            tripped = isinstance(error.cause, CircuitBreakerTripped)
            state.last_status = "tripped" if tripped else "failed"
            state.last_error = str(error.cause) if tripped else str(error)
            self.store.save_pipe_state(state)
            self.store.dataset(f"system:pump_execution:{pipe.id}").append(
                [
                    {
                        "_id": "pump-failed",
                        "event_type": "pump-failed",
                        "pipe": pipe.id,
                        "start_time": start_ts,
                        "end_time": self.store.clock.now_micros(),
                        "stage": error.stage,
                        "original_error_message": str(error.cause),
                        "entity": error.entity_id,
                    }
                ]
            )
            record_run(
                self.store,
                pipe=pipe.id,
                started_ts=start_ts,
                status=state.last_status,
                error=state.last_error,
            )
