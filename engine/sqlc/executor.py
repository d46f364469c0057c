"""Run a compiled pipe: the SQL query per offset range, the interpreter for rows it flags.

Design notes
------------
* The source is read as :meth:`engine.store.Dataset.read_since` reads it: versions with
  ``since < _updated <= until`` that are still the latest of their ``_id`` (a version superseded
  later in the log is skipped), in offset order. The work is cut into offset ranges of
  ``chunk_size`` so memory stays bounded; each range yields one :class:`SqlBatch` whose
  ``next_since`` is the range end.
* A wildcard ``copy`` needs the source keys: one ``json_keys`` pass over the whole range finds
  them and the rule is compiled for exactly that key set (beyond :data:`MAX_KEYS` keys the run
  uses the interpreter for every row instead of writing a giant query).
* The query must never fail on valid JSON (a failed statement aborts the run's transaction):
  expressions only ever parse text they built as valid JSON, even on rows bound for fallback.
* Rows the query marks ``_fallback`` (values whose exact semantics SQL does not reproduce) are
  re-read from the log and run through the interpreter (``engine.dtl``) with the same rules; their
  outputs are merged back in source order. So the batch is always what the interpreter would
  produce, and errors (``id_required``, ``fail!``) are the interpreter's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from engine.dtl import CompiledTransform, RunContext, compile_transform
from engine.entity import DELETED, FILTERED, ID, hash_body
from engine.errors import EntityError
from engine.sqlc.hops import bind, inspect
from engine.store import BATCH_SCHEMA, Store, table_to_entities
from engine.store.lookup import StoreLookup
from engine.store.store import arrow_table, translate_errors

if TYPE_CHECKING:
    from engine.sqlc.plan import SqlPlan
    from engine.sqlc.rules import CompiledQuery

__all__ = ["MAX_KEYS", "Mode", "SqlBatch", "run"]

Mode = Literal["adaptive", "fast", "general"]

MAX_KEYS = 2000
"""More distinct source keys than this under a wildcard ``copy``: interpret the run instead."""

SAMPLE_ROWS = 20_000
"""Ranges larger than this discover their keys from a sample; rows with other keys fall back."""

SWITCH_PERCENT = 1
"""The fast query flagging more of a range's rows than this: the run switches to the general one."""

_RESULT = pa.schema(
    [
        pa.field("_src", pa.int64()),
        pa.field("_id", pa.string()),
        pa.field("_deleted", pa.bool_()),
        pa.field("_stop", pa.string()),
        pa.field("_fallback", pa.bool_()),
        pa.field("body", pa.string()),
    ]
)


@dataclass(frozen=True, slots=True)
class SqlBatch:
    """The output of one offset range, ready for the dataset sink.

    ``entities`` is an append batch (``_id, _deleted, body``) in source order; ``filtered`` the
    ``_id``s of entities a ``filter`` stopped (the sink deletes them if they are live, as for
    ``_filtered: true`` entities); ``read`` the source versions read; ``interpreted`` how many of
    them went through the interpreter.
    """

    entities: pa.Table
    filtered: list[str]
    read: int
    interpreted: int
    next_since: int


