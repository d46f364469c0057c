"""The pipe sink protocol and its write report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from engine.entity import Entity

__all__ = ["Sink", "WriteResult"]


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What a sink did with one batch."""

    written: int = 0
    unchanged: int = 0
    deleted: int = 0

    def __add__(self, other: WriteResult) -> WriteResult:
        return WriteResult(
            self.written + other.written,
            self.unchanged + other.unchanged,
            self.deleted + other.deleted,
        )


class Sink(Protocol):
    """What the runner needs from a sink; all calls happen inside the run's transaction."""

    def begin(self, *, full: bool) -> None: ...

    def write(self, entities: list[Entity]) -> WriteResult: ...

    def finish(self, *, full: bool, source_populated: bool) -> WriteResult:
        """End of a successful read: deletion tracking after full runs, populated flag."""
        ...
