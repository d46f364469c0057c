"""The reconcile log: when each reconcile ran and where every dataset's log stood around it.

Why it exists
-------------
``pipe report`` describes *the last reconcile*: what two systems edited at once, which globals
merged or split, which shares were skipped. All of that is a comparison of dataset versions
before and after the reconcile, and the dataset logs already hold every version with its
per-dataset offset. So the only thing to remember is the *window*: each dataset's next offset
when the reconcile started (``offsets_before``) and when it ended (``offsets_after``). A
version belongs to the reconcile when ``before <= _updated < after``; a dataset created during
the reconcile has no ``before`` and starts at 0.

One row per reconcile in ``hub_reconciles``; the reconcile's own summary (passes, per-pipe
totals, what was sent) is kept with it as JSON, so the report can be rebuilt later without
running anything. The table is created on first use, so older hub files open unchanged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from engine.store.store import Store, first_row, translate_errors

__all__ = ["ReconcileLog", "ReconcileWindow"]

_TABLE = """
CREATE TABLE IF NOT EXISTS hub_reconciles (
    id BIGINT NOT NULL,
    started_ts BIGINT NOT NULL,
    ended_ts BIGINT,
    status VARCHAR NOT NULL,
    offsets_before VARCHAR NOT NULL,
    offsets_after VARCHAR,
    summary VARCHAR
)
"""

RUNNING = "running"


@dataclass(frozen=True, slots=True)
class ReconcileWindow:
    """One recorded reconcile: its times (µs), status and the dataset offsets around it.

    ``status`` is ``running`` (never finished: the process died), ``converged``,
    ``not-converged`` or ``failed``.
    """

    id: int
    started_ts: int
    ended_ts: int | None
    status: str
    offsets_before: dict[str, int]
    offsets_after: dict[str, int] | None
    summary: dict[str, Any] | None

    def before(self, dataset: str) -> int:
        """The first offset of ``dataset`` written by this reconcile (0 if it is newer)."""
        return self.offsets_before.get(dataset, 0)

    def after(self, dataset: str, current: int) -> int:
        """One past the last offset of ``dataset`` written by this reconcile.

        ``current`` (the dataset's next offset now) is used when the reconcile never finished.
        """
        if self.offsets_after is None:
            return current
        return self.offsets_after.get(dataset, self.before(dataset))


class ReconcileLog:
    """Reads and writes ``hub_reconciles`` of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        with store.transaction():
            store.run(_TABLE)

    def _offsets(self) -> dict[str, int]:
        rows = self.store.fetchall("SELECT name, next_offset FROM hub_datasets")
        return {str(name): int(offset) for name, offset in rows}

    @translate_errors
    def begin(self) -> int:
        """Record the start of a reconcile (now, every dataset's next offset); return its id."""
        with self.store.transaction():
            row = first_row(
                self.store.execute("SELECT coalesce(max(id), 0) + 1 FROM hub_reconciles")
            )
            new_id = int(row[0]) if row else 1
            self.store.run(
                "INSERT INTO hub_reconciles VALUES (?, ?, NULL, ?, ?, NULL, NULL)",
                [
                    new_id,
                    self.store.clock.now_micros(),
                    RUNNING,
                    json.dumps(self._offsets(), sort_keys=True),
                ],
            )
        return new_id

    @translate_errors
    def finish(self, reconcile_id: int, status: str, summary: dict[str, Any] | None) -> None:
        """Record the end of reconcile ``reconcile_id``: now, the offsets, and its summary."""
        with self.store.transaction():
            self.store.run(
                "UPDATE hub_reconciles SET ended_ts = ?, status = ?, offsets_after = ?, "
                "summary = ? WHERE id = ?",
                [
                    self.store.clock.now_micros(),
                    status,
                    json.dumps(self._offsets(), sort_keys=True),
                    json.dumps(summary, sort_keys=True, default=str) if summary else None,
                    reconcile_id,
                ],
            )

    @translate_errors
    def last(self) -> ReconcileWindow | None:
        """The most recent reconcile, or ``None`` when none was recorded."""
        row = first_row(
            self.store.execute(
                "SELECT id, started_ts, ended_ts, status, offsets_before, offsets_after, summary "
                "FROM hub_reconciles ORDER BY id DESC LIMIT 1"
            )
        )
        if row is None:
            return None
        rid, started, ended, status, before, after, summary = row
        return ReconcileWindow(
            id=int(rid),
            started_ts=int(started),
            ended_ts=int(ended) if ended is not None else None,
            status=str(status),
            offsets_before={k: int(v) for k, v in json.loads(before).items()},
            offsets_after=(
                {k: int(v) for k, v in json.loads(after).items()} if after is not None else None
            ),
            summary=json.loads(summary) if summary else None,
        )
