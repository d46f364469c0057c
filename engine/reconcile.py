"""Reconcile: run every pipe in graph order, pass after pass, until a pass changes nothing.

Design notes
------------
* One *pass* runs each pipe once in :meth:`PipeGraph.order` (``pipe run --all`` is one pass).
  A pass *changed* something when the sum of ``written + deleted`` over its runs is non-zero.
  Because the graph has cycles (share → collect through hops, lookups against later pipes), one
  pass is not enough in general: what a later pipe wrote is read by an earlier one only in the
  next pass. Reconcile repeats passes until one changes nothing (a fixed point), so a second
  reconcile with no source changes runs exactly one pass and writes nothing.
* A flow that never settles (values that toggle through a cycle, ``now``/``uuid`` written on
  every run) would loop forever; the pass cap (10 by default) turns that into a
  :class:`NotConvergedError` naming the pipes that still changed in the last pass.
* The first pass lists the systems as ``full_collect`` says. The nightly default follows each
  collect's rescan schedule (engine.rescan): a collect with one lists what changed since its
  last run and everything only when the rescan is due, one without lists everything (so a
  record deleted in the system is noticed). Listing 1.5M orders in full costs more than the
  rest of a 1 % night together (docs/decisions/scale.md).
* Pipes with pump ``mode: off`` cannot run and ``http_endpoint`` pipes are fed by pushes, so
  both are skipped (and listed). ``manual`` pipes run: reconcile is an explicit request.
* A failing pipe stops reconcile (the runner has already rolled it back and logged
  ``pump-failed``), unless ``keep_going`` is set: then the failure is recorded as a failed
  :class:`RunReport` in the pass and the rest of the graph still runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from engine import html
from engine.config.pipes import PipeConfig
from engine.config.project import Project
from engine.errors import HubError, PipeRunError
from engine.graph import PipeGraph, build_graph
from engine.runner import PipeRunner, RunReport

__all__ = [
    "DEFAULT_MAX_PASSES",
    "NotConvergedError",
    "PassReport",
    "PipeStep",
    "PipeTotals",
    "ReconcileReport",
    "reconcile",
    "run_pass",
    "sent_by_system",
    "share_targets",
    "skip_reason",
]

DEFAULT_MAX_PASSES = 10


@dataclass(frozen=True, slots=True)
class PipeStep:
    """Progress of a pass: pipe ``position`` of ``total`` is starting, or ``done`` (report set)."""

    pass_number: int
    position: int
    total: int
    pipe: str
    phase: Literal["start", "done"]
    report: RunReport | None = None


ProgressFn = Callable[[PipeStep], None]


@dataclass(frozen=True, slots=True)
class PassReport:
    """The runs of one pass, in graph order."""

    number: int
    runs: tuple[RunReport, ...]
    skipped: tuple[str, ...] = ()

    @property
    def changed(self) -> int:
        """Changes this pass committed (a dry run's would-be writes change nothing)."""
        return sum(r.changed for r in self.runs if not r.dry_run)

    @property
    def changed_pipes(self) -> list[str]:
        return [r.pipe for r in self.runs if r.changed and not r.dry_run]

    @property
    def failed_pipes(self) -> list[str]:
        return [r.pipe for r in self.runs if r.status != "ok"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "pass": self.number,
            "changed": self.changed,
            "changed_pipes": self.changed_pipes,
            "failed_pipes": self.failed_pipes,
            "skipped": list(self.skipped),
            "runs": [r.to_dict() for r in self.runs],
        }


@dataclass(slots=True)
class PipeTotals:
    """One pipe's runs summed over every pass of a reconcile."""

    runs: int = 0
    read: int = 0
    written: int = 0
    deleted: int = 0
    unchanged: int = 0
    failed: int = 0

    @property
    def changed(self) -> int:
        return self.written + self.deleted


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    """Every pass of a reconcile; ``converged`` is true when the last pass changed nothing."""

    passes: tuple[PassReport, ...]
    seconds: float
    converged: bool
    order: tuple[str, ...] = field(default=())
    targets: tuple[tuple[str, str, str], ...] = field(default=())
    """``(share pipe, system, datatype)`` of every share (see :func:`share_targets`)."""

    @property
    def pass_count(self) -> int:
        return len(self.passes)

    @property
    def run_ids(self) -> tuple[int, int] | None:
        """First and last run id this reconcile committed (``hub.as_of`` takes either)."""
        ids = [r.run_id for p in self.passes for r in p.runs if r.run_id is not None]
        return (min(ids), max(ids)) if ids else None

    def sent(self) -> dict[str, dict[str, dict[str, int]]]:
        """System → datatype → insert/update/delete, every share target present."""
        return sent_by_system(self.passes, self.targets)

    def _repr_html_(self) -> str:
        ids = self.run_ids
        detail = (
            f"{'converged' if self.converged else 'did not converge'} in {self.pass_count} "
            f"passes, {self.seconds:.1f} s, {self.changed} changes"
            + (f", runs {ids[0]} to {ids[1]}" if ids else "")
        )
        changed = [(pid, t) for pid, t in self.totals().items() if t.changed or t.failed]
        pipes = html.table(
            ["pipe", "runs", "read", "written", "deleted", "failed"],
            [[pid, t.runs, t.read, t.written, t.deleted, t.failed] for pid, t in changed],
            caption=f"pipes that changed something ({len(changed)})",
        )
        sends = html.sent_html(self.sent(), caption="sent to each system")
        return html.section("reconcile", detail, sends, pipes)

    @property
    def changed(self) -> int:
        return sum(p.changed for p in self.passes)

    def totals(self) -> dict[str, PipeTotals]:
        """Per pipe (graph order) the sums over all passes."""
        out = {pid: PipeTotals() for pid in self.order}
        for p in self.passes:
            for r in p.runs:
                t = out.setdefault(r.pipe, PipeTotals())
                t.runs += 1
                t.read += r.read
                t.written += r.written
                t.deleted += r.deleted
                t.unchanged += r.unchanged
                t.failed += r.status != "ok"
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "converged": self.converged,
            "passes": self.pass_count,
            "seconds": self.seconds,
            "changed": self.changed,
            "run_ids": list(self.run_ids) if self.run_ids else None,
            "totals": {
                pid: {
                    "runs": t.runs,
                    "read": t.read,
                    "written": t.written,
                    "deleted": t.deleted,
                    "unchanged": t.unchanged,
                    "failed": t.failed,
                }
                for pid, t in self.totals().items()
            },
            "pass_reports": [p.to_dict() for p in self.passes],
        }


