"""The ``embedded`` source: entities written in the pipe config itself.

It does not support since, so every run is a full read and ends with deletion tracking:
removing an entity from the list deletes it downstream (Sesam's behaviour).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from engine.config.pipes import SourceConfig
from engine.entity import Entity, decode
from engine.sources.base import SourceBatch

__all__ = ["EmbeddedSource"]


class EmbeddedSource:
    supports_since = False

    def __init__(self, config: SourceConfig) -> None:
        self.entities: list[Entity] = [decode(e) for e in config.raw.get("entities", [])]

    def read(self, since: Any) -> Iterator[SourceBatch]:
        yield SourceBatch([dict(e) for e in self.entities], None)

    def is_populated(self) -> bool:
        return True

    def previous_version(self, entity_id: str) -> Entity | None:
        return None
