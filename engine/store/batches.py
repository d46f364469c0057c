"""Entities ⇄ Arrow: the only place entities are turned into the columns the store appends.

A batch for :meth:`engine.store.Dataset.append` is an Arrow table with three columns:

* ``_id`` (string) and ``_deleted`` (bool), for joins without parsing JSON;
* ``body`` (string): :func:`engine.entity.hash_body`, the canonical JSON of the entity's data
  (every non-reserved root property plus ``_id`` and ``_deleted``). DuckDB hashes it with
  ``md5(body)``, which equals :func:`engine.entity.content_hash`, and stores it as is, so SQL can
  read any property with ``body->>'name'`` and typed values stay lossless transit strings.

Sources that already have canonical text (SQL-compiled transforms, future fast paths) can build
such a table without any per-entity Python.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pyarrow as pa

from engine.entity import DELETED, HASH, ID, PREVIOUS, TS, UPDATED, Entity, hash_body, loads

__all__ = [
    "BATCH_SCHEMA",
    "CanonicalEntities",
    "entities_to_batch",
    "row_to_entity",
    "table_to_entities",
]

BATCH_SCHEMA = pa.schema(
    [pa.field("_id", pa.string()), pa.field("_deleted", pa.bool_()), pa.field("body", pa.string())]
)


def entities_to_batch(entities: Iterable[Entity]) -> pa.Table:
    """Canonicalise entities into an append batch (raises EntityError on a bad entity)."""
    ids: list[str] = []
    deleted: list[bool] = []
    bodies: list[str] = []
    for entity in entities:
        body = hash_body(entity)
        ids.append(entity[ID])
        deleted.append(entity.get(DELETED) is True)
        bodies.append(body)
    return pa.table([ids, deleted, bodies], schema=BATCH_SCHEMA)


class CanonicalEntities(list[Entity]):
    """Entities that arrive with their append batch already built (by a fast path of a source).

    A list, so it travels through the runner like any batch of entities. ``changed`` holds the
    append rows (:data:`BATCH_SCHEMA`) of the entities that may differ from what is stored, in
    order; the producer vouches that every other entity is stored unchanged already (so it only
    counts as unchanged and seen). ``ids`` is the ``_id`` column of all of them, for deletion
    tracking. Anything that builds a new list from them (a transform) drops both with the
    subclass; :meth:`prebuilt` refuses a list changed in place since.
    """

    def __init__(self, entities: Iterable[Entity], changed: pa.Table, ids: pa.Table) -> None:
        super().__init__(entities)
        self.changed = changed
        self.ids = ids
        self._size = len(self)

    def prebuilt(self) -> CanonicalEntities | None:
        """``self`` while its batch still describes it, else ``None`` (then canonicalise)."""
        return self if len(self) == self._size == self.ids.num_rows else None


def row_to_entity(
    body: str, updated: int | None, ts: int | None, hash_: str | None, previous: int | None
) -> Entity:
    """One stored version as an entity with Sesam's reserved fields filled in."""
    entity: dict[str, Any] = loads(body)
    if updated is not None:
        entity[UPDATED] = updated
    if ts is not None:
        entity[TS] = ts
    if hash_ is not None:
        entity[HASH] = hash_
    entity[PREVIOUS] = previous
    return entity


def table_to_entities(table: pa.Table) -> list[Entity]:
    """Rows of a log read (``body, _updated, _ts, _hash, _previous``) as entities, in order."""
    cols = {name: table.column(name).to_pylist() for name in table.column_names}
    bodies = cols["body"]
    n = len(bodies)
    updated = cols.get(UPDATED, [None] * n)
    ts = cols.get(TS, [None] * n)
    hashes = cols.get(HASH, [None] * n)
    previous = cols.get(PREVIOUS, [None] * n)
    return [row_to_entity(bodies[i], updated[i], ts[i], hashes[i], previous[i]) for i in range(n)]
