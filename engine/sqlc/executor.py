"""Run a compiled pipe: the SQL query per offset range, the interpreter for rows it flags.

Design notes
------------
* The source is read as :meth:`engine.store.Dataset.read_since` reads it: versions with
  ``since < _updated <= until`` that are still the latest of their ``_id`` (a version superseded
  later in the log is skipped), in offset order. The work is cut into offset ranges of
  ``chunk_size`` so memory stays bounded; each range yields one :class:`SqlBatch` whose
  ``next_since`` is the range end.
* The compiled query reads the latest versions with a semi-join and sorts its result (clean
  rows first, each part in source order). A range without superseded versions (counted first:
  two cheap counts) needs neither: the query then reads the range as a plain scan, whose rows
  DuckDB returns in table order, and the executor splits clean rows from the rest in Arrow. That
  saves the sort and lets both threads stream the range (a third less CPU than the sorted query
  on the benchmark pipe). Up to :data:`LISTED_SUPERSEDED` superseded versions are excluded by a
  literal ``NOT IN`` list; more, or ``hops`` (joins reorder rows too), keep the sorted query.
  Rows out of source order (a table not stored in offset order) are sorted in Arrow.
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
from engine.sqlc.frame import CLEAN_FIRST, LATEST_ONLY
from engine.sqlc.hops import bind, inspect
from engine.store import BATCH_SCHEMA, Store, table_to_entities
from engine.store.lookup import StoreLookup
from engine.store.store import arrow_table, translate_errors

if TYPE_CHECKING:
    from engine.sqlc.plan import SqlPlan
    from engine.sqlc.rules import CompiledQuery

__all__ = ["LISTED_SUPERSEDED", "MAX_KEYS", "Mode", "SqlBatch", "run"]

Mode = Literal["adaptive", "fast", "general"]

MAX_KEYS = 2000
"""More distinct source keys than this under a wildcard ``copy``: interpret the run instead."""

SAMPLE_ROWS = 20_000
"""Ranges larger than this discover their keys from a sample; rows with other keys fall back."""

SWITCH_PERCENT = 1
"""The fast query flagging more of a range's rows than this: the run switches to the general one."""

LISTED_SUPERSEDED = 64
"""A range with at most this many superseded versions lists them (``NOT IN``: linear per row)
instead of using the sorted semi-join query."""

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
            superseded = None if query.hops else _superseded(store, tables, low, high)
            result = _query(store, _bound(query, store, tables, superseded), low, high)
            if fast and mode == "adaptive" and _many_flagged(result):
                fast = False
                query = compile_query(False)
                assert query is not None
                result = _query(store, _bound(query, store, tables, superseded), low, high)
        yield fallback.finish(result, high)
        low = high


@dataclass(frozen=True, slots=True)
class _Sql:
    """A query bound for one range: its text, and whether it returns rows in source order
    (a plain scan; otherwise it sorts clean rows first) and so takes two parameters, not four."""

    text: str
    scan: bool


def _bound(
    query: CompiledQuery, store: Store, tables: tuple[str, str], superseded: list[int] | None
) -> _Sql:
    """The query for a range; ``superseded``: that range's superseded offsets (``None``: too
    many to list, or not looked up), for which the semi-join and the sort are dropped."""
    sql = query.sql
    latest = "\n    AND " + LATEST_ONLY
    scan = superseded is not None and latest in sql and sql.endswith("\n" + CLEAN_FIRST)
    if scan:
        assert superseded is not None
        listed = ", ".join(str(int(offset)) for offset in superseded)
        sql = sql.replace(latest, f"\n    AND l._updated NOT IN ({listed})" if listed else "")
        sql = sql.removesuffix("\n" + CLEAN_FIRST)
    sql = bind(sql, store, query.hops)
    return _Sql(sql.replace("{log}", tables[0]).replace("{cur}", tables[1]), scan)


@translate_errors
def _superseded(store: Store, tables: tuple[str, str], low: int, high: int) -> list[int] | None:
    """The offsets in ``(low, high]`` whose version is not the latest of its ``_id``, sorted;
    ``None`` beyond :data:`LISTED_SUPERSEDED` of them.

    Every ``cur`` row points at a distinct ``log`` version, so equal counts in the range mean
    none is superseded: two counts over the offset columns, a few milliseconds per range.
    """
    log, cur = tables
    bounds = "WHERE _updated > ? AND _updated <= ?"
    ((missing,),) = store.con.execute(
        f"SELECT (SELECT count(*) FROM {log} {bounds}) - (SELECT count(*) FROM {cur} {bounds})",
        [low, high, low, high],
    ).fetchall()
    if int(missing) == 0:
        return []
    if int(missing) > LISTED_SUPERSEDED:
        return None
    rows = store.con.execute(
        f"SELECT _updated FROM {log} {bounds} "
        f"AND _updated NOT IN (SELECT _updated FROM {cur} {bounds}) ORDER BY _updated",
        [low, high, low, high],
    ).fetchall()
    return [int(r[0]) for r in rows] if len(rows) <= LISTED_SUPERSEDED else None


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
def _query(store: Store, sql: _Sql, low: int, high: int) -> pa.Table:
    """Run the range's query. Fetched through a relation: a DB-API result would first
    materialise the rows in DuckDB and then copy them into Arrow (~10% more CPU here)."""
    params = [low, high] if sql.scan else [low, high, low, high]
    table: pa.Table = store.con.sql(sql.text, params=params).to_arrow_table().cast(_RESULT)
    if sql.scan and table.num_rows > 1:
        src = table.column("_src").to_numpy()
        if not (src[1:] > src[:-1]).all():
            table = table.take(pc.sort_indices(table.column("_src")))
    return table


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
                namespaced_identifiers=pipe.namespaced_identifiers,
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
        """Split the query result: clean rows, filtered ids, fallbacks.

        The result is in source order, or sorted clean emitted rows first (each part in source
        order). Clean rows are a zero-copy slice when they come first (always with the sorted
        query; with a source-order scan when no row is stopped or flagged), else filtered out
        (one copy in Arrow, cheaper than DuckDB's sort of the rows). Flagged rows are
        interpreted and merged back in source order.
        """
        other = pc.or_(result.column("_fallback"), pc.is_valid(result.column("_stop")))
        clean = result.num_rows - int(pc.sum(other).as_py() or 0)
        if clean == result.num_rows or not pc.any(other.slice(0, clean)).as_py():
            emitted = result.slice(0, clean)
            rest = result.slice(clean)
        else:
            emitted = result.filter(pc.invert(other))
            rest = result.filter(other)
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
