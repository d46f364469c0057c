"""What the report looks at: the reconcile window per dataset, the global and share pipes.

Every section of the report is a query over dataset logs limited to the reconcile window: a
version belongs to the reconcile when ``before <= _updated < after`` (see
:mod:`engine.store.reconciles`), and "as the reconcile left it" means the latest version with
``_updated < after``. This module turns the window into those bounds and holds the two SQL
fragments every query needs, so the sections agree on what "before" and "after" mean.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.config.pipes import PipeConfig
from engine.config.project import Project
from engine.store import Store
from engine.store.reconciles import ReconcileWindow
from engine.survivorship import SurvivorshipConfig, parse_survivorship

__all__ = [
    "Bounds",
    "GlobalPipe",
    "Scope",
    "SharePipe",
    "ids_sql",
    "latest_sql",
    "namespace_sql",
]


@dataclass(frozen=True, slots=True)
class Bounds:
    """One dataset's log table and the offsets of the window: ``before <= _updated < after``."""

    table: str
    before: int
    after: int


@dataclass(frozen=True, slots=True)
class GlobalPipe:
    """A merge pipe (``global-<concept>``) with its survivorship config, if it has one."""

    pipe: PipeConfig
    dataset: str
    survivorship: SurvivorshipConfig | None

    def member_dataset(self, namespace: str) -> str:
        """Where members of ``namespace`` live (survivorship's ``members``, else the name)."""
        members = self.survivorship.members if self.survivorship else None
        return (members or {}).get(namespace, namespace)


@dataclass(frozen=True, slots=True)
class SharePipe:
    """A share pipe (sink type ``system``): which global it reads and where it writes."""

    pipe: PipeConfig
    source: str
    log: str
    system: str
    datatype: str
    target_namespace: str
    insert_from: tuple[str, ...]


class Scope:
    """The store, the project's global and share pipes, and the window of one reconcile."""

    def __init__(self, store: Store, project: Project, window: ReconcileWindow) -> None:
        self.store = store
        self.window = window
        self.globals: list[GlobalPipe] = []
        self.shares: list[SharePipe] = []
        for pipe in sorted(project.pipes.values(), key=lambda p: p.id):
            if pipe.source.type == "merge" and pipe.sink_dataset:
                surv = next((t for t in pipe.transforms if t.type == "survivorship"), None)
                config = parse_survivorship(surv, file=pipe.file) if surv else None
                self.globals.append(GlobalPipe(pipe, pipe.sink_dataset, config))
            elif pipe.sink.type == "system":
                self.shares.append(_share(pipe))

    def bounds(self, dataset: str) -> Bounds | None:
        """The window of ``dataset``, or ``None`` when the dataset does not exist."""
        info = self.store.dataset_info(dataset)
        if info is None:
            return None
        return Bounds(
            f"log_{info.tid}",
            self.window.before(dataset),
            self.window.after(dataset, info.next_offset),
        )


def _share(pipe: PipeConfig) -> SharePipe:
    raw = pipe.sink.raw
    system, datatype = str(raw.get("system") or ""), str(raw.get("datatype") or "")
    meta = pipe.metadata or {}
    inputs = pipe.input_datasets()
    return SharePipe(
        pipe=pipe,
        source=inputs[0] if inputs else "",
        log=str(pipe.sink.dataset or pipe.id),
        system=system,
        datatype=datatype,
        target_namespace=str(meta.get("target_namespace") or f"{system}-{datatype}"),
        insert_from=tuple(str(n) for n in meta.get("insert_from") or ()),
    )


def latest_sql(bounds: Bounds, *, live: bool = True, at_start: bool = False) -> str:
    """Each ``_id``'s latest version at the end (or start) of the window, as a subquery.

    Columns ``_id, _updated, _ts, _deleted, body``; ``live`` drops ids whose latest version
    is deleted (the filter applies after picking the latest, never before).
    """
    limit = bounds.before if at_start else bounds.after
    latest = (
        f"SELECT _id, _updated, _ts, _deleted, body FROM {bounds.table} WHERE _updated < {limit} "
        "QUALIFY row_number() OVER (PARTITION BY _id ORDER BY _updated DESC) = 1"
    )
    return f"(SELECT * FROM ({latest}) WHERE NOT _deleted)" if live else f"({latest})"


def namespace_sql(member: str) -> str:
    """The namespace of a member id ``<ns>:<id>`` (identifiers hold no colon: split at the last,
    as :meth:`engine.entity.NI.parse` does)."""
    return f"regexp_extract({member}, '^(.*):[^:]*$', 1)"


def ids_sql(body: str) -> str:
    """The ``$ids`` of ``body`` as a ``VARCHAR[]`` of transit texts (``~:<ns>:<id>``)."""
    ids = f"json_extract({body}, '$.\"$ids\"')"
    return (
        f"CASE WHEN json_type({ids}) = 'ARRAY' THEN from_json({ids}, '[\"VARCHAR\"]') "
        f"ELSE [json_extract_string({body}, '$.\"$ids\"')] END"
    )
