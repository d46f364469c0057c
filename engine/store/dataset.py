"""One dataset: an append-only, change-tracked log of entity versions in DuckDB.

Design notes
------------
* ``log_<n>`` holds every version: ``_updated`` (the per-dataset offset, 0, 1, 2 ...), ``_id``,
  ``_deleted``, ``_ts`` (µs), ``_hash`` (md5 of ``body``), ``_previous`` (the prior version's
  offset) and ``body`` (canonical JSON, see :mod:`engine.store.batches`).
* ``cur_<n>`` holds, per ``_id``, the offset and hash of the latest version. Change detection is
  one hash join of the incoming batch against it, in SQL: a version is appended only if the id
  is new or its hash differs (Sesam's dataset sink rule). Nothing here loops per entity.
* Within one batch the last occurrence of an ``_id`` wins (earlier ones are superseded before
  they are written).
* Deletion tracking (after a full run) appends a deleted version, with the last properties kept,
  for every live entity the run did not see.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from engine.entity import DELETED, Entity, loads
from engine.errors import DatasetError
from engine.store.batches import entities_to_batch, table_to_entities
from engine.store.store import arrow_table, first_row, translate_errors

if TYPE_CHECKING:
    from engine.store.store import DatasetInfo, Store

__all__ = ["AppendResult", "Dataset", "DatasetCounts"]

_READ_COLUMNS = "_updated, _id, _deleted, _ts, _hash, _previous, body"
APPEND_CHUNK = 250_000
"""Rows per change-detection query when appending a stream."""
DELETE_CHUNK = 10_000
"""Deleted versions decoded and appended together by deletion tracking."""


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What one append did: versions written, entities unchanged, and the offsets used."""

    written: int
    unchanged: int
    first_offset: int | None = None
    last_offset: int | None = None


@dataclass(frozen=True, slots=True)
class DatasetCounts:
    """Sizes of a dataset: live (latest not deleted), deleted (latest deleted), all versions."""

    live: int
    deleted: int
    versions: int


