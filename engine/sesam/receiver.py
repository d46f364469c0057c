"""The ``http_endpoint`` source offline: a receiver nobody has posted to.

On a node, entities posted to ``/api/receivers/<pipe>/entities`` go straight through the pipe's
transforms to its sink, and with ``auto_populate_dataset`` (the default) the sink dataset is
populated from the start. In a test run nothing is pushed, so the source is empty but populated:
running the pipe once creates its (empty, populated) dataset, and downstream pipes that wait for
populated inputs are not held back.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from engine.config.pipes import SourceConfig
from engine.entity import Entity
from engine.sources.base import SourceBatch

__all__ = ["ReceiverSource"]


class ReceiverSource:
    """An ``http_endpoint`` source with nothing received: no entities, always populated."""

    supports_since = False

    def __init__(self, config: SourceConfig) -> None:
        self.auto_populate = config.raw.get("auto_populate_dataset", True) is not False

    def read(self, since: Any) -> Iterator[SourceBatch]:
        return iter(())

    def is_populated(self) -> bool:
        return self.auto_populate

    def previous_version(self, entity_id: str) -> Entity | None:
        return None
