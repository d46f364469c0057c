"""Run ids: every committed pipe run gets a number, and the dataset offsets it committed.

Design notes
------------
* A *run* is one :meth:`engine.runner.PipeRunner.run` that committed (ok, failed or tripped);
  dry runs roll back and get no id. Ids are one counter for the whole hub (1, 2, 3 ...), not
  per pipe, so "run 17" names one moment of the hub, which is what ``as_of`` needs.
* :func:`record_run` is called inside the run's final transaction (with the data, the pipe's
  offset and its execution-log entry). It stores the run in ``hub_runs`` and, in
  ``hub_run_offsets``, the ``next_offset`` of every dataset whose offset (or ``populated``
  flag) differs from the last one recorded. A dataset's bound as of run *r* is its newest row
  with ``run_id <= r``, so the table grows with what changed, not with runs × datasets.
* Because the bounds are read at commit from the catalog every writer updates, they are
  consistent across datasets: versions ``_updated < bound`` are exactly what was committed
  when the run committed. Writes outside runs (a script appending directly) are folded into the
  next run's bounds.
* The tables are created on first use (``CREATE TABLE IF NOT EXISTS``), so older hub files work;
  their earlier history simply has no run ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from engine.errors import HubError
from engine.store.store import first_row, translate_errors

if TYPE_CHECKING:
    from engine.store.store import Store

__all__ = [
    "RunBound",
    "RunRecord",
    "UnknownRunError",
    "get_run",
    "last_full_run",
    "list_runs",
    "offsets_at",
    "record_run",
    "run_range",
]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS hub_runs (
    run_id BIGINT NOT NULL,
    pipe_id VARCHAR NOT NULL,
    started_ts BIGINT NOT NULL,
    finished_ts BIGINT NOT NULL,
    status VARCHAR NOT NULL,
    full_run BOOLEAN NOT NULL,
    read BIGINT NOT NULL,
    written BIGINT NOT NULL,
    deleted BIGINT NOT NULL,
    error VARCHAR
);
CREATE TABLE IF NOT EXISTS hub_run_offsets (
    run_id BIGINT NOT NULL,
    name VARCHAR NOT NULL,
    next_offset BIGINT NOT NULL,
    populated BOOLEAN NOT NULL
);
"""

_COLUMNS = (
    "run_id, pipe_id, started_ts, finished_ts, status, full_run, read, written, deleted, error"
)