class Dataset:
    """Handle on one dataset of a :class:`Store`; cheap to create, tables made on first write."""

    def __init__(self, store: Store, name: str) -> None:
        self.store = store
        self.name = name

    # --- catalog ------------------------------------------------------------------------------

    @property
    def info(self) -> DatasetInfo | None:
        return self.store.dataset_info(self.name)

    @property
    def exists(self) -> bool:
        return self.info is not None

    def _require(self) -> DatasetInfo:
        info = self.info
        if info is None:
            raise DatasetError(f"dataset {self.name!r} does not exist")
        return info

    def _ensure(self) -> DatasetInfo:
        return self.store.create_dataset_tables(self.name)

    @property
    def populated(self) -> bool:
        info = self.info
        return bool(info and info.populated)

    @translate_errors
    def set_populated(self, value: bool = True) -> None:
        self._ensure()
        self.store.run("UPDATE hub_datasets SET populated = ? WHERE name = ?", [value, self.name])

    @property
    def completeness(self) -> int | None:
        """µs timestamp up to which this dataset's inputs were complete when last written."""
        info = self.info
        return info.completeness if info else None

    @translate_errors
    def set_completeness(self, micros: int) -> None:
        self._ensure()
        self.store.run(
            "UPDATE hub_datasets SET completeness = ? WHERE name = ?", [micros, self.name]
        )

    @translate_errors
    def offset_at(self, micros: int) -> int:
        """The newest offset whose version was written at or before ``micros`` (-1: none)."""
        info = self.info
        if info is None:
            return -1
        row = first_row(
            self.store.con.execute(
                f"SELECT coalesce(max(_updated), -1) FROM log_{info.tid} WHERE _ts <= ?", [micros]
            )
        )
        return int(row[0]) if row else -1

    @property
    def max_offset(self) -> int | None:
        """The offset of the newest version, or ``None`` for an empty dataset."""
        info = self.info
        if info is None or info.next_offset == 0:
            return None
        return info.next_offset - 1

    # --- writing ------------------------------------------------------------------------------

    def append(self, entities: Iterable[Entity] | pa.Table | pa.RecordBatchReader) -> AppendResult:
        """Append the versions that are new or changed; return what was written.

        A ``RecordBatchReader`` is consumed in chunks of :data:`APPEND_CHUNK` rows, so a large
        snapshot never has to be held in memory at once.
        """
        if isinstance(entities, pa.RecordBatchReader):
            return self._append_stream(entities)
        batch = entities if isinstance(entities, pa.Table) else entities_to_batch(entities)
        return self.append_batch(batch)

    def _append_stream(self, reader: pa.RecordBatchReader) -> AppendResult:
        written = unchanged = 0
        first: int | None = None
        last: int | None = None
        pending: list[pa.RecordBatch] = []
        rows = 0

        def flush() -> None:
            nonlocal written, unchanged, first, last, pending, rows
            if not pending:
                return
            result = self.append_batch(pa.Table.from_batches(pending))
            pending, rows = [], 0
            written += result.written
            unchanged += result.unchanged
            if result.first_offset is not None:
                first = result.first_offset if first is None else first
                last = result.last_offset

        with self.store.transaction():
            for record_batch in reader:
                pending.append(record_batch)
                rows += record_batch.num_rows
                if rows >= APPEND_CHUNK:
                    flush()
            flush()
        return AppendResult(written, unchanged, first, last)

    @translate_errors
    def append_batch(self, batch: pa.Table) -> AppendResult:
        """Append an Arrow batch (``_id``, ``_deleted``, ``body``) with change detection in SQL."""
        if batch.num_rows == 0:
            return AppendResult(0, 0)
        with self.store.transaction():
            info = self._ensure()
            tid = info.tid
            base = info.next_offset
            ts = self.store.clock.now_micros()
            # One statement from the batch to the log, no scratch table: a table created and
            # dropped inside the run's transaction stays in memory until the commit, so a
            # per-batch copy of the changed rows would add up to a second copy of the run.
            rows = self.store.run_arrow(
                f"""
                INSERT INTO log_{tid}
                WITH inc AS (
                    SELECT _id, _deleted, body, md5(body) AS _hash,
                           row_number() OVER () AS rn
                    FROM hub_incoming
                ), last AS (
                    SELECT * FROM inc
                    QUALIFY rn = max(rn) OVER (PARTITION BY _id)
                )
                SELECT {int(base)} + row_number() OVER (ORDER BY last.rn) - 1, last._id,
                       last._deleted, {int(ts)}, last._hash, c._updated, last.body
                FROM last LEFT JOIN cur_{tid} c ON c._id = last._id
                WHERE c._id IS NULL OR c._hash <> last._hash
                """,
                "hub_incoming",
                batch,
            )
            written = int(rows[0][0]) if rows else 0
            if written == 0:
                return AppendResult(0, batch.num_rows)
            # The new versions are exactly the log rows from ``base`` on (offsets are unique).
            new = f"SELECT _id, _updated, _hash, _deleted FROM log_{tid} WHERE _updated >= ?"
            self.store.run(f"DELETE FROM cur_{tid} WHERE _id IN (SELECT _id FROM ({new}))", [base])
            self.store.run(f"INSERT INTO cur_{tid} {new}", [base])
            self.store.run(
                "UPDATE hub_datasets SET next_offset = ? WHERE name = ?",
                [base + written, self.name],
            )
        return AppendResult(written, batch.num_rows - written, base, base + written - 1)

    @translate_errors
    def track_deletions(self, seen_table: str, *, mark_deletion_tracked: bool = False) -> int:
        """Append a deleted version of every live entity whose ``_id`` is not in ``seen_table``.

        ``seen_table`` is a table with one column ``_id`` (the ids a full run emitted). The
        deleted version keeps the last properties, as Sesam's deletion tracking does.
        """
        info = self.info
        if info is None:
            return 0
        # First only the offsets (an anti join that hashes just the seen ids), then the bodies
        # a window at a time: a full run that deletes most of a large dataset never holds all
        # the deleted entities, and the query never hashes the log's bodies.
        gone = arrow_table(
            self.store.con.execute(
                f"""
                SELECT c._updated FROM cur_{info.tid} c ANTI JOIN {seen_table} s ON s._id = c._id
                WHERE NOT c._deleted ORDER BY c._updated
                """
            )
        ).column(0)
        written = 0
        for start in range(0, len(gone), DELETE_CHUNK):
            offsets = gone.slice(start, DELETE_CHUNK).to_pylist()
            rows = self.store.fetchall(
                f"""
                SELECT body FROM log_{info.tid}
                WHERE _updated BETWEEN ? AND ? AND _updated IN (SELECT unnest(?::BIGINT[]))
                ORDER BY _updated
                """,
                [offsets[0], offsets[-1], offsets],
            )
            deletions = []
            for (body,) in rows:
                entity = loads(body)
                entity[DELETED] = True
                if mark_deletion_tracked:
                    entity["$deletion_tracked"] = True
                deletions.append(entity)
            written += self.append(deletions).written
        return written

    # --- reading ------------------------------------------------------------------------------

    @translate_errors
    def read_since(
        self,
        since: int | None = None,
        *,
        limit: int | None = None,
        include_previous_versions: bool = False,
        until: int | None = None,
    ) -> pa.Table:
        """Versions with ``_updated > since`` in log order, as Arrow.

        Without ``include_previous_versions`` a version is skipped when a newer version of the
        same id exists anywhere up to the head (Sesam's dataset source). ``until`` bounds the
        read to offsets ``<= until`` (completeness).
        """
        info = self.info
        if info is None:
            return _empty_read()
        conds = ["l._updated > ?"]
        params: list[Any] = [-1 if since is None else since]
        if until is not None:
            conds.append("l._updated <= ?")
            params.append(until)
        if not include_previous_versions:
            # the same bounds inside: the semi-join then hashes the window's part of cur only
            bounds = " AND ".join(c.replace("l.", "", 1) for c in conds)
            conds.append(f"l._updated IN (SELECT _updated FROM cur_{info.tid} WHERE {bounds})")
            params = [*params, *params]
        sql = (
            f"SELECT {_READ_COLUMNS} FROM log_{info.tid} l WHERE {' AND '.join(conds)} "
            "ORDER BY l._updated"
        )
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return arrow_table(self.store.con.execute(sql, params))

    def iter_since(
        self,
        since: int | None = None,
        *,
        batch_size: int = 10_000,
        include_previous_versions: bool = False,
        until: int | None = None,
    ) -> Iterator[pa.Table]:
        """:meth:`read_since` in windows of ``batch_size`` offsets (constant memory).

        Windows of offsets, not ``ORDER BY ... LIMIT`` pages: a page after a cursor makes
        DuckDB read every later row (bodies included) to find the first ``batch_size``, so
        paging a dataset was quadratic; a window reads only its own row groups. A window whose
        versions are all superseded yields nothing, so a batch may hold fewer rows. The read
        ends at the head as it was when the iteration began (or at ``until``).
        """
        head = self.max_offset
        top = head if until is None or head is None else min(until, head)
        cursor = -1 if since is None else since
        while top is not None and cursor < top:
            upto = min(cursor + max(1, batch_size), top)
            table = self.read_since(
                cursor, include_previous_versions=include_previous_versions, until=upto
            )
            if table.num_rows:
                yield table
            cursor = upto

    def entities_since(self, since: int | None = None, **kwargs: Any) -> list[Entity]:
        return table_to_entities(self.read_since(since, **kwargs))

    @translate_errors
    def latest(self, entity_id: str) -> Entity | None:
        """The latest version of ``entity_id`` (deleted or not), or ``None``."""
        rows = self.latest_many([entity_id])
        return rows[0] if rows else None

    @translate_errors
    def latest_many(self, ids: Iterable[str]) -> list[Entity]:
        """Latest versions of the given ids that exist, ordered by ``_id``."""
        info = self.info
        id_list = list(ids)
        if info is None or not id_list:
            return []
        table = arrow_table(
            self.store.con.execute(
                f"""
            SELECT {_READ_COLUMNS} FROM log_{info.tid} l
            WHERE l._updated IN (SELECT _updated FROM cur_{info.tid} WHERE _id IN
                                 (SELECT unnest(?::VARCHAR[])))
            ORDER BY l._id
            """,
                [id_list],
            )
        )
        return table_to_entities(table)

    @translate_errors
    def latest_table(self, *, include_deleted: bool = True) -> pa.Table:
        """Every latest version as Arrow, ordered by ``_id``."""
        info = self.info
        if info is None:
            return _empty_read()
        where = "" if include_deleted else "WHERE NOT _deleted"
        return arrow_table(
            self.store.con.execute(
                f"""
            SELECT {_READ_COLUMNS} FROM log_{info.tid}
            WHERE _updated IN (SELECT _updated FROM cur_{info.tid} {where})
            ORDER BY _id
            """
            )
        )

    def latest_entities(self, *, include_deleted: bool = True) -> list[Entity]:
        return table_to_entities(self.latest_table(include_deleted=include_deleted))

    @translate_errors
    def history(self, entity_id: str) -> list[Entity]:
        """Every stored version of one entity, oldest first."""
        info = self.info
        if info is None:
            return []
        table = arrow_table(
            self.store.con.execute(
                f"SELECT {_READ_COLUMNS} FROM log_{info.tid} WHERE _id = ? ORDER BY _updated",
                [entity_id],
            )
        )
        return table_to_entities(table)

    @translate_errors
    def counts(self) -> DatasetCounts:
        info = self.info
        if info is None:
            return DatasetCounts(0, 0, 0)
        row = first_row(
            self.store.con.execute(
                f"SELECT count(*) FILTER (WHERE NOT _deleted), count(*) FILTER (WHERE _deleted) "
                f"FROM cur_{info.tid}"
            )
        )
        live, deleted = (int(row[0]), int(row[1])) if row else (0, 0)
        return DatasetCounts(live, deleted, info.next_offset)

    @translate_errors
    def current_hashes(self, ids: Iterable[str]) -> dict[str, str]:
        """``_id -> _hash`` of the latest versions of ``ids`` that exist."""
        info = self.info
        id_list = list(ids)
        if info is None or not id_list:
            return {}
        rows = self.store.con.execute(
            f"SELECT _id, _hash FROM cur_{info.tid} WHERE _id IN (SELECT unnest(?::VARCHAR[]))",
            [id_list],
        ).fetchall()
        return {r[0]: r[1] for r in rows}

    def table_names(self) -> tuple[str, str]:
        """``(log table, current table)`` for SQL over this dataset (e.g. the notebook API)."""
        info = self._require()
        return f"log_{info.tid}", f"cur_{info.tid}"


def _empty_read() -> pa.Table:
    return pa.table(
        {
            "_updated": pa.array([], pa.int64()),
            "_id": pa.array([], pa.string()),
            "_deleted": pa.array([], pa.bool_()),
            "_ts": pa.array([], pa.int64()),
            "_hash": pa.array([], pa.string()),
            "_previous": pa.array([], pa.int64()),
            "body": pa.array([], pa.string()),
        }
    )