def run(
    plan: SqlPlan,
    store: Store,
    since: int | None,
    *,
    until: int | None = None,
    chunk_size: int = 250_000,
    sample_rows: int = SAMPLE_ROWS,
    mode: Mode = "adaptive",
) -> Iterator[SqlBatch]:
    """Yield the sink batches of the source versions after ``since`` (up to ``until``).

    ``mode``: ``"fast"`` or ``"general"`` forces that query; ``"adaptive"`` starts with the fast
    one and switches the rest of the run to the general one at the first range where the fast
    query flags more than :data:`SWITCH_PERCENT` percent of the rows (that range is re-run).
    """
    info = store.dataset_info(plan.source)
    if info is None:
        return
    end = info.next_offset - 1 if until is None else min(info.next_offset - 1, until)
    start = -1 if since is None else int(since)
    if end <= start:
        return
    tables = (f"log_{info.tid}", f"cur_{info.tid}")
    keys: list[str] = []
    sampled = False
    if plan.query.wildcard:
        sampled = end - start > sample_rows
        keys = discover_keys(store, tables, start, end, sample=sample_rows if sampled else None)

    refused, unique = inspect(store, plan.query.hops) if plan.query.hops else (None, False)

    def compile_query(fast: bool) -> CompiledQuery | None:
        if refused is not None or (plan.query.wildcard and len(keys) > MAX_KEYS):
            return None  # e.g. a hopped dataset holds values the join cannot compare exactly
        return plan.compile_for(keys, complete=not sampled, fast=fast, unique_hops=fast and unique)

    fast = mode != "general"
    query = compile_query(fast)
    fallback = _Fallback(plan, store, tables[0])
    low = start
    while low < end:
        high = min(low + chunk_size, end)
        if query is None:
            result = fallback.everything(low, high)
        else:
            result = _query(store, _bound(query, store, tables), low, high)
            if fast and mode == "adaptive" and _many_flagged(result):
                fast = False
                query = compile_query(False)
                assert query is not None
                result = _query(store, _bound(query, store, tables), low, high)
        yield fallback.finish(result, high)
        low = high


def _bound(query: CompiledQuery, store: Store, tables: tuple[str, str]) -> str:
    sql = bind(query.sql, store, query.hops)
    return sql.replace("{log}", tables[0]).replace("{cur}", tables[1])


def _many_flagged(result: pa.Table) -> bool:
    flagged = int(pc.sum(result.column("_fallback")).as_py() or 0)
    return flagged * 100 > SWITCH_PERCENT * result.num_rows


