"""The pipe source protocol: batches of entities plus a continuation token.

Sesam's continuation ("since") support is declared per source: a source that
``supports_since`` hands the runner a ``next_since`` with every batch; the runner stores the last
one with the sink's writes in one transaction. A source without it is read in full on every run,
and every run ends with deletion tracking.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from engine.entity import Entity

__all__ = ["Source", "SourceBatch"]


@dataclass(frozen=True, slots=True)
class SourceBatch:
    """Entities read together, and the since token to store once they are written."""

    entities: list[Entity]
    next_since: Any = None


class Source(Protocol):
    """What the runner needs from a source."""

    supports_since: bool

    def read(self, since: Any) -> Iterator[SourceBatch]:
        """Batches after ``since`` (``None`` = from the beginning), in a stable order."""
        ...

    def is_populated(self) -> bool:
        """True when the source's data is complete enough to mark the sink populated."""
        ...

    def previous_version(self, entity_id: str) -> Entity | None:
        """The version of ``entity_id`` before the latest one (for ``is-changed``), if any."""
        ...
