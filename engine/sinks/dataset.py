"""The ``dataset`` sink: appends changed entities and does deletion tracking after full runs.

* Entities marked ``_filtered: true`` by DTL ``filter`` delete the stored entity when it exists
  and is not deleted yet (the deleted version keeps the last stored properties).
* After a full run every live entity the run did not emit gets a deleted version, unless
  ``deletion_tracking`` is false. "Seen" means emitted by this run, written or unchanged.
* ``set_initial_offset`` decides when the dataset becomes populated (default: when the source is
  populated and the run read it to the end).
"""

from __future__ import annotations

import itertools

import pyarrow as pa

from engine.config.pipes import SinkConfig
from engine.entity import DELETED, FILTERED, ID, Entity
from engine.errors import CircuitBreakerTripped
from engine.sinks.base import WriteResult
from engine.store import CanonicalEntities, Dataset, Store, entities_to_batch

__all__ = ["DatasetSink"]

_SEEN_COUNTER = itertools.count()


class DatasetSink:
    def __init__(self, store: Store, config: SinkConfig, default_dataset: str) -> None:
        raw = config.raw
        self.store = store
        self.dataset_name = config.dataset or default_dataset
        self.deletion_tracking = raw.get("deletion_tracking", True) is not False
        self.mark_deletion_tracked = raw.get("mark_deletion_tracked") is True
        self.set_initial_offset = raw.get("set_initial_offset", "if-source-populated")
        self.breaker_count = raw.get("circuit_breaker_threshold_count")
        self.breaker_factor = raw.get("circuit_breaker_threshold_factor")
        self.force = False
        """Set by ``pipe run --force``: write past a tripped circuit breaker."""
        self._seen_table: str | None = None
        self._limit: int | None = None
        self._changes = 0

    @property
    def dataset(self) -> Dataset:
        return self.store.dataset(self.dataset_name)

    def begin(self, *, full: bool) -> None:
        self.store.create_dataset_tables(self.dataset_name)
        self._changes = 0
        self._limit = self._breaker_limit()
        if self.set_initial_offset == "initially":
            self.dataset.set_populated()
        if full and self.deletion_tracking:
            self._seen_table = f"hub_seen_{next(_SEEN_COUNTER)}"
            self.store.run(f"CREATE OR REPLACE TEMP TABLE {self._seen_table} (_id VARCHAR)")

    def _breaker_limit(self) -> int | None:
        """Max changes per run: the larger of the count and factor limits (Sesam's rule).

        Breakers only guard populated datasets, and ``--force`` lifts them for one run.
        """
        if self.force or not self.dataset.populated:
            return None
        limits = []
        if isinstance(self.breaker_count, int) and not isinstance(self.breaker_count, bool):
            limits.append(self.breaker_count)
        if isinstance(self.breaker_factor, int | float) and not isinstance(
            self.breaker_factor, bool
        ):
            limits.append(int(self.breaker_factor * self.dataset.counts().live))
        return max(limits) if limits else None

    def _count(self, result: WriteResult) -> WriteResult:
        self._changes += result.written + result.deleted
        if self._limit is not None and self._changes > self._limit:
            raise CircuitBreakerTripped(
                f"circuit breaker of dataset {self.dataset_name!r} tripped: the run would write "
                f"more than {self._limit} changes; nothing was committed. Inspect the source, "
                "then run with --force to accept the changes or reset the pipe"
            )
        return result

    def write(self, entities: list[Entity]) -> WriteResult:
        return self._count(self._write(entities))

    def _write(self, entities: list[Entity]) -> WriteResult:
        kept = [e for e in entities if e.get(FILTERED) is not True]
        filtered = [e for e in entities if e.get(FILTERED) is True]
        result = WriteResult()
        prebuilt = entities.prebuilt() if isinstance(entities, CanonicalEntities) else None
        if prebuilt is not None and not filtered:
            # a source's fast path built the rows already, leaving out what is stored unchanged
            appended = self.dataset.append(prebuilt.changed)
            result += WriteResult(appended.written, len(kept) - appended.written, 0)
            if self._seen_table is not None:
                self._record_seen(prebuilt.ids)
        elif kept:
            batch = entities_to_batch(kept)
            appended = self.dataset.append(batch)
            result += WriteResult(appended.written, appended.unchanged, 0)
            if self._seen_table is not None:
                self._record_seen(batch.select(["_id"]))
        if filtered:
            result += self._delete_filtered(filtered)
        return result

    def write_arrow(self, entities: pa.Table, filtered_ids: list[str]) -> WriteResult:
        """Write a batch the SQL path produced: canonical rows plus the ids a filter stopped."""
        result = WriteResult()
        if entities.num_rows:
            appended = self.dataset.append(entities)
            result += WriteResult(appended.written, appended.unchanged, 0)
            if self._seen_table is not None:
                self._record_seen(entities.select(["_id"]))
        if filtered_ids:
            result += self._delete_filtered([{ID: i} for i in filtered_ids])
        return self._count(result)

    def _record_seen(self, ids: pa.Table) -> None:
        self.store.run_arrow(
            f"INSERT INTO {self._seen_table} SELECT _id FROM hub_seen_batch", "hub_seen_batch", ids
        )

    def _delete_filtered(self, filtered: list[Entity]) -> WriteResult:
        live = [e for e in self.dataset.latest_many(e[ID] for e in filtered) if not e.get(DELETED)]
        if not live:
            return WriteResult(unchanged=len(filtered))
        deletions = []
        for entity in live:
            body = {k: v for k, v in entity.items() if not k.startswith("_")}
            deletions.append({**body, ID: entity[ID], DELETED: True})
        appended = self.dataset.append(deletions)
        return WriteResult(0, len(filtered) - appended.written, appended.written)

    def finish(self, *, full: bool, source_populated: bool) -> WriteResult:
        deleted = 0
        if self._seen_table is not None:
            deleted = self.dataset.track_deletions(
                self._seen_table, mark_deletion_tracked=self.mark_deletion_tracked
            )
            self.store.run(f"DROP TABLE IF EXISTS {self._seen_table}")
            self._seen_table = None
        self._count(WriteResult(deleted=deleted))
        mode = self.set_initial_offset
        if mode == "always" or (mode == "if-source-populated" and source_populated):
            self.dataset.set_populated()
        return WriteResult(deleted=deleted)
