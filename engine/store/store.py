"""The hub database: one DuckDB file holding every dataset log, its indexes and the pipe state.

Design notes
------------
* One :class:`Store` owns one DuckDB connection (never the module-global one). It is opened from
  an explicit path (``":memory:"`` in tests) and closed deterministically.
* The catalog table ``hub_datasets`` maps a dataset name to a small integer ``tid``; the log of
  dataset *n* is the table ``log_<n>`` and its current-state table ``cur_<n>``. Names never
  appear in SQL identifiers, so any dataset name is safe.
* All writes of one pipe run happen inside :meth:`Store.transaction`; the pipe's offset is saved
  in the same transaction (``hub_pipes``), so a crash can neither lose nor duplicate work.
* ``duckdb.Error`` is translated to :class:`engine.errors.DatasetError` at this seam only.
"""

from __future__ import annotations

import contextlib
import functools
import json
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import duckdb

from engine.clock import Clock, SystemClock
from engine.errors import DatasetError
from engine.store import budget

__all__ = ["DatasetInfo", "PipeState", "Store", "arrow_table", "first_row", "translate_errors"]

P = ParamSpec("P")
R = TypeVar("R")

_CATALOG = """
CREATE TABLE IF NOT EXISTS hub_datasets (
    name VARCHAR NOT NULL,
    tid INTEGER NOT NULL,
    next_offset BIGINT NOT NULL,
    populated BOOLEAN NOT NULL,
    created_ts BIGINT NOT NULL,
    completeness BIGINT
);
CREATE TABLE IF NOT EXISTS hub_pipes (
    pipe_id VARCHAR NOT NULL,
    since VARCHAR,
    last_run_ts BIGINT,
    last_status VARCHAR,
    last_error VARCHAR,
    runs BIGINT NOT NULL,
    extra VARCHAR
);
CREATE TABLE IF NOT EXISTS hub_meta (key VARCHAR NOT NULL, value VARCHAR);
"""


def first_row(cursor: Any) -> Any:
    """The first row of a result, consuming it (DuckDB 2 needs results finished)."""
    rows = cursor.fetchall()
    return rows[0] if rows else None


def arrow_table(cursor: Any) -> Any:
    """The result as a ``pyarrow.Table`` (DuckDB 2 renamed ``fetch_arrow_table``)."""
    with warnings.catch_warnings():
        # DuckDB 2 warns that DB-API results copy once more than relations; our reads are
        # parameterised, which relations cannot be, and the copy is cheap next to the query.
        warnings.simplefilter("ignore", UserWarning)
        fetch = getattr(cursor, "to_arrow_table", None) or cursor.fetch_arrow_table
        return fetch()


def translate_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorator: re-raise ``duckdb.Error`` as :class:`DatasetError` (the one translation seam)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except duckdb.Error as e:
            raise DatasetError(f"database error in {fn.__qualname__}: {e}") from e

    return wrapper


@dataclass(frozen=True, slots=True)
class DatasetInfo:
    """Catalog facts about one dataset (counts are computed on request)."""

    name: str
    tid: int
    next_offset: int
    populated: bool
    created_ts: int
    completeness: int | None


@dataclass(slots=True)
class PipeState:
    """What the hub remembers about a pipe between runs.

    ``since`` is the source's continuation token as JSON (an offset, a timestamp, or a dict of
    per-dataset offsets for multi-dataset sources); ``None`` means the next run is a full run.
    ``extra`` holds source/sink specific state (JSON object), e.g. tracking offsets of hops.
    """

    pipe_id: str
    since: Any = None
    last_run_ts: int | None = None
    last_status: str | None = None
    last_error: str | None = None
    runs: int = 0
    extra: dict[str, Any] | None = None


