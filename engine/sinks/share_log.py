"""The share dataset: per golden ``_id``, what the share sink last did in the target system.

Why it exists (talk-flows A.4/A.6): the hub writes no foreign keys into systems, so every link it
creates lives here. One entity per shared ``_id``::

    {"_id": "<golden id>", "$target_id": "<record id in the system>",
     "$generated_id": "<id the system returned when the hub inserted it>", "$origin": ...,
     "$parent_id": ..., "$payload_hash": "<md5 of what was last sent>",
     "$basis": "<md5 of the collected record and compare settings an 'unchanged' rested on>",
     "$line_links": [{"id": "<line id in the system>", "line": "<hub line key>"}],  # if any
     "status": "inserted|updated|unchanged|deleted|skipped-lock|skipped|rejected",
     "at": "<ISO time>", "error": null}

* ``$generated_id`` and ``$origin`` are sticky: once the hub created a record they stay on every
  later version, because the collect source hops here by ``$generated_id`` to set ``$origin`` on
  the record it reads back, and the ``created`` delete policy asks "did the hub create this?".
* A new version is appended only when something other than ``at`` changed, so a no-op run
  leaves the dataset as it was.
* One outcome is one version written with :func:`engine.store.point.append_one` (three
  statements, addressed by the offset of the version :meth:`ShareLog.get` returned) and then
  committed by the runner: the record of a request must be durable before the next request,
  and the generic Arrow append cost more than the request itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from engine.clock import micros_to_datetime
from engine.entity import HASH, ID, UPDATED, Entity, content_hash, format_datetime
from engine.store import Store
from engine.store.point import Current, append_one

__all__ = ["ShareLog"]


class ShareLog:
    """Reads and writes one share dataset, with in-memory indexes built once per run."""

    def __init__(self, store: Store, name: str) -> None:
        self.store = store
        self.name = name
        self._by_generated: dict[str, Entity] | None = None
        self._by_origin: dict[str, Entity] | None = None
        # per source batch (engine.sinks.share_diff): the batch's rows read in one query, and
        # appends held back and written as one batch; never more than one batch in memory
        self._cache: dict[str, Entity | None] = {}
        self._held: list[Entity] | None = None

    @property
    def dataset(self) -> Any:
        return self.store.dataset(self.name)

    def get(self, entity_id: str) -> Entity | None:
        """The last outcome recorded for ``entity_id``."""
        if entity_id in self._cache:
            cached = self._cache[entity_id]
            return dict(cached) if cached is not None else None
        found = self.dataset.latest(entity_id) if self.dataset.exists else None
        return dict(found) if found is not None else None

    def prefetch(self, ids: list[str]) -> None:
        """Read the last outcomes of ``ids`` in one query; :meth:`get` answers from them.

        Replaces the previous batch's rows, so memory stays at one batch. Only this class
        writes the share dataset, and :meth:`record` keeps the rows current.
        """
        self._cache = dict.fromkeys(ids)
        if ids and self.dataset.exists:
            for row in self.dataset.latest_many(ids):
                self._cache[str(row[ID])] = dict(row)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Hold back the appends :meth:`record` makes and write them as one batch at the end."""
        self._held = []
        try:
            yield
            if self._held:
                self.dataset.append(self._held)
        finally:
            self._held = None

    def _indexes(self) -> tuple[dict[str, Entity], dict[str, Entity]]:
        if self._by_generated is None or self._by_origin is None:
            self._by_generated, self._by_origin = {}, {}
            if self.dataset.exists:
                for row in self.dataset.latest_entities():
                    self._index(dict(row))
        return self._by_generated, self._by_origin

    def _index(self, row: Entity) -> None:
        if self._by_generated is None or self._by_origin is None:
            return
        generated = row.get("$generated_id")
        if generated is not None:
            self._by_generated[str(generated)] = row
            if row.get("$origin") is not None:
                self._by_origin[str(row["$origin"])] = row

    def created_by_hub(self, target_id: str) -> bool:
        """True when the hub inserted the record ``target_id`` (any golden ``_id``)."""
        return target_id in self._indexes()[0]

    def inserted_for_origin(self, origin: Any) -> Entity | None:
        """The outcome of an earlier insert made for ``origin`` that is still live, if any."""
        row = self._indexes()[1].get(str(origin))
        return row if row is not None and row.get("status") != "deleted" else None

    def record(
        self,
        entity_id: str,
        previous: Entity | None,
        *,
        status: str,
        target_id: str | None,
        payload_hash: str | None,
        origin: Any = None,
        parent_id: str | None = None,
        generated_id: str | None = None,
        error: str | None = None,
        line_links: list[dict[str, str]] | None = None,
        basis: str | None = None,
    ) -> Entity:
        """Append the outcome for ``entity_id`` when it differs from ``previous``; return it.

        ``previous`` must be what :meth:`get` returned for ``entity_id`` in this unit of work
        (``None``: no version yet): the append addresses the current row through it. ``basis``
        is set only for an ``unchanged`` decided against the collected record (see
        engine.sinks.share_diff.settled); any other outcome clears it.
        """
        before = previous or {}
        row: Entity = {
            ID: entity_id,
            "$target_id": target_id,
            "$generated_id": generated_id or before.get("$generated_id"),
            "$origin": before.get("$origin") if origin is None else origin,
            "$parent_id": parent_id or before.get("$parent_id"),
            "$payload_hash": payload_hash or before.get("$payload_hash"),
            "status": status,
            "error": error,
        }
        if basis is not None or before.get("$basis") is not None:
            row["$basis"] = basis
        if line_links or before.get("$line_links"):
            row["$line_links"] = line_links or before.get("$line_links")
        if any(before.get(k) != v for k, v in row.items()) or "at" not in before:
            now = micros_to_datetime(self.store.clock.now_micros())
            row["at"] = format_datetime(now)
            if self._held is not None:
                self._held.append(row)
            else:
                written = append_one(self.dataset, row, current=_current(previous), new=not before)
                if written.first_offset is not None:
                    row = {**row, UPDATED: written.first_offset, HASH: content_hash(row)}
            if entity_id in self._cache:
                self._cache[entity_id] = row
        else:
            row["at"] = before["at"]
        self._index(row)
        return row


def _current(previous: Entity | None) -> Current | None:
    """``(offset, hash)`` of the version :meth:`ShareLog.get` returned, when it carries them."""
    if previous is None:
        return None
    offset, digest = previous.get(UPDATED), previous.get(HASH)
    if isinstance(offset, int) and isinstance(digest, str):
        return offset, digest
    return None
