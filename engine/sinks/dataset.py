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
from engine.sinks.base import WriteResult
from engine.store import Store, entities_to_batch

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
        self._seen_table: str | None = None

    @property
    def dataset(self):  # type: ignore[no-untyped-def]
        return self.store.dataset(self.dataset_name)

    def begin(self, *, full: bool) -> None:
        self.store.create_dataset_tables(self.dataset_name)
        if self.set_initial_offset == "initially":
            self.dataset.set_populated()
        if full and self.deletion_tracking:
            self._seen_table = f"hub_seen_{next(_SEEN_COUNTER)}"
            self.store.run(f"CREATE OR REPLACE TEMP TABLE {self._seen_table} (_id VARCHAR)")

    def write(self, entities: list[Entity]) -> WriteResult:
        kept = [e for e in entities if e.get(FILTERED) is not True]
        filtered = [e for e in entities if e.get(FILTERED) is True]
        result = WriteResult()
        if kept:
            batch = entities_to_batch(kept)
            appended = self.dataset.append(batch)
            result += WriteResult(appended.written, appended.unchanged, 0)
            if self._seen_table is not None:
                self._record_seen(batch.select(["_id"]))
        if filtered:
            result += self._delete_filtered(filtered)
        return result

    def _record_seen(self, ids: pa.Table) -> None:
        con = self.store.con
        con.register("hub_seen_batch", ids)
        try:
            self.store.run(f"INSERT INTO {self._seen_table} SELECT _id FROM hub_seen_batch")
        finally:
            con.unregister("hub_seen_batch")

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
        mode = self.set_initial_offset
        if mode == "always" or (mode == "if-source-populated" and source_populated):
            self.dataset.set_populated()
        return WriteResult(deleted=deleted)
