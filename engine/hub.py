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
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from engine.clock import Clock
from engine.config.project import Project, load_project
from engine.entity import Entity
from engine.errors import ConfigError, DatasetError, did_you_mean
from engine.graph import PipeGraph, build_graph
from engine.pump import Pump, PumpRun
from engine.reconcile import (
    DEFAULT_MAX_PASSES,
    PassReport,
    PipeStep,
    ReconcileReport,
    reconcile,
    run_pass,
)
from engine.runner import PipeRunner, RunReport
from engine.store import Store

__all__ = ["DatasetSummary", "DatasetView", "Hub", "PipeSummary"]

DEFAULT_DB = Path("datasets") / "hub.duckdb"


@dataclass(frozen=True, slots=True)
class DatasetSummary:
    name: str
    live: int
    deleted: int
    versions: int
    populated: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "live": self.live,
            "deleted": self.deleted,
            "versions": self.versions,
            "populated": self.populated,
        }


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


class DatasetView:
    """One dataset as seen from a notebook: latest versions as Arrow, pandas or SQL."""

    def __init__(self, hub: Hub, name: str) -> None:
        self.hub = hub
        self.name = name
        self._ds = hub.store.dataset(name)

    def to_arrow(self, *, include_deleted: bool = False) -> pa.Table:
        """Latest versions with the body expanded into columns (typed values as transit text)."""
        return self.relation(include_deleted=include_deleted).to_arrow_table()

    def to_pandas(self, *, include_deleted: bool = False) -> Any:
        return self.to_arrow(include_deleted=include_deleted).to_pandas()

    def relation(self, *, include_deleted: bool = False) -> Any:
        """A DuckDB relation of the latest versions, one column per top-level property."""
        return self.hub.store.con.sql(_latest_sql(self.hub.store, self.name, include_deleted))

    def entities(self, *, include_deleted: bool = False) -> list[Entity]:
        return self._ds.latest_entities(include_deleted=include_deleted)

    def get(self, entity_id: str) -> Entity | None:
        return self._ds.latest(entity_id)

    def history(self, entity_id: str) -> list[Entity]:
        return self._ds.history(entity_id)

    def counts(self) -> Any:
        return self._ds.counts()

    def __len__(self) -> int:
        return int(self._ds.counts().live)

    def __repr__(self) -> str:
        c = self._ds.counts()
        return f"<dataset {self.name!r}: {c.live} live, {c.deleted} deleted, {c.versions} versions>"