@translate_errors
def discover_keys(
    store: Store, tables: tuple[str, str], low: int, high: int, *, sample: int | None = None
) -> list[str]:
    """The distinct root keys of the source versions in ``(low, high]``, sorted.

    Superseded versions are included: a superset of keys only adds slots that are absent on
    every row, and skipping the latest-version join keeps the pass cheap. With ``sample`` the
    keys come from about that many versions at evenly spaced offsets (``_updated % step = 0``:
    DuckDB reads only those bodies, ~10x cheaper than a reservoir sample, which reads every
    body of the range); the query compiled for them checks every row's body length, so rows
    holding other keys go to the interpreter.
    """
    log = tables[0]
    step = 1 if sample is None else max(1, (high - low) // max(1, int(sample)))
    rows = store.con.execute(
        f"SELECT DISTINCT unnest(json_keys(body)) FROM {log} "
        "WHERE _updated > ? AND _updated <= ? AND _updated % ? = 0",
        [low, high, step],
    ).fetchall()
    return sorted(str(r[0]) for r in rows)


@translate_errors
def _query(store: Store, sql: str, low: int, high: int) -> pa.Table:
    table: pa.Table = arrow_table(store.con.execute(sql, [low, high, low, high]))
    return table.cast(_RESULT)


class _Fallback:
    """The interpreter for flagged rows (compiled once per run, lazily)."""

    def __init__(self, plan: SqlPlan, store: Store, log: str) -> None:
        self.plan = plan
        self.store = store
        self.log = log
        self._compiled: CompiledTransform | None = None
        self._ctx: RunContext | None = None

    def _transform(self) -> tuple[CompiledTransform, RunContext]:
        if self._compiled is None or self._ctx is None:
            pipe = self.plan.pipe
            self._compiled = compile_transform(
                dict(self.plan.rules),
                file=pipe.file,
                path=pipe.transforms[0].path / "rules",
                id_required=self.plan.id_required,
            )
            self._ctx = RunContext(
                pipe_id=pipe.id,
                identity_namespace=pipe.identity_namespace,
                property_namespace=pipe.property_namespace,
                sink_is_dataset=True,
                datasets=StoreLookup(self.store),
                file=pipe.file,
            )
        return self._compiled, self._ctx

    @translate_errors
    def everything(self, low: int, high: int) -> pa.Table:
        """Every source row of the range as flagged rows (the query is not used)."""
        cur = self.log.replace("log_", "cur_")
        table = arrow_table(
            self.store.con.execute(
                f"SELECT _updated AS _src FROM {self.log} WHERE _updated > ? AND _updated <= ? "
                f"AND _updated IN (SELECT _updated FROM {cur}) ORDER BY _updated",
                [low, high],
            )
        )
        n = table.num_rows
        return pa.table(
            [
                table.column("_src"),
                pa.nulls(n, pa.string()),
                pa.nulls(n, pa.bool_()),
                pa.nulls(n, pa.string()),
                pa.array([True] * n, pa.bool_()),
                pa.nulls(n, pa.string()),
            ],
            schema=_RESULT,
        )

    def finish(self, result: pa.Table, high: int) -> SqlBatch:
        """Split the query result: clean rows (a zero-copy prefix), filtered ids, fallbacks.

        The query orders clean emitted rows first, by source offset; the rest (stopped or
        flagged rows) follows. Flagged rows are interpreted and merged back in source order.
        (Sorting in DuckDB is cheaper than without ``ORDER BY``: its semi-join returns rows out
        of order with two threads, and gathering them in Arrow is single-threaded.)
        """
        other = pc.or_(result.column("_fallback"), pc.is_valid(result.column("_stop")))
        clean = result.num_rows - int(pc.sum(other).as_py() or 0)
        emitted = result.slice(0, clean)
        rest = result.slice(clean)
        flags = rest.column("_fallback")
        stopped = rest.filter(pc.invert(flags))
        filtered_rows = stopped.filter(pc.equal(stopped.column("_stop"), "filter"))
        interpreted = rest.num_rows - stopped.num_rows
        if interpreted:
            offsets = rest.filter(flags).column("_src").to_pylist()
            merged = pa.concat_tables([emitted, filtered_rows, self._interpret(offsets)])
            merged = merged.sort_by("_src")
            stop = merged.column("_stop")
            filtered_rows = merged.filter(pc.equal(stop, "filter"))
            emitted = merged.filter(pc.is_null(stop))
        filtered = filtered_rows.sort_by("_src").column("_id").to_pylist()
        entities = pa.table(
            [emitted.column("_id"), emitted.column("_deleted"), emitted.column("body")],
            schema=BATCH_SCHEMA,
        )
        return SqlBatch(entities, filtered, result.num_rows, interpreted, high)

    def _interpret(self, offsets: list[int]) -> pa.Table:
        compiled, ctx = self._transform()
        entities = table_to_entities(self._read(offsets))
        rows: dict[str, list[Any]] = {name: [] for name in _RESULT.names}
        for offset, entity in zip(offsets, entities, strict=True):
            for out in compiled.apply(entity, ctx):
                filtered = out.get(FILTERED) is True
                if filtered and not isinstance(out.get(ID), str):
                    # The dataset sink cannot look such an entity up to delete it either.
                    raise EntityError(
                        f"a filtered entity needs a string _id, got {out.get(ID)!r}",
                        entity_id=entity.get(ID),
                    )
                rows["_src"].append(offset)
                rows["_id"].append(out.get(ID))
                rows["_deleted"].append(out.get(DELETED) is True)
                rows["_stop"].append("filter" if filtered else None)
                rows["_fallback"].append(True)
                rows["body"].append(None if filtered else hash_body(out))
        return pa.table(rows, schema=_RESULT)

    @translate_errors
    def _read(self, offsets: list[int]) -> pa.Table:
        table: pa.Table = arrow_table(
            self.store.con.execute(
                f"SELECT _updated, _id, _deleted, _ts, _hash, _previous, body FROM {self.log} "
                "WHERE _updated IN (SELECT unnest(?::BIGINT[])) ORDER BY _updated",
                [offsets],
            )
        )
        return table
