"""The Python / notebook API: ``Hub.open(".")`` and everything the CLI does, as objects.

``cli.py`` is a thin shell over this module; notebooks and batch jobs use it directly::

    from engine import Hub
    hub = Hub.open(".")
    hub.datasets()                              # names and counts
    ds = hub.dataset("global-organisation")
    ds.to_arrow(); ds.to_pandas(); ds.relation()   # latest versions
    ds.history("customerp-customer:42")
    hub.sql("select count(*) from dataset('customerp-customer')")
    hub.run("customerp-customer-collect")
    hub.runs(); hub.as_of(17).dataset("global-organisation")   # every dataset as run 17 left it
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine import html
from engine.clock import Clock
from engine.config.project import Project, load_project
from engine.errors import ConfigError
from engine.graph import PipeGraph, build_graph
from engine.plan import Plan, make_plan
from engine.pump import Pump, PumpRun
from engine.reconcile import (
    DEFAULT_MAX_PASSES,
    PassReport,
    PipeStep,
    ReconcileReport,
    reconcile,
    run_pass,
    sent_by_system,
    share_targets,
)
from engine.runner import PipeRunner, RunReport
from engine.store import Store
from engine.store.runs import UnknownRunError, get_run, list_runs, run_range
from engine.views import DatasetList, DatasetSummary, DatasetView, HubView, RunList
from engine.why import Why, explain_entity

__all__ = [
    "DatasetList",
    "DatasetSummary",
    "DatasetView",
    "Hub",
    "HubView",
    "PipeSummary",
    "RunList",
    "UnknownRunError",
]

DEFAULT_DB = Path("datasets") / "hub.duckdb"


@dataclass(frozen=True, slots=True)
class PipeSummary:
    id: str
    source: str
    sink: str
    since: Any
    last_run_ts: int | None
    status: str | None
    runs: int
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "sink": self.sink,
            "offset": self.since,
            "last_run_ts": self.last_run_ts,
            "status": self.status or "never run",
            "runs": self.runs,
            "error": self.error,
        }


def _copy_database(store: Store, target: Path) -> None:
    """Copy the hub database to ``target`` (a file) without changing it: the plan's shadow."""
    if store.path == ":memory:":
        store.run(f"ATTACH {_sql_str(str(target))} AS plan_shadow")
        try:
            store.run("COPY FROM DATABASE memory TO plan_shadow")
        finally:
            store.run("DETACH plan_shadow")
        return
    import shutil

    store.run("CHECKPOINT")
    shutil.copyfile(store.path, target)


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class Hub:
    """A project folder plus its hub database."""

    def __init__(self, project: Project, store: Store) -> None:
        self.project = project
        self.store = store
        self.runner = PipeRunner(store, project)

    @classmethod
    def open(
        cls,
        project_dir: str | Path = ".",
        *,
        db: str | Path | None = None,
        env: Mapping[str, str] | None = None,
        secrets: Mapping[str, str] | None = None,
        clock: Clock | None = None,
    ) -> Hub:
        root = Path(project_dir)
        if not root.is_dir():
            raise ConfigError(f"project folder {str(root)!r} does not exist")
        project = load_project(root, env=env, secrets=secrets)
        path = Path(db) if db is not None else root / DEFAULT_DB
        return cls(project, Store(path, clock=clock))

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Hub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- datasets -----------------------------------------------------------------------------

    def datasets(self, *, include_system: bool = False) -> DatasetList:
        """Every dataset (``system:*`` ones on request) with its counts."""
        return HubView(self.store).datasets(include_system=include_system)

    def dataset(self, name: str) -> DatasetView:
        return HubView(self.store).dataset(name)

    def sql(self, query: str, params: list[Any] | None = None) -> Any:
        """Run SQL where ``dataset('name')`` means the latest live versions of that dataset."""
        return HubView(self.store).sql(query, params)

    # --- runs and time travel -----------------------------------------------------------------

    def runs(self, *, limit: int | None = None, pipe: str | None = None) -> RunList:
        """Committed pipe runs, newest first: id, pipe, started/finished, status, counts."""
        return RunList(list_runs(self.store, limit=limit, pipe=pipe))

    def as_of(self, run_id: int) -> HubView:
        """Every dataset as it was when run ``run_id`` committed (read-only, consistent).

        The view has the read API of the hub: ``datasets()``, ``dataset(name)`` and
        ``sql(...)``. An unknown run raises :class:`UnknownRunError` naming the valid range.
        """
        return HubView(self.store, get_run(self.store, run_id))

    def __repr__(self) -> str:
        return f"<hub {str(self.project.root)!r}, database {self.store.path!r}>"

    def _repr_html_(self) -> str:
        last = run_range(self.store)
        detail = f"database {self.store.path}" + (f", last run {last[1]}" if last else "")
        return html.section(f"hub {self.project.root}", detail, self.datasets()._repr_html_())

    # --- pipes --------------------------------------------------------------------------------

    def pipes(self) -> list[PipeSummary]:
        states = self.store.pipe_states()
        out = []
        for pipe in sorted(self.project.pipes.values(), key=lambda p: p.id):
            st = states.get(pipe.id)
            sink = pipe.sink.type
            if pipe.sink_dataset:
                sink = f"{sink}:{pipe.sink_dataset}"
            source = pipe.source.type
            if pipe.source.type == "dataset":
                source = f"dataset:{pipe.source.raw.get('dataset')}"
            out.append(
                PipeSummary(
                    pipe.id,
                    source,
                    sink,
                    st.since if st else None,
                    st.last_run_ts if st else None,
                    st.last_status if st else None,
                    st.runs if st else 0,
                    st.last_error if st else None,
                )
            )
        return out

    def run(
        self,
        pipe_id: str,
        *,
        full: bool = False,
        dry_run: bool = False,
        force: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> RunReport:
        return self.runner.run(pipe_id, full=full, dry_run=dry_run, force=force, progress=progress)

    def graph(self) -> PipeGraph:
        """The pipe dependency graph (sources, hops, lookups) of the project."""
        return build_graph(self.project)

    def run_order(self, pipe_ids: list[str] | None = None) -> list[str]:
        """Pipes in dependency order: a pipe runs after the pipes producing its inputs."""
        return self.graph().order(pipe_ids)

    def run_all(
        self,
        *,
        full: bool = False,
        dry_run: bool = False,
        force: bool = False,
        progress: Callable[[PipeStep], None] | None = None,
    ) -> PassReport:
        """One pass over every pipe in graph order (``pipe run --all``)."""
        return run_pass(
            self.runner, self.graph(), full=full, dry_run=dry_run, force=force, progress=progress
        )

    def reconcile(
        self,
        *,
        max_passes: int = DEFAULT_MAX_PASSES,
        full: bool = False,
        full_collect: bool | None = None,
        force: bool = False,
        keep_going: bool = False,
        progress: Callable[[PipeStep], None] | None = None,
    ) -> ReconcileReport:
        """Run every pipe in graph order, pass after pass, until a pass changes nothing.

        ``full_collect`` says how the first pass collects: ``None`` follows each collect's
        rescan schedule (in full when it has none), ``True`` lists every system in full,
        ``False`` only what changed (:func:`engine.reconcile.reconcile`).

        The reconcile's window (start, end, every dataset's offsets around it) and summary are
        recorded in the store, so ``pipe report`` can describe the last reconcile later.
        """
        from engine.reconcile import NotConvergedError
        from engine.store.reconciles import ReconcileLog

        log = ReconcileLog(self.store)
        window = log.begin()
        status, summary = "failed", None
        try:
            report = reconcile(
                self.runner,
                self.graph(),
                max_passes=max_passes,
                full=full,
                full_collect=full_collect,
                force=force,
                keep_going=keep_going,
                progress=progress,
            )
            status, summary = "converged", {**report.to_dict(), "sent": self.sent(report)}
            return report
        except NotConvergedError as e:
            status, summary = "not-converged", {**e.report.to_dict(), "sent": self.sent(e.report)}
            raise
        finally:
            log.finish(window, status, summary)

    def report(self) -> Any:
        """The conflict and drift report of the last reconcile (:class:`engine.report.Report`)."""
        from engine.report import build_report

        return build_report(self.store, self.project)

    def plan(self, *, max_passes: int = DEFAULT_MAX_PASSES) -> Plan:
        """What a reconcile would send to each system, field by field; sends and writes nothing.

        The reconcile runs against a throw-away copy of the hub database, with every system
        client replaced by a write-capturing overlay (reads see the real systems as if the
        writes had happened), so sends that depend on earlier sends of the same reconcile are
        in the plan too. See :mod:`engine.plan`.
        """
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "plan.duckdb"
            _copy_database(self.store, copy)
            with Store(copy, clock=self.store.clock) as store:
                shadow = Hub(self.project, store)
                return make_plan(shadow.runner, sent_counts=shadow.sent, max_passes=max_passes)

    def sent(self, report: ReconcileReport | PassReport) -> dict[str, dict[str, dict[str, int]]]:
        """What a reconcile (or one pass) sent: system → datatype → insert/update/delete.

        Every system and datatype a share pipe targets is present, zeros included, so scripts
        can rely on the shape.
        """
        passes = report.passes if isinstance(report, ReconcileReport) else (report,)
        return sent_by_system(passes, share_targets(self.project))

    def pump(self, *, on_run: Callable[[PumpRun], None] | None = None) -> Pump:
        """The scheduler: runs due pipes (``schedule_interval``/``cron_expression``)."""
        return Pump(self.runner, graph=self.graph(), on_run=on_run)

    def reset(self, pipe_id: str) -> bool:
        self.project.pipe(pipe_id)
        return self.store.reset_pipe(pipe_id)

    def why(self, entity_id: str) -> Why:
        """Where a global or share entity came from, who won each property, where it was sent.

        ``entity_id`` is a golden id, a share id or a member id (``customerp-customer:42``).
        Read-only; see :mod:`engine.why`.
        """
        return explain_entity(self.store, self.project, entity_id, graph=self.graph())
