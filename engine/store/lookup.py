"""The store's side of DTL hops: indexed lookups into datasets (``DatasetLookup``).

An index is a functional index: the key values an alias-side join expression computes for each
latest, non-deleted entity (nulls never indexed). It is built on first use within a run and kept
for the run, so a pipe hopping for every source entity does one pass over the hopped dataset,
then dictionary lookups. Entities are ordered by ``_id`` as Sesam's hops results are.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from engine.entity import Entity, canonical_json
from engine.store.store import Store

__all__ = ["StoreLookup", "index_key"]


def index_key(value: Any) -> str:
    """The join identity of a value as text, matching DTL equality (``engine.dtl.values``).

    Numbers compare by value (``1`` joins ``1.0`` and ``~f1.00``) but never equal booleans;
    typed values stay distinct from strings. Numbers become normalised decimals, which the
    canonical JSON writes as ``~f...`` (a string that really starts with ``~f`` is escaped to
    ``~~f...``, so the two cannot collide).

    >>> index_key(1) == index_key(1.0) == index_key(Decimal("1.00")), index_key(True) == index_key(1)
    (True, False)
    """
    return canonical_json(_normalise(value))


def _normalise(value: Any) -> Any:
    if value is None or value is True or value is False:
        return value
    if isinstance(value, int | float | Decimal):
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        if not number.is_finite():
            return value
        if number == number.to_integral_value():
            return Decimal(int(number))
        return number.normalize()
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    return value


class StoreLookup:
    """Implements ``engine.dtl.env.DatasetLookup`` over a :class:`Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._indexes: dict[tuple[str, str], dict[str, list[Entity]]] = {}

    def exists(self, dataset: str) -> bool:
        return self.store.dataset_info(dataset) is not None

    def get(self, dataset: str, entity_id: str) -> Entity | None:
        return self.store.dataset(dataset).latest(entity_id) if self.exists(dataset) else None

    def find(self, dataset: str, key: Any, values: Sequence[Any]) -> list[Entity]:
        index = self._index(dataset, key)
        found: dict[str, Entity] = {}
        for value in values:
            if value is None:
                continue
            for entity in index.get(index_key(value), ()):
                found[entity["_id"]] = entity
        return [found[k] for k in sorted(found)]

    def _index(self, dataset: str, key: Any) -> dict[str, list[Entity]]:
        slot = (dataset, key.name)
        index = self._indexes.get(slot)
        if index is not None:
            return index
        index = {}
        if self.exists(dataset):
            for entity in self.store.dataset(dataset).latest_entities(include_deleted=False):
                for value in key.values(entity):
                    if value is not None:
                        index.setdefault(index_key(value), []).append(entity)
        self._indexes[slot] = index
        return index
