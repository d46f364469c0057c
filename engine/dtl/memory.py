"""An in-memory :class:`~engine.dtl.env.DatasetLookup` for tests, notebooks and the DTL API.

``MemoryDatasets({"orders": [entity, ...]})``: the list is a dataset log, so the latest version
of an ``_id`` is the last one in the list. Join indexes are built lazily, once per
``(dataset, IndexKey.name)``, mapping each key value (by its DTL identity,
:func:`engine.dtl.values.order_key`, so ``true`` never meets ``1``) to the entities holding it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.dtl.env import IndexKey
from engine.dtl.values import order_key
from engine.entity import Entity, is_deleted

__all__ = ["MemoryDatasets"]


class MemoryDatasets:
    """Datasets held as lists of entities; see the module docstring."""

    def __init__(self, datasets: Mapping[str, Sequence[Entity]] | None = None) -> None:
        self._latest: dict[str, dict[str, Entity]] = {}
        for name, entities in (datasets or {}).items():
            latest: dict[str, Entity] = {}
            for entity in entities:
                entity_id = entity.get("_id")
                if isinstance(entity_id, str):
                    latest.pop(entity_id, None)  # re-insert so the dict keeps log order
                    latest[entity_id] = entity
            self._latest[name] = dict(sorted(latest.items()))
        self._indexes: dict[tuple[str, str], dict[Any, list[Entity]]] = {}

    def exists(self, dataset: str) -> bool:
        return dataset in self._latest

    def get(self, dataset: str, entity_id: str) -> Entity | None:
        return self._latest.get(dataset, {}).get(entity_id)

    def find(self, dataset: str, key: IndexKey, values: Sequence[Any]) -> list[Entity]:
        index = self._index(dataset, key)
        seen: set[str] = set()
        out: list[Entity] = []
        for value in values:
            if value is None:
                continue
            for entity in index.get(order_key(value), ()):
                if entity["_id"] not in seen:
                    seen.add(entity["_id"])
                    out.append(entity)
        out.sort(key=lambda e: e["_id"])
        return out

    def entities(self, dataset: str) -> list[Entity]:
        """Latest versions of a dataset, deleted ones included, ordered by ``_id``."""
        return list(self._latest.get(dataset, {}).values())

    def _index(self, dataset: str, key: IndexKey) -> dict[Any, list[Entity]]:
        cache_key = (dataset, key.name)
        index = self._indexes.get(cache_key)
        if index is None:
            index = {}
            for entity in self._latest.get(dataset, {}).values():
                if is_deleted(entity):
                    continue
                seen: set[Any] = set()
                for value in key.values(entity):
                    if value is None:
                        continue
                    k = order_key(value)
                    if k not in seen:
                        seen.add(k)
                        index.setdefault(k, []).append(entity)
            self._indexes[cache_key] = index
        return index