class NotConvergedError(HubError):
    """Reconcile hit its pass cap while pipes were still changing data."""

    def __init__(self, report: ReconcileReport) -> None:
        last = report.passes[-1]
        pipes = last.changed_pipes
        super().__init__(
            f"reconcile did not converge after {report.pass_count} passes: "
            f"{', '.join(repr(p) for p in pipes)} still changed {last.changed} entities in the "
            "last pass (a cycle keeps producing new values: look for now/uuid, counters or "
            "values that toggle through hops)",
            pipe=pipes[0] if pipes else None,
        )
        self.report = report
        self.pipes = pipes


def share_targets(project: Project) -> tuple[tuple[str, str, str], ...]:
    """``(pipe, system, datatype)`` of every share pipe (a pipe with a system sink)."""
    return tuple(
        sorted(
            (pipe.id, str(pipe.sink.raw.get("system")), str(pipe.sink.raw.get("datatype")))
            for pipe in project.pipes.values()
            if pipe.sink.type == "system"
        )
    )


def sent_by_system(
    passes: Iterable[PassReport], targets: Iterable[tuple[str, str, str]]
) -> dict[str, dict[str, dict[str, int]]]:
    """What the runs of ``passes`` sent: system → datatype → insert/update/delete.

    Every target is present, zeros included, so scripts can rely on the shape. A dry run
    (``pipe run --all --dry-run``, one pass) counts what it would have sent.
    """
    out: dict[str, dict[str, dict[str, int]]] = {}
    by_pipe: dict[str, tuple[str, str]] = {}
    for pipe_id, system, datatype in targets:
        by_pipe[pipe_id] = (system, datatype)
        out.setdefault(system, {}).setdefault(datatype, {"insert": 0, "update": 0, "delete": 0})
    for one in passes:
        for run in one.runs:
            if not run.sent or run.pipe not in by_pipe:
                continue
            system, datatype = by_pipe[run.pipe]
            for op in ("insert", "update", "delete"):
                out[system][datatype][op] += int(run.sent.get(op, 0))
    return out


def skip_reason(pipe: PipeConfig) -> str | None:
    """Why a pipe cannot be run by reconcile or the pump, or ``None`` if it can."""
    if pipe.pump.mode == "off":
        return "pump mode is 'off'"
    if pipe.source.type == "http_endpoint":
        return "an http_endpoint pipe is fed by pushes"
    return None


