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
* Retries back off by runs, not by time: a letter written in run *r* after *n* attempts is due
  again in run ``r + min(2**(n-1), RETRY_CAP_RUNS)`` (``retry_run``). A refusal is nearly
  always about the data, and a new version of the entity is retried at once anyway (the share
  sees it); retrying the same refused payload in every pass of every reconcile made an
  incremental reconcile pay for every old refusal again. Runs, not the clock, so a test's fixed
  clock and a nightly batch of several passes behave the same: the next run always retries a
  first refusal (an invoice refused because its customer was not there yet), later ones wait
  2, 4, ... runs.
* Writes happen in the caller's transaction: a dry run's dead letters vanish with its rollback.
  One letter is one :func:`engine.store.point.append_one` (a share records refusals one by one).
"""

from __future__ import annotations

from typing import Any

from engine.clock import micros_to_datetime
from engine.entity import DELETED, HASH, ID, UPDATED, Entity, format_datetime, loads
from engine.store import Store
from engine.store.point import Current, append_one

__all__ = ["RETRY_CAP_RUNS", "DeadLetters", "dead_letter_dataset"]

RETRY_CAP_RUNS = 32
"""The longest wait, in runs of the pipe, between two retries of one dead letter."""


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
        run: int | None = None,
    ) -> int:
        """Record (another) failure of ``entity_id``; returns the number of attempts so far.

        ``run`` is the number of the pipe run that failed; the letter is due again
        ``2**(attempts-1)`` runs later (at most :data:`RETRY_CAP_RUNS`). Without it, at once.
        """
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
        if run is not None:
            letter["retry_run"] = run + min(2 ** (attempts - 1), RETRY_CAP_RUNS)
        append_one(self.dataset, letter, current=_current(previous))
        if self._live is not None:
            self._live.add(entity_id)
        return attempts

    def preload(self) -> None:
        """Learn which ids have a live letter in one query, so :meth:`get` skips the others.

        Once per sink: :meth:`add` and :meth:`clear` keep the set current afterwards.
        """
        if self._live is not None:
            return
        self._live = set()
        if self.dataset.exists:
            _, cur = self.dataset.table_names()
            rows = self.store.fetchall(f"SELECT _id FROM {cur} WHERE NOT _deleted")
            self._live = {str(r[0]) for r in rows}

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
        resolved = {**body, ID: entity_id, DELETED: True, "resolved": self._now()}
        append_one(self.dataset, resolved, current=_current(letter))
        if self._live is not None:
            self._live.discard(entity_id)
        return True

    def due(self, run: int) -> list[Entity]:
        """The live letters due for a retry in run ``run`` (see ``retry_run``), by ``_id``.

        Filtered in SQL, so a pipe with many waiting refusals does not read them all.
        """
        if not self.dataset.exists:
            return []
        log, cur = self.dataset.table_names()
        table = self.store.execute(
            f"""
            SELECT l.body FROM {cur} c JOIN {log} l ON l._updated = c._updated
            WHERE NOT c._deleted
              AND coalesce(TRY_CAST(l.body->>'retry_run' AS BIGINT), 0) <= ?
            ORDER BY c._id
            """,
            [run],
        ).fetchall()
        return [loads(body) for (body,) in table]

    def pending(self) -> list[Entity]:
        """Every live dead letter, ordered by ``_id``."""
        if not self.dataset.exists:
            return []
        return [dict(e) for e in self.dataset.latest_entities(include_deleted=False)]


def _current(letter: Entity | None) -> Current | None:
    """``(offset, hash)`` of a letter read from the dataset, so the append needs no lookup."""
    if letter is None:
        return None
    offset, digest = letter.get(UPDATED), letter.get(HASH)
    return (offset, digest) if isinstance(offset, int) and isinstance(digest, str) else None