class Store:
    """The hub database. Use as a context manager or call :meth:`close`."""

    def __init__(
        self,
        path: str | Path = ":memory:",
        *,
        clock: Clock | None = None,
        memory_limit: str | None = None,
        temp_directory: str | None = None,
    ) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.clock: Clock = clock or SystemClock()
        try:
            limit = budget.memory_limit(memory_limit)
        except ValueError as e:
            raise DatasetError(f"cannot open the hub database {self.path!r}: {e}") from e
        spill = budget.temp_directory(temp_directory)
        try:
            self.con = duckdb.connect(self.path)
            # A bounded buffer pool keeps the hub inside its memory budget (engine.store.budget);
            # DuckDB spills to the temp directory beyond it.
            self.run(f"SET memory_limit = '{limit}'")
            if spill is not None:
                self.run("SET temp_directory = " + "'" + spill.replace("'", "''") + "'")
        except duckdb.Error as e:
            raise DatasetError(f"cannot open the hub database {self.path!r}: {e}") from e
        self._depth = 0
        self._rollback_only = False
        self._datasets: dict[str, Any] = {}
        with self.transaction():
            self.run(_CATALOG)

    # --- lifecycle ----------------------------------------------------------------------------

    def close(self) -> None:
        with contextlib.suppress(duckdb.Error):
            self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transactions -------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic unit of work; nested calls join the outer transaction.

        Any exception rolls everything back, so data and offsets stay as they were.
        """
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        try:
            self.run("BEGIN TRANSACTION")
        except duckdb.Error as e:
            raise DatasetError(f"cannot begin a transaction: {e}") from e
        self._depth = 1
        self._rollback_only = False
        try:
            yield
        except BaseException:
            self._depth = 0
            self._datasets.clear()
            with contextlib.suppress(duckdb.Error):
                self.run("ROLLBACK")
            raise
        self._depth = 0
        try:
            if self._rollback_only:
                self.run("ROLLBACK")
                self._datasets.clear()
            else:
                self.run("COMMIT")
        except duckdb.Error as e:
            self._datasets.clear()
            with contextlib.suppress(duckdb.Error):
                self.run("ROLLBACK")
            raise DatasetError(f"commit failed: {e}") from e

    def mark_rollback(self) -> None:
        """Make the current transaction end in a rollback (dry runs)."""
        self._rollback_only = True

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    # --- SQL helpers --------------------------------------------------------------------------

    @translate_errors
    def execute(self, sql: str, params: list[Any] | tuple[Any, ...] | None = None) -> Any:
        return self.con.execute(sql, params) if params is not None else self.con.execute(sql)

    def run(self, sql: str, params: list[Any] | tuple[Any, ...] | None = None) -> None:
        """Execute a statement and consume its result.

        DuckDB 2 refuses some work (e.g. ``register``) while a result is pending, so every
        statement whose result we do not need goes through here.
        """
        cur = self.con.execute(sql, params) if params is not None else self.con.execute(sql)
        cur.fetchall()

    def run_arrow(self, sql: str, name: str, table: Any) -> list[Any]:
        """Execute ``sql`` with ``name`` bound to an Arrow table; return the result's rows.

        The table is scoped to this one statement (a relation's ``query``, like a CTE), not
        ``register``-ed: a registered view is a catalog entry, and dropping it inside a
        transaction keeps it, and the Arrow buffers it holds, until the commit. A run that
        registered every batch it wrote held all of them at once (~300 MB at 1M members).
        ``sql`` takes no parameters (inline only trusted values, such as integers).
        """
        result = self.con.from_arrow(table).query(name, sql)
        return [] if result is None else list(result.fetchall())

    @translate_errors
    def fetchone(self, sql: str, params: list[Any] | tuple[Any, ...] | None = None) -> Any:
        cur = self.con.execute(sql, params) if params is not None else self.con.execute(sql)
        return first_row(cur)

    @translate_errors
    def fetchall(self, sql: str, params: list[Any] | tuple[Any, ...] | None = None) -> list[Any]:
        cur = self.con.execute(sql, params) if params is not None else self.con.execute(sql)
        return cur.fetchall()

    # --- catalog ------------------------------------------------------------------------------

    @translate_errors
    def dataset_info(self, name: str) -> DatasetInfo | None:
        row = first_row(
            self.con.execute(
                "SELECT name, tid, next_offset, populated, created_ts, completeness "
                "FROM hub_datasets WHERE name = ?",
                [name],
            )
        )
        return DatasetInfo(*row) if row else None

    @translate_errors
    def dataset_infos(self) -> list[DatasetInfo]:
        rows = self.con.execute(
            "SELECT name, tid, next_offset, populated, created_ts, completeness "
            "FROM hub_datasets ORDER BY name"
        ).fetchall()
        return [DatasetInfo(*r) for r in rows]

    @translate_errors
    def create_dataset_tables(self, name: str) -> DatasetInfo:
        """Register ``name`` and create its log and current-state tables (idempotent)."""
        info = self.dataset_info(name)
        if info is not None:
            return info
        if "/" in name or not name:
            raise DatasetError(f"invalid dataset name {name!r}: it must be non-empty without '/'")
        with self.transaction():
            row = first_row(self.con.execute("SELECT coalesce(max(tid), 0) + 1 FROM hub_datasets"))
            tid = int(row[0]) if row else 1
            self.run(
                f"""
                CREATE TABLE IF NOT EXISTS log_{tid} (
                    _updated BIGINT NOT NULL, _id VARCHAR NOT NULL, _deleted BOOLEAN NOT NULL,
                    _ts BIGINT NOT NULL, _hash VARCHAR NOT NULL, _previous BIGINT, body JSON
                );
                CREATE TABLE IF NOT EXISTS cur_{tid} (
                    _id VARCHAR NOT NULL, _updated BIGINT NOT NULL, _hash VARCHAR NOT NULL,
                    _deleted BOOLEAN NOT NULL
                );
                """
            )
            self.run(
                "INSERT INTO hub_datasets VALUES (?, ?, 0, false, ?, NULL)",
                [name, tid, self.clock.now_micros()],
            )
        info = self.dataset_info(name)
        assert info is not None
        return info

    @translate_errors
    def drop_dataset(self, name: str) -> bool:
        info = self.dataset_info(name)
        if info is None:
            return False
        with self.transaction():
            self.run(f"DROP TABLE IF EXISTS log_{info.tid}")
            self.run(f"DROP TABLE IF EXISTS cur_{info.tid}")
            self.run("DELETE FROM hub_datasets WHERE name = ?", [name])
        self._datasets.pop(name, None)
        return True

    def dataset(self, name: str) -> Any:
        """The :class:`engine.store.dataset.Dataset` handle for ``name`` (tables made on write)."""
        from engine.store.dataset import Dataset

        handle = self._datasets.get(name)
        if handle is None:
            handle = Dataset(self, name)
            self._datasets[name] = handle
        return handle

    # --- pipe state ---------------------------------------------------------------------------

    @translate_errors
    def pipe_state(self, pipe_id: str) -> PipeState:
        row = first_row(
            self.con.execute(
                "SELECT since, last_run_ts, last_status, last_error, runs, extra "
                "FROM hub_pipes WHERE pipe_id = ?",
                [pipe_id],
            )
        )
        if row is None:
            return PipeState(pipe_id)
        since, last_run_ts, last_status, last_error, runs, extra = row
        return PipeState(
            pipe_id,
            since=json.loads(since) if since is not None else None,
            last_run_ts=last_run_ts,
            last_status=last_status,
            last_error=last_error,
            runs=runs,
            extra=json.loads(extra) if extra else None,
        )

    @translate_errors
    def pipe_states(self) -> dict[str, PipeState]:
        ids = [r[0] for r in self.con.execute("SELECT pipe_id FROM hub_pipes").fetchall()]
        return {pipe_id: self.pipe_state(pipe_id) for pipe_id in ids}

    @translate_errors
    def save_pipe_state(self, state: PipeState) -> None:
        since = json.dumps(state.since) if state.since is not None else None
        extra = json.dumps(state.extra, sort_keys=True) if state.extra else None
        with self.transaction():
            self.run("DELETE FROM hub_pipes WHERE pipe_id = ?", [state.pipe_id])
            self.run(
                "INSERT INTO hub_pipes VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    state.pipe_id,
                    since,
                    state.last_run_ts,
                    state.last_status,
                    state.last_error,
                    state.runs,
                    extra,
                ],
            )

    @translate_errors
    def reset_pipe(self, pipe_id: str) -> bool:
        """Forget the pipe's offset so its next run is a full run; True if it had state."""
        state = self.pipe_state(pipe_id)
        had = state.since is not None or bool(state.extra) or state.last_status == "tripped"
        state.since = None
        state.extra = None
        if state.last_status == "tripped":
            state.last_status = "reset"
            state.last_error = None
        self.save_pipe_state(state)
        return had