def run_pass(
    runner: PipeRunner,
    graph: PipeGraph | None = None,
    *,
    pipes: Iterable[str] | None = None,
    number: int = 1,
    full: bool = False,
    full_collect: bool | None = False,
    dry_run: bool = False,
    force: bool = False,
    keep_going: bool = False,
    progress: ProgressFn | None = None,
) -> PassReport:
    """Run every pipe (or the given ones) once, in graph order.

    ``full_collect`` makes the pipes that read a system (collects) full runs: an incremental
    listing cannot see a record deleted in the system, a full one can (deletion tracking).
    ``None`` means *scheduled*: a collect whose pump declares a rescan schedule runs full only
    when it is due (engine.rescan), every other collect runs full.
    """
    if graph is None:
        graph = build_graph(runner.project)
    order = graph.order(pipes)
    runnable = [p for p in order if skip_reason(runner.project.pipe(p)) is None]
    skipped = tuple(sorted(set(order) - set(runnable), key=order.index))
    runs: list[RunReport] = []
    for position, pipe_id in enumerate(runnable, 1):
        if progress is not None:
            progress(PipeStep(number, position, len(runnable), pipe_id, "start"))
        pipe = runner.project.pipe(pipe_id)
        forced = pipe.source.type == "system" and (
            full_collect is True or (full_collect is None and not pipe.pump.rescans)
        )
        try:
            report = runner.run(pipe_id, full=full or forced, dry_run=dry_run, force=force)
        except PipeRunError as e:
            if not keep_going:
                raise
            report = _failed(pipe_id, full, dry_run, e)
        runs.append(report)
        if progress is not None:
            progress(PipeStep(number, position, len(runnable), pipe_id, "done", report))
    return PassReport(number, tuple(runs), skipped)


def _failed(pipe_id: str, full: bool, dry_run: bool, error: PipeRunError) -> RunReport:
    return RunReport(
        pipe=pipe_id,
        full=full,
        dry_run=dry_run,
        read=0,
        written=0,
        unchanged=0,
        deleted=0,
        seconds=0.0,
        since_before=None,
        since_after=None,
        status="failed",
        error=str(error),
    )


def reconcile(
    runner: PipeRunner,
    graph: PipeGraph | None = None,
    *,
    pipes: Iterable[str] | None = None,
    max_passes: int = DEFAULT_MAX_PASSES,
    full: bool = False,
    full_collect: bool | None = None,
    force: bool = False,
    keep_going: bool = False,
    progress: ProgressFn | None = None,
) -> ReconcileReport:
    """Repeat :func:`run_pass` until a pass changes nothing.

    Args:
        runner: runs single pipes against the hub's store.
        graph: the project's graph (built from ``runner.project`` when omitted).
        pipes: restrict to these pipes (still in graph order).
        max_passes: the cap; reaching it with changes left raises :class:`NotConvergedError`.
        full: make the *first* pass full runs (later passes are incremental).
        full_collect: how the first pass collects (later passes are incremental). ``True``:
            every collect in full, so records deleted in a system are noticed; ``False``: each
            after its ``since``; ``None`` (the nightly default): collects with a rescan schedule
            in their pump follow it, the others run in full (see :func:`run_pass`).
        force: write past tripped circuit breakers (passed to every run).
        keep_going: record failed pipes in the report instead of raising.
        progress: called before and after every pipe run.

    Raises:
        NotConvergedError: the cap was hit; ``.report`` holds every pass, ``.pipes`` the pipes
            that still changed.
        PipeRunError: a pipe failed (without ``keep_going``).
    """
    if max_passes < 1:
        raise HubError(f"max_passes must be at least 1, got {max_passes}")
    if graph is None:
        graph = build_graph(runner.project)
    order = tuple(graph.order(pipes))
    started = time.perf_counter()
    passes: list[PassReport] = []
    while True:
        number = len(passes) + 1
        passes.append(
            run_pass(
                runner,
                graph,
                pipes=order,
                number=number,
                full=full and number == 1,
                full_collect=full_collect if number == 1 else False,
                force=force,
                keep_going=keep_going,
                progress=progress,
            )
        )
        converged = passes[-1].changed == 0
        if converged or number >= max_passes:
            break
    report = ReconcileReport(
        tuple(passes),
        round(time.perf_counter() - started, 6),
        converged,
        order,
        share_targets(runner.project),
    )
    if not converged:
        raise NotConvergedError(report)
    return report
