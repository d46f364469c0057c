"""Sources over several datasets: ``union_datasets``, ``merge_datasets``, ``diff_datasets``.

All three keep one offset per dataset (the since token is a dict ``{dataset: offset}``), so an
incremental run reads only what changed in each input.

* ``union_datasets`` reads the datasets one after another; ids become ``"<dataset>:<_id>"``
  unless ``prefix_ids`` is false.
* ``merge_datasets`` keeps ids as they are and, per id, emits the version with the newest
  ``_ts`` across the datasets (``strategy: latest``), or one entity holding the latest version
  from each dataset keyed by dataset name (``strategy: all``); output is ordered by ``_ts``.
* ``diff_datasets`` is ``merge_datasets`` ``all`` plus ``"$diff": {property: {dataset: value}}``;
  ids whose versions agree are emitted ``_filtered`` so a dataset sink drops an earlier diff.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from engine.config.pipes import SourceConfig
from engine.entity import DELETED, FILTERED, ID, TS, Entity, canonical_json, is_deleted
from engine.sources.base import SourceBatch
from engine.store import Store, table_to_entities

__all__ = ["DiffDatasetsSource", "MergeDatasetsSource", "UnionDatasetsSource"]

READ_CHUNK = 5000


def _names(config: SourceConfig) -> list[str]:
    return [str(d).split()[0] for d in config.raw.get("datasets", [])]


class _MultiBase:
    supports_since = True

    def __init__(self, store: Store, config: SourceConfig) -> None:
        self.store = store
        self.config = config
        self.datasets = _names(config)
        self.include_previous_versions = config.raw.get("include_previous_versions") is True

    def is_populated(self) -> bool:
        return all(self.store.dataset(name).populated for name in self.datasets)

    def previous_version(self, entity_id: str) -> Entity | None:
        return None

    def _changes(self, since: Any) -> Iterator[tuple[str, list[Entity], dict[str, int]]]:
        offsets: dict[str, int] = dict(since) if isinstance(since, dict) else {}
        for name in self.datasets:
            ds = self.store.dataset(name)
            for table in ds.iter_since(
                offsets.get(name),
                batch_size=READ_CHUNK,
                include_previous_versions=self.include_previous_versions,
            ):
                offsets[name] = int(table.column("_updated")[-1].as_py())
                yield name, table_to_entities(table), dict(offsets)


class UnionDatasetsSource(_MultiBase):
    def __init__(self, store: Store, config: SourceConfig) -> None:
        super().__init__(store, config)
        self.prefix_ids = config.raw.get("prefix_ids", True) is not False

    def read(self, since: Any) -> Iterator[SourceBatch]:
        for name, entities, offsets in self._changes(since):
            if self.prefix_ids:
                entities = [{**e, ID: f"{name}:{e[ID]}"} for e in entities]
            yield SourceBatch(entities, offsets)


class MergeDatasetsSource(_MultiBase):
    def __init__(self, store: Store, config: SourceConfig) -> None:
        super().__init__(store, config)
        self.strategy = config.raw.get("strategy", "latest")

    def _latest_by_dataset(self, ids: list[str]) -> dict[str, dict[str, Entity]]:
        found: dict[str, dict[str, Entity]] = {}
        for name in self.datasets:
            for entity in self.store.dataset(name).latest_many(ids):
                found.setdefault(entity[ID], {})[name] = entity
        return found

    def _combine(self, entity_id: str, versions: dict[str, Entity]) -> Entity:
        if self.strategy == "all":
            out: Entity = {ID: entity_id}
            for name in self.datasets:
                if name in versions:
                    out[name] = _public(versions[name])
            if versions and all(is_deleted(v) for v in versions.values()):
                out[DELETED] = True
            return out
        newest = max(versions.values(), key=lambda e: e.get(TS, 0))
        return dict(newest)

    def read(self, since: Any) -> Iterator[SourceBatch]:
        changed: list[str] = []
        offsets: dict[str, int] = dict(since) if isinstance(since, dict) else {}
        for _, entities, latest in self._changes(since):
            changed.extend(e[ID] for e in entities)
            offsets = latest
        ids = sorted(set(changed))
        found = self._latest_by_dataset(ids)
        out = [self._combine(i, found[i]) for i in ids if i in found]
        out.sort(key=lambda e: max(v.get(TS, 0) for v in found[e[ID]].values()))
        yield SourceBatch(self._post(out, found), offsets)

    def _post(self, out: list[Entity], found: dict[str, dict[str, Entity]]) -> list[Entity]:
        return out


class DiffDatasetsSource(MergeDatasetsSource):
    def __init__(self, store: Store, config: SourceConfig) -> None:
        super().__init__(store, config)
        self.strategy = "all"
        raw = config.raw
        self.whitelist = set(raw["whitelist"]) if raw.get("whitelist") else None
        self.blacklist = set(raw.get("blacklist") or [])
        self.lists_as_sets = raw.get("treat_lists_as_sets") is True
        self.ignore_deletes = raw.get("ignore_deletes") is True

    def _value(self, value: Any) -> str:
        if self.lists_as_sets and isinstance(value, list):
            return canonical_json(sorted(canonical_json(v) for v in value))
        return canonical_json(value)

    def _post(self, out: list[Entity], found: dict[str, dict[str, Entity]]) -> list[Entity]:
        result = []
        for entity in out:
            versions = found[entity[ID]]
            if self.ignore_deletes:
                versions = {k: v for k, v in versions.items() if not is_deleted(v)}
            props: set[str] = set()
            for v in versions.values():
                props |= {k for k in v if not k.startswith("_")}
            if self.whitelist is not None:
                props &= self.whitelist
            props -= self.blacklist
            diff: dict[str, dict[str, Any]] = {}
            for prop in sorted(props):
                values = {
                    name: versions[name].get(prop) for name in self.datasets if name in versions
                }
                if len({self._value(v) for v in values.values()}) > 1 or len(values) < len(
                    self.datasets
                ):
                    diff[prop] = values
            if diff:
                result.append({**entity, "$diff": diff})
            else:
                result.append({ID: entity[ID], FILTERED: True})
        return result


def _public(entity: Entity) -> Entity:
    return {k: v for k, v in entity.items() if not k.startswith("_") or k in (ID, DELETED)}
