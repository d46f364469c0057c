"""The pump: run each pipe on its schedule (``schedule_interval`` or ``cron_expression``).

Design notes
------------
* **Schedules** (Sesam's pump, sesam-hub §4): ``cron_expression`` wins over
  ``schedule_interval``. Without either, dataset → dataset pipes (a dataset-family source and a
  dataset sink) run every 30 s and all other pipes every 900 s. Sesam adds ±5 % jitter; we do
  not, so schedules are deterministic and testable.
* **When is a pipe due?** From its last run (``PipeState.last_run_ts``, µs, set by the runner
  for completed *and* failed runs, so a failing pipe waits for its next slot instead of
  spinning): an interval pipe is due ``interval`` seconds after its last run, or at once if it
  never ran; a cron pipe is due at the first fire time after its last run, or after the pump
  started if it never ran. Computing from the last run means a fire time missed while the pump
  was stopped runs as soon as the pump is back (Sesam persists cron schedules the same way).
* ``mode: manual`` and ``mode: off`` pipes never run automatically, nor do ``http_endpoint``
  pipes (no pump in Sesam either).
* **One thread, graph order.** Every tick runs the due pipes in :meth:`PipeGraph.order`, so a
  collect's output is consumed by the downstream pipes due in the same tick. The stop event is
  checked *between* pipe runs: Ctrl-C (the CLI sets the event) lets the current run commit or
  roll back as a whole, then the pump returns.
* A failed run is already logged by the runner (``pump-failed`` in
  ``system:pump_execution:<pipe>``); the pump records it in its report and keeps going.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from engine.clock import Clock
from engine.config.pipes import PipeConfig
from engine.cron import CronExpression, parse_cron
from engine.errors import ConfigError, HubError, JsonPath
from engine.graph import DATASET_SOURCES, PipeGraph, build_graph
from engine.reconcile import skip_reason
from engine.runner import PipeRunner, RunReport

__all__ = [
    "DEFAULT_DATASET_INTERVAL",
    "DEFAULT_OTHER_INTERVAL",
    "Pump",
    "PumpRun",
    "PumpSummary",
    "PumpTick",
    "Schedule",
    "schedule_for",
]

_log = logging.getLogger(__name__)

DEFAULT_DATASET_INTERVAL = 30.0
"""Seconds between runs of a dataset → dataset pipe without a schedule (Sesam: 30 s ± 1.5 s)."""
DEFAULT_OTHER_INTERVAL = 900.0
"""Seconds between runs of any other pipe without a schedule (Sesam: 900 s ± 45 s)."""

_MICROS = 1_000_000


@dataclass(frozen=True, slots=True)
class Schedule:
    """When one pipe runs by itself. ``automatic`` is false for manual/off/push pipes."""

    pipe: str
    automatic: bool
    interval: float | None = None
    cron: CronExpression | None = None
    reason: str = ""
    """Why the pipe is not automatic, or where its interval came from."""

    def next_due(self, last_run_ts: int | None, started_ts: int) -> int | None:
        """The µs timestamp from which the pipe is due, or ``None`` (never automatically)."""
        if not self.automatic:
            return None
        if self.cron is not None:
            return self.cron.next_fire_micros(
                last_run_ts if last_run_ts is not None else started_ts
            )
        if last_run_ts is None or self.interval is None:
            return started_ts
        return last_run_ts + round(self.interval * _MICROS)

    def describe(self) -> str:
        if not self.automatic:
            return self.reason
        if self.cron is not None:
            return f"cron {self.cron.text!r} (UTC)"
        return f"every {self.interval:g} s{self.reason}"


def schedule_for(pipe: PipeConfig) -> Schedule:
    """The pipe's schedule from its ``pump`` config and Sesam's defaults (see module notes)."""
    skip = skip_reason(pipe)
    if skip is not None:
        return Schedule(pipe.id, False, reason=skip)
    if pipe.pump.mode == "manual":
        return Schedule(pipe.id, False, reason="pump mode is 'manual'")
    if pipe.pump.cron_expression is not None:
        try:
            cron = parse_cron(pipe.pump.cron_expression)
        except HubError as e:
            where = _pipe_path(pipe) / "pump" / "cron_expression"
            raise e.located(file=pipe.file, pipe=pipe.id, path=where) from None
        return Schedule(pipe.id, True, cron=cron)
    if pipe.pump.schedule_interval is not None:
        if pipe.pump.schedule_interval <= 0:
            raise ConfigError(
                f"expected a positive 'schedule_interval', got {pipe.pump.schedule_interval}",
                file=pipe.file,
                path=_pipe_path(pipe) / "pump" / "schedule_interval",
                pipe=pipe.id,
            )
        return Schedule(pipe.id, True, interval=float(pipe.pump.schedule_interval))
    dataset_to_dataset = pipe.source.type in DATASET_SOURCES and pipe.sink.type == "dataset"
    if dataset_to_dataset:
        return Schedule(pipe.id, True, DEFAULT_DATASET_INTERVAL, reason=" (dataset default)")
    return Schedule(pipe.id, True, DEFAULT_OTHER_INTERVAL, reason=" (default)")


def _pipe_path(pipe: PipeConfig) -> JsonPath:
    """Where the pipe object sits in its file (files may hold a list of pipes)."""
    return JsonPath(pipe.source.path.parts[:-1])


@dataclass(frozen=True, slots=True)
class PumpRun:
    """One pipe run started by the pump: a report, or the error of a failed run."""

    pipe: str
    started: int
    report: RunReport | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class PumpTick:
    """One pass over the due pipes; ``stopped`` when the stop event cut it short."""

    now: int
    due: tuple[str, ...]
    runs: tuple[PumpRun, ...]
    stopped: bool = False


@dataclass(slots=True)
class PumpSummary:
    """What :meth:`Pump.run_forever` did before it stopped (counts, not every run)."""

    ticks: int = 0
    runs: int = 0
    failures: int = 0
    last_errors: dict[str, str] = field(default_factory=dict)


class Pump:
    """Schedules the pipes of one runner's project (see module notes)."""

    def __init__(
        self,
        runner: PipeRunner,
        *,
        graph: PipeGraph | None = None,
        clock: Clock | None = None,
        started: int | None = None,
        on_run: Callable[[PumpRun], None] | None = None,
    ) -> None:
        self.runner = runner
        self.graph = graph if graph is not None else build_graph(runner.project)
        self.clock: Clock = clock if clock is not None else runner.store.clock
        self.started = started if started is not None else self.clock.now_micros()
        self.on_run = on_run
        self.schedules: dict[str, Schedule] = {
            pid: schedule_for(runner.project.pipe(pid)) for pid in self.graph.order()
        }
        # Attempts this pump made, in case a run failed before the runner could record it:
        # without this a pipe whose state cannot be saved would be retried in a tight loop.
        self._attempted: dict[str, int] = {}

    def next_due(self, pipe_id: str) -> int | None:
        """When ``pipe_id`` is next due (µs), or ``None`` if it never runs automatically."""
        last = self.runner.store.pipe_state(pipe_id).last_run_ts
        attempted = self._attempted.get(pipe_id)
        if attempted is not None and (last is None or attempted > last):
            last = attempted
        return self.schedules[pipe_id].next_due(last, self.started)

    def due(self, now: int) -> list[str]:
        """Pipes due at ``now`` (µs), in graph order."""
        out = []
        for pid in self.schedules:
            when = self.next_due(pid)
            if when is not None and when <= now:
                out.append(pid)
        return out

    def seconds_until_next(self, now: int) -> float | None:
        """Seconds from ``now`` until the next pipe is due (0 if one is due), or ``None``."""
        times = [t for t in (self.next_due(pid) for pid in self.schedules) if t is not None]
        if not times:
            return None
        return max(0.0, (min(times) - now) / _MICROS)

    def run_once(self, now: int | None = None, *, stop: threading.Event | None = None) -> PumpTick:
        """Run the pipes due at ``now`` in graph order, checking ``stop`` before each run."""
        now = now if now is not None else self.clock.now_micros()
        due = self.due(now)
        runs: list[PumpRun] = []
        for pid in due:
            if stop is not None and stop.is_set():
                return PumpTick(now, tuple(due), tuple(runs), stopped=True)
            runs.append(self._run(pid))
        return PumpTick(now, tuple(due), tuple(runs))

    def _run(self, pipe_id: str) -> PumpRun:
        started = self.clock.now_micros()
        self._attempted[pipe_id] = started
        try:
            run = PumpRun(pipe_id, started, report=self.runner.run(pipe_id))
        except HubError as e:
            _log.warning("pump: pipe %r failed: %s", pipe_id, e)
            run = PumpRun(pipe_id, started, error=str(e))
        if self.on_run is not None:
            self.on_run(run)
        return run

    def run_forever(
        self,
        stop: threading.Event,
        *,
        sleep: Callable[[float], object] | None = None,
        max_wait: float = 60.0,
    ) -> PumpSummary:
        """Tick until ``stop`` is set; between ticks wait until the next pipe is due.

        ``sleep`` defaults to ``stop.wait`` (so setting the event wakes the pump at once); tests
        pass a function that advances a fake clock. Waits are capped at ``max_wait`` seconds so
        a schedule change of the clock (suspend, NTP) is noticed.
        """
        wait = sleep if sleep is not None else stop.wait
        summary = PumpSummary()
        while not stop.is_set():
            tick = self.run_once(stop=stop)
            summary.ticks += 1
            summary.runs += len(tick.runs)
            for run in tick.runs:
                if run.error is not None:
                    summary.failures += 1
                    summary.last_errors[run.pipe] = run.error
            if stop.is_set():
                break
            until = self.seconds_until_next(self.clock.now_micros())
            seconds = max_wait if until is None else min(until, max_wait)
            if seconds > 0:
                wait(seconds)
        return summary
