"""Dead letters: entities a system refused (or a collect could not read), kept for retry.

Why a dataset
-------------
Sesam keeps failed entities in ``system:dead-letter:<pipe>`` (sesam-hub §3.8) so one bad record
never blocks a run and nothing is silently dropped. We do the same with an ordinary hub dataset,
which gives history, ``pipe show`` and change tracking for free:

* ``_id`` is the failed entity's ``_id``; the body holds the ``entity`` as it was last tried,
  the ``reason`` (the system's message), ``operation``, ``status`` (HTTP status when known),
  ``input_errors``, ``attempts`` and ``first_failure``/``last_failure`` (ISO-8601 UTC, from the
  store's clock so tests are deterministic).
* A later success *deletes* the dead letter (a ``_deleted`` version), so "live dead letters" is
  exactly the set still failing, and the history shows when it was resolved.
* Writes happen in the caller's transaction: a dry run's dead letters vanish with its rollback.
"""

from __future__ import annotations

from typing import Any

from engine.clock import micros_to_datetime
from engine.entity import DELETED, ID, Entity, format_datetime
from engine.store import Store

__all__ = ["DeadLetters", "dead_letter_dataset"]


def dead_letter_dataset(pipe_id: str) -> str:
    """The dead-letter dataset of a pipe: ``system:dead-letter:<pipe>``."""
    return f"system:dead-letter:{pipe_id}"


class DeadLetters:
    """The dead letters of one pipe."""

    def __init__(self, store: Store, pipe_id: str) -> None:
        self.store = store
        self.pipe_id = pipe_id
        self.name = dead_letter_dataset(pipe_id)
        self._live: set[str] | None = None  # ids with a live letter, once :meth:`preload` ran

    @property
    def dataset(self) -> Any:
        return self.store.dataset(self.name)

    def _now(self) -> str:
        return format_datetime(micros_to_datetime(self.store.clock.now_micros()))

    def add(
        self,
        entity_id: str,
        entity: Entity,
        reason: str,
        *,
        operation: str | None = None,
        status: int | None = None,
        input_errors: list[Any] | None = None,
    ) -> int:
        """Record (another) failure of ``entity_id``; returns the number of attempts so far."""
        previous = self.get(entity_id)
        now = self._now()
        attempts = int(previous.get("attempts", 0)) + 1 if previous else 1
        letter = {
            ID: entity_id,
            "pipe": self.pipe_id,
            "entity": entity,
            "reason": reason,
            "operation": operation,
            "status": status,
            "input_errors": input_errors or [],
            "attempts": attempts,
            "first_failure": previous.get("first_failure", now) if previous else now,
            "last_failure": now,
        }
        self.dataset.append([letter])
        if self._live is not None:
            self._live.add(entity_id)
        return attempts

    def preload(self) -> None:
        """Learn which ids have a live letter in one query, so :meth:`get` skips the others."""
        self._live = {str(letter[ID]) for letter in self.pending()}

    def get(self, entity_id: str) -> Entity | None:
        """The live dead letter of ``entity_id``, or ``None``."""
        if self._live is not None and entity_id not in self._live:
            return None  # known to have none: no query (most entities never failed)
        letter = self.dataset.latest(entity_id)
        if letter is None or letter.get(DELETED) is True:
            return None
        return dict(letter)

    def clear(self, entity_id: str) -> bool:
        """Resolve the dead letter of ``entity_id`` (a later attempt succeeded)."""
        letter = self.get(entity_id)
        if letter is None:
            return False
        body = {k: v for k, v in letter.items() if not k.startswith("_")}
        self.dataset.append([{**body, ID: entity_id, DELETED: True, "resolved": self._now()}])
        return True

    def pending(self) -> list[Entity]:
        """Every live dead letter, ordered by ``_id``."""
        if not self.dataset.exists:
            return []
        return [dict(e) for e in self.dataset.latest_entities(include_deleted=False)]