def _latest_sql(store: Store, name: str, include_deleted: bool) -> str:
    info = store.dataset_info(name)
    if info is None:
        raise DatasetError(
            f"no dataset {name!r}{did_you_mean(name, {i.name for i in store.dataset_infos()})}"
        )
    where = "" if include_deleted else "WHERE NOT _deleted"
    keys = store.fetchall(
        f"""SELECT DISTINCT unnest(json_keys(body)) AS k FROM log_{info.tid}
            WHERE _updated IN (SELECT _updated FROM cur_{info.tid} {where}) ORDER BY k"""
    )
    cols = ", ".join(
        f"body->>{_sql_str(k)} AS {_ident(k)}" for (k,) in keys if k not in ("_id", "_deleted")
    )
    select = "_id, _deleted, _updated, _ts" + (", " + cols if cols else "")
    return (
        f"SELECT {select} FROM log_{info.tid} "
        f"WHERE _updated IN (SELECT _updated FROM cur_{info.tid} {where}) ORDER BY _id"
    )


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


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

    def datasets(self, *, include_system: bool = False) -> list[DatasetSummary]:
        out = []
        for info in self.store.dataset_infos():
            if info.name.startswith("system:") and not include_system:
                continue
            c = self.store.dataset(info.name).counts()
            out.append(DatasetSummary(info.name, c.live, c.deleted, c.versions, info.populated))
        return out

    def dataset(self, name: str) -> DatasetView:
        if self.store.dataset_info(name) is None:
            known = {i.name for i in self.store.dataset_infos()}
            raise DatasetError(f"no dataset {name!r}{did_you_mean(name, known)}")
        return DatasetView(self, name)

    def sql(self, query: str, params: list[Any] | None = None) -> Any:
        """Run SQL where ``dataset('name')`` means the latest live versions of that dataset."""

        def expand(match: re.Match[str]) -> str:
            return "(" + _latest_sql(self.store, match.group(2), False) + ")"

        expanded = re.sub(r"dataset\((['\"])(.+?)\1\)", expand, query)
        return (
            self.store.con.sql(expanded, params=params) if params else self.store.con.sql(expanded)
        )

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
        force: bool = False,
        keep_going: bool = False,
        progress: Callable[[PipeStep], None] | None = None,
    ) -> ReconcileReport:
        """Run every pipe in graph order, pass after pass, until a pass changes nothing."""
        return reconcile(
            self.runner,
            self.graph(),
            max_passes=max_passes,
            full=full,
            force=force,
            keep_going=keep_going,
            progress=progress,
        )

    def plan(self, *, max_passes: int = DEFAULT_MAX_PASSES) -> ReconcileReport:
        """What a reconcile would send to each system, sending nothing and writing nothing.

        The reconcile runs against a copy of the hub database with every share in dry-run
        mode (collects still read the systems). A send that a reconcile would only make after
        an earlier send of the same reconcile (an invoice waiting for the customer it is about
        to insert) appears in the next plan, not this one.
        """
        import shutil
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "plan.duckdb"
            if self.store.path != ":memory:":
                self.store.run("CHECKPOINT")
                shutil.copyfile(self.store.path, copy)
            with Store(copy, clock=self.store.clock) as store:
                shadow = Hub(self.project, store)
                return reconcile(
                    shadow.runner, shadow.graph(), max_passes=max_passes, dry_run_shares=True
                )

    def sent(self, report: ReconcileReport | PassReport) -> dict[str, dict[str, dict[str, int]]]:
        """What a reconcile (or one pass) sent: system → datatype → insert/update/delete.

        Every system and datatype a share pipe targets is present, zeros included, so scripts
        can rely on the shape.
        """
        out: dict[str, dict[str, dict[str, int]]] = {}
        targets: dict[str, tuple[str, str]] = {}
        for pipe in self.project.pipes.values():
            if pipe.sink.type == "system":
                system = str(pipe.sink.raw.get("system"))
                datatype = str(pipe.sink.raw.get("datatype"))
                targets[pipe.id] = (system, datatype)
                out.setdefault(system, {}).setdefault(
                    datatype, {"insert": 0, "update": 0, "delete": 0}
                )
        passes = report.passes if isinstance(report, ReconcileReport) else (report,)
        # A dry-run share commits nothing, so every pass of a plan recounts the same would-be
        # sends: its last run is the plan. Real runs send, so their counts add up.
        planned: dict[str, dict[str, int]] = {}
        for one in passes:
            for run in one.runs:
                if not run.sent or run.pipe not in targets:
                    continue
                if run.dry_run:
                    planned[run.pipe] = run.sent
                    continue
                system, datatype = targets[run.pipe]
                for op in ("insert", "update", "delete"):
                    out[system][datatype][op] += int(run.sent.get(op, 0))
        for pipe_id, counts in planned.items():
            system, datatype = targets[pipe_id]
            for op in ("insert", "update", "delete"):
                out[system][datatype][op] += int(counts.get(op, 0))
        return out

    def pump(self, *, on_run: Callable[[PumpRun], None] | None = None) -> Pump:
        """The scheduler: runs due pipes (``schedule_interval``/``cron_expression``)."""
        return Pump(self.runner, graph=self.graph(), on_run=on_run)

    def reset(self, pipe_id: str) -> bool:
        self.project.pipe(pipe_id)
        return self.store.reset_pipe(pipe_id)
