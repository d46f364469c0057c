"""The ``dataset`` source: reads a dataset's log after the pipe's offset."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from engine.config.pipes import SourceConfig
from engine.entity import Entity
from engine.sources.base import SourceBatch
from engine.store import Store, table_to_entities

__all__ = ["DatasetSource"]

READ_CHUNK = 5000


class DatasetSource:
    """Sesam's dataset source: chronological, since = the last ``_updated`` processed.

    ``include_previous_versions`` (default false) returns only latest versions;
    ``include_replaced`` (default true) can drop merge ``$replaced`` tombstones.
    """

    supports_since = True

    def __init__(self, store: Store, config: SourceConfig) -> None:
        raw = config.raw
        self.store = store
        self.dataset_name: str = raw["dataset"]
        self.include_previous_versions = raw.get("include_previous_versions") is True
        self.include_replaced = raw.get("include_replaced", True) is not False
        self.completeness = raw.get("completeness", False)

    @property
    def dataset(self) -> Any:
        return self.store.dataset(self.dataset_name)

    def until(self) -> int | None:
        """With ``completeness``, the last offset this run may read (Sesam's completeness).

        ``true`` uses the source dataset's own completeness; a list of dataset names uses the
        smallest of theirs. A dataset that never got a completeness stamp lets nothing through.
        """
        if self.completeness is False or self.completeness is None:
            return None
        names = [self.dataset_name] if self.completeness is True else list(self.completeness)
        stamps = [self.store.dataset(n).completeness for n in names]
        if any(s is None for s in stamps):
            return -1
        return int(self.dataset.offset_at(min(s for s in stamps if s is not None)))

    def read(self, since: Any) -> Iterator[SourceBatch]:
        until = self.until()
        if until is not None and since is not None and until <= int(since):
            return
        for table in self.dataset.iter_since(
            since,
            batch_size=READ_CHUNK,
            include_previous_versions=self.include_previous_versions,
            until=until,
        ):
            entities = table_to_entities(table)
            last = int(table.column("_updated")[-1].as_py())
            if not self.include_replaced:
                entities = [e for e in entities if e.get("$replaced") is not True]
            yield SourceBatch(entities, last)

    def is_populated(self) -> bool:
        return bool(self.dataset.populated)

    def previous_version(self, entity_id: str) -> Entity | None:
        versions = self.dataset.history(entity_id)
        return versions[-2] if len(versions) >= 2 else None
