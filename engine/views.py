"""Read-only views of the hub's datasets: as they are now, or as a past run left them.

``hub.dataset(name)`` and ``hub.as_of(run).dataset(name)`` are the same class, differing only in
a *bound*: a dataset as of run *r* is the versions with ``_updated`` below the offset recorded
when *r* committed (:mod:`engine.store.runs`), and an entity's version then is its newest
version below the bound. Every read (Arrow, pandas, a DuckDB relation, entities, one entity, its
history, the counts, SQL through ``dataset('name')``) is built on one subquery that picks those
versions, so the views of one run agree with each other and across datasets. Without a bound the
subquery is the dataset's current-state table, i.e. the latest versions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from engine import html
from engine.entity import Entity
from engine.errors import DatasetError, did_you_mean
from engine.store.batches import table_to_entities
from engine.store.dataset import DatasetCounts
from engine.store.runs import RunBound, RunRecord, offsets_at
from engine.store.store import arrow_table, first_row

if TYPE_CHECKING:
    from engine.store.store import Store

__all__ = ["DatasetList", "DatasetSummary", "DatasetView", "HubView", "RunList"]

_READ_COLUMNS = "_updated, _id, _deleted, _ts, _hash, _previous, body"
PREVIEW_ROWS = 10
"""Rows a dataset shows in a notebook."""
PREVIEW_COLUMNS = 12
"""Property columns a dataset shows in a notebook (after ``_id``)."""


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


class DatasetList(list[DatasetSummary]):
    """``hub.datasets()``: a plain list of summaries that draws itself as a table in Jupyter."""

    as_of: int | None = None

    def _repr_html_(self) -> str:
        return html.datasets_html([d.to_dict() for d in self], as_of=self.as_of)


class RunList(list[RunRecord]):
    """``hub.runs()``: a plain list of runs (newest first) that draws itself as a table."""

    def _repr_html_(self) -> str:
        return html.runs_html([r.to_dict() for r in self])


class DatasetView:
    """One dataset as seen from a notebook: latest versions as Arrow, pandas, SQL or entities.

    ``bound`` (exclusive offset) and ``as_of`` (the run id it came from) are set for a dataset
    as of a past run; ``None`` means now.
    """

    def __init__(
        self,
        store: Store,
        name: str,
        tid: int,
        *,
        bound: int | None = None,
        as_of: int | None = None,
    ) -> None:
        self.store = store
        self.name = name
        self.as_of = as_of
        self._log = f"log_{int(tid)}"
        self._cur = f"cur_{int(tid)}"
        self._bound = bound

    def _versions(self, *, one_id: bool = False) -> str:
        """SQL selecting the ``_updated`` of each entity's version in this view.

        With ``one_id`` only the entity whose ``_id`` is the query's ``?`` parameter.
        """
        if self._bound is None:
            return f"SELECT _updated FROM {self._cur}" + (" WHERE _id = ?" if one_id else "")
        where = f"_updated < {int(self._bound)}" + (" AND _id = ?" if one_id else "")
        return f"SELECT max(_updated) FROM {self._log} WHERE {where} GROUP BY _id"

    def latest_sql(self, *, include_deleted: bool = False) -> str:
        """A query of the latest versions, one column per top-level property (for SQL)."""
        live = "" if include_deleted else " AND NOT _deleted"
        where = f"WHERE _updated IN ({self._versions()}){live}"
        keys = self.store.fetchall(
            f"SELECT DISTINCT unnest(json_keys(body)) AS k FROM {self._log} {where} ORDER BY k"
        )
        cols = ", ".join(
            f"body->>{_sql_str(_key_path(k))} AS {_ident(k)}"
            for (k,) in keys
            if k not in ("_id", "_deleted")
        )
        select = "_id, _deleted, _updated, _ts" + (", " + cols if cols else "")
        return f"SELECT {select} FROM {self._log} {where} ORDER BY _id"

    def relation(self, *, include_deleted: bool = False) -> Any:
        """A DuckDB relation of the latest versions, one column per top-level property."""
        return self.store.con.sql(self.latest_sql(include_deleted=include_deleted))

    def to_arrow(self, *, include_deleted: bool = False) -> pa.Table:
        """Latest versions with the body expanded into columns (typed values as transit text)."""
        return arrow_table(self.relation(include_deleted=include_deleted))

    def to_pandas(self, *, include_deleted: bool = False) -> Any:
        return self.to_arrow(include_deleted=include_deleted).to_pandas()

    def _entities(self, where: str, params: list[Any] | None = None) -> list[Entity]:
        sql = f"SELECT {_READ_COLUMNS} FROM {self._log} WHERE {where}"
        return table_to_entities(arrow_table(self.store.execute(sql, params or [])))

    def entities(self, *, include_deleted: bool = False) -> list[Entity]:
        """Latest versions as entities, ordered by ``_id`` (deleted ones on request)."""
        live = "" if include_deleted else " AND NOT _deleted"
        return self._entities(f"_updated IN ({self._versions()}){live} ORDER BY _id")

    def get(self, entity_id: str) -> Entity | None:
        """The latest version of one entity (deleted or not), or ``None``."""
        found = self._entities(f"_updated IN ({self._versions(one_id=True)})", [entity_id])
        return found[0] if found else None

    def history(self, entity_id: str) -> list[Entity]:
        """Every version of one entity, oldest first (up to the bound)."""
        bound = "" if self._bound is None else f" AND _updated < {int(self._bound)}"
        return self._entities(f"_id = ?{bound} ORDER BY _updated", [entity_id])

    def counts(self) -> DatasetCounts:
        row = first_row(
            self.store.execute(
                f"SELECT count(*) FILTER (WHERE NOT _deleted), count(*) FILTER (WHERE _deleted) "
                f"FROM {self._log} WHERE _updated IN ({self._versions()})"
            )
        )
        live, deleted = (int(row[0]), int(row[1])) if row else (0, 0)
        if self._bound is not None:
            versions = self._bound
        else:
            total = first_row(self.store.execute(f"SELECT count(*) FROM {self._log}"))
            versions = int(total[0]) if total else 0
        return DatasetCounts(live, deleted, versions)

    def __len__(self) -> int:
        return self.counts().live

    def __repr__(self) -> str:
        c = self.counts()
        when = f" as of run {self.as_of}" if self.as_of is not None else ""
        return (
            f"<dataset {self.name!r}{when}: {c.live} live, {c.deleted} deleted, "
            f"{c.versions} versions>"
        )

    def _repr_html_(self) -> str:
        c = self.counts()
        rel = self.relation().limit(PREVIEW_ROWS)
        names = list(rel.columns)
        # plain properties first: ``$ids``/``$claims`` and namespaced copies are long and many
        props = sorted(
            (i for i, n in enumerate(names) if not n.startswith("_")),
            key=lambda i: (names[i].startswith("$"), ":" in names[i], i),
        )
        keep = [0, *props[:PREVIEW_COLUMNS]]
        rows = [[row[i] for i in keep] for row in rel.fetchall()]
        return html.dataset_html(
            self.name,
            live=c.live,
            deleted=c.deleted,
            versions=c.versions,
            columns=[names[i] for i in keep],
            rows=rows,
            as_of=self.as_of,
        )


class HubView:
    """The read side of a hub (datasets, one dataset, SQL), now or as of one past run."""

    def __init__(self, store: Store, run: RunRecord | None = None) -> None:
        self.store = store
        self.run = run
        self._bounds: dict[str, RunBound] | None = (
            None if run is None else offsets_at(store, run.id)
        )

    @property
    def as_of(self) -> int | None:
        return None if self.run is None else self.run.id

    def datasets(self, *, include_system: bool = False) -> DatasetList:
        """Every dataset (``system:*`` ones on request) with its counts."""
        out = DatasetList()
        out.as_of = self.as_of
        for info in self.store.dataset_infos():
            if info.name.startswith("system:") and not include_system:
                continue
            if self._bounds is not None and info.name not in self._bounds:
                continue
            c = self.dataset(info.name).counts()
            populated = (
                info.populated if self._bounds is None else self._bounds[info.name].populated
            )
            out.append(DatasetSummary(info.name, c.live, c.deleted, c.versions, populated))
        return out

    def dataset(self, name: str) -> DatasetView:
        info = self.store.dataset_info(name)
        if self._bounds is None:
            if info is None:
                known = {i.name for i in self.store.dataset_infos()}
                raise DatasetError(f"no dataset {name!r}{did_you_mean(name, known)}")
            return DatasetView(self.store, name, info.tid)
        bound = self._bounds.get(name)
        if bound is None or info is None:
            why = "it was created later" if info is not None else "no such dataset"
            hint = did_you_mean(name, self._bounds) if info is None else ""
            raise DatasetError(f"no dataset {name!r} as of run {self.as_of} ({why}){hint}")
        if info.next_offset < bound.next_offset:
            raise DatasetError(
                f"dataset {name!r} was dropped and recreated after run {self.as_of}; "
                "its earlier versions are gone"
            )
        return DatasetView(self.store, name, info.tid, bound=bound.next_offset, as_of=self.as_of)

    def sql(self, query: str, params: list[Any] | None = None) -> Any:
        """Run SQL where ``dataset('name')`` means that dataset's latest live versions here."""

        def expand(match: re.Match[str]) -> str:
            return "(" + self.dataset(match.group(2)).latest_sql() + ")"

        expanded = re.sub(r"dataset\((['\"])(.+?)\1\)", expand, query)
        return (
            self.store.con.sql(expanded, params=params) if params else self.store.con.sql(expanded)
        )

    def __repr__(self) -> str:
        when = f" as of run {self.as_of}" if self.as_of is not None else ""
        return f"<hub {self.store.path}{when}: {len(self.datasets())} datasets>"

    def _repr_html_(self) -> str:
        return self.datasets()._repr_html_()


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _key_path(key: str) -> str:
    """One top-level key as a JSON Pointer (RFC 6901): keys like ``$ids``, ``a.b`` or ``*`` are
    names, not paths. A quoted ``$."*"`` path is still a wildcard to DuckDB; a pointer is not.
    """
    return "/" + key.replace("~", "~0").replace("/", "~1")


def _ident(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'