class UnknownRunError(HubError):
    """A run id that the hub never committed (the message gives the valid range)."""


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One committed run: which pipe, when, how it ended and what it changed."""

    id: int
    pipe: str
    started_ts: int
    finished_ts: int
    status: str
    full: bool
    read: int
    written: int
    deleted: int
    error: str | None

    @property
    def started(self) -> datetime:
        return datetime.fromtimestamp(self.started_ts / 1_000_000, UTC)

    @property
    def finished(self) -> datetime:
        return datetime.fromtimestamp(self.finished_ts / 1_000_000, UTC)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "pipe": self.pipe,
            "started": self.started.isoformat(),
            "finished": self.finished.isoformat(),
            "status": self.status,
            "full": self.full,
            "read": self.read,
            "written": self.written,
            "deleted": self.deleted,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class RunBound:
    """A dataset as of a run: versions with ``_updated < next_offset`` existed then."""

    next_offset: int
    populated: bool


def _ensure(store: Store) -> None:
    store.run(_SCHEMA)


@translate_errors
def record_run(
    store: Store,
    *,
    pipe: str,
    started_ts: int,
    status: str,
    full: bool = False,
    read: int = 0,
    written: int = 0,
    deleted: int = 0,
    error: str | None = None,
) -> int:
    """Give the run being committed its id and record the dataset bounds; answer the id.

    Call it last inside the run's transaction, after every write of the run, so the bounds
    include them (and roll back with them).
    """
    with store.transaction():
        _ensure(store)
        row = first_row(store.con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM hub_runs"))
        run_id = int(row[0]) if row else 1
        store.run(
            f"INSERT INTO hub_runs ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                pipe,
                started_ts,
                store.clock.now_micros(),
                status,
                full,
                read,
                written,
                deleted,
                error,
            ],
        )
        store.run(
            """
            INSERT INTO hub_run_offsets
            SELECT ?, d.name, d.next_offset, d.populated
            FROM hub_datasets d LEFT JOIN (
                SELECT name, next_offset, populated FROM hub_run_offsets
                QUALIFY row_number() OVER (PARTITION BY name ORDER BY run_id DESC) = 1
            ) last USING (name)
            WHERE last.name IS NULL OR last.next_offset <> d.next_offset
               OR last.populated <> d.populated
            """,
            [run_id],
        )
    return run_id


@translate_errors
def run_range(store: Store) -> tuple[int, int] | None:
    """``(first, last)`` run id, or ``None`` before the first run."""
    _ensure(store)
    row = first_row(store.con.execute("SELECT min(run_id), max(run_id) FROM hub_runs"))
    if row is None or row[0] is None:
        return None
    return int(row[0]), int(row[1])


@translate_errors
def list_runs(
    store: Store, *, limit: int | None = None, pipe: str | None = None
) -> list[RunRecord]:
    """Runs newest first (optionally only one pipe's, at most ``limit``)."""
    _ensure(store)
    sql = f"SELECT {_COLUMNS} FROM hub_runs"
    params: list[Any] = []
    if pipe is not None:
        sql += " WHERE pipe_id = ?"
        params.append(pipe)
    sql += " ORDER BY run_id DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return [RunRecord(*r) for r in store.con.execute(sql, params).fetchall()]


@translate_errors
def last_full_run(store: Store, pipe: str) -> tuple[int | None, int]:
    """When ``pipe``'s last successful full run started (µs, ``None`` if none is recorded), and
    how many successful incremental runs it committed after it (engine.rescan counts them)."""
    _ensure(store)
    row = first_row(
        store.con.execute(
            """
            WITH last AS (
                SELECT max(run_id) AS run_id FROM hub_runs
                WHERE pipe_id = ? AND status = 'ok' AND full_run
            )
            SELECT (SELECT started_ts FROM hub_runs r, last WHERE r.run_id = last.run_id),
                   count(*) FILTER (
                       WHERE NOT h.full_run AND h.run_id > coalesce(last.run_id, -1)
                   )
            FROM last LEFT JOIN hub_runs h ON h.pipe_id = ? AND h.status = 'ok'
            """,
            [pipe, pipe],
        )
    )
    if row is None:
        return None, 0
    return (int(row[0]) if row[0] is not None else None), int(row[1])


@translate_errors
def get_run(store: Store, run_id: int) -> RunRecord:
    """The run ``run_id``; :class:`UnknownRunError` (naming the valid range) if there is none."""
    _ensure(store)
    row = first_row(
        store.con.execute(f"SELECT {_COLUMNS} FROM hub_runs WHERE run_id = ?", [int(run_id)])
    )
    if row is not None:
        return RunRecord(*row)
    bounds = run_range(store)
    if bounds is None:
        raise UnknownRunError(f"no run {run_id}: no run has been recorded yet (run a pipe first)")
    raise UnknownRunError(
        f"no run {run_id}: expected a run id from {bounds[0]} to {bounds[1]} (see `pipe runs`)"
    )


@translate_errors
def offsets_at(store: Store, run_id: int) -> dict[str, RunBound]:
    """Every dataset that existed when ``run_id`` committed, with its bound then."""
    _ensure(store)
    rows = store.con.execute(
        """
        SELECT name, next_offset, populated FROM hub_run_offsets WHERE run_id <= ?
        QUALIFY row_number() OVER (PARTITION BY name ORDER BY run_id DESC) = 1
        ORDER BY name
        """,
        [int(run_id)],
    ).fetchall()
    return {name: RunBound(int(offset), bool(populated)) for name, offset, populated in rows}
