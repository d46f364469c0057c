"""Dependency tracking: re-emit source entities when an entity they hopped to changes.

Design notes
------------
* While a pipe with a dataset source runs, every hops fetch is reported (DTL calls
  :meth:`DependencyTracker.record`) with the index key and the ``_S``-side values it looked up.
  The tracker keeps, per pipe, rows ``(source _id, hopped dataset, key, value)`` in the table
  ``hub_deps``; a source entity's rows are replaced each time it is processed.
* Each hopped dataset has a *tracking offset* (in the pipe state). On the next incremental run
  the tracker reads the hopped dataset's versions after that offset, computes the key values of
  both the new and the previous version of each changed entity (a value just removed must still
  find its former parents), and looks up which source entities used those values. The runner
  re-emits their latest versions in the same run, as Sesam re-queues them.
* Deletes are changes like any other: a deleted version (``_deleted``, or a merge's retired id
  with ``$replaced`` and no properties) is evaluated together with the version before it, so
  its dependents are found and re-processed, and their hops no longer match it. A dependent
  that still hops to a live record (a golden record the hub's own share is about to delete in
  a system) is re-evaluated when that record's delete reaches the hopped dataset; the collect
  source reports such hub-made deletes in the same reconcile (engine.sources.system).
* Key functions are rebuilt from the key name (the canonical JSON of the alias-side expression
  with the alias written ``_``), so tracking works even in runs where no entity hopped.
* Only dataset sources track dependencies (Sesam's rule), and ``lookup-entity`` never does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa

from engine.entity import Entity, loads
from engine.store import Store, table_to_entities
from engine.store.lookup import index_key

__all__ = ["DependencyTracker"]

_DEPS = """CREATE TABLE IF NOT EXISTS hub_deps (
    pipe VARCHAR NOT NULL, source_id VARCHAR NOT NULL, dataset VARCHAR NOT NULL,
    key VARCHAR NOT NULL, v VARCHAR NOT NULL)"""
_SCHEMA = pa.schema(
    [
        ("pipe", pa.string()),
        ("source_id", pa.string()),
        ("dataset", pa.string()),
        ("key", pa.string()),
        ("v", pa.string()),
    ]
)
_ALIAS = "hop_target"


class DependencyTracker:
    """The runner's :class:`engine.dtl.env.DependencyRecorder` for one pipe run."""

    def __init__(self, store: Store, pipe_id: str) -> None:
        self.store = store
        self.pipe_id = pipe_id
        self.current: str | None = None
        self._rows: list[tuple[str, str, str, str]] = []
        self._processed: list[str] = []
        self.store.run(_DEPS)

    # --- recording (called from DTL hops) -----------------------------------------------------

    def record(self, dataset: str, key: Any, values: Sequence[Any]) -> None:
        if self.current is None:
            return
        for value in values:
            if value is not None:
                self._rows.append((self.current, dataset, key.name, index_key(value)))

    def processing(self, source_id: str) -> None:
        """The next records belong to ``source_id`` (its old rows are replaced on flush)."""
        self.current = source_id
        self._processed.append(source_id)

    def flush(self) -> None:
        """Persist the rows of the entities processed since the last flush (in the run txn)."""
        if not self._processed:
            return
        self.store.run(
            "DELETE FROM hub_deps WHERE pipe = ? AND source_id IN (SELECT unnest(?::VARCHAR[]))",
            [self.pipe_id, sorted(set(self._processed))],
        )
        if self._rows:
            table = pa.table(
                {
                    "pipe": [self.pipe_id] * len(self._rows),
                    "source_id": [r[0] for r in self._rows],
                    "dataset": [r[1] for r in self._rows],
                    "key": [r[2] for r in self._rows],
                    "v": [r[3] for r in self._rows],
                },
                schema=_SCHEMA,
            )
            # bound to the statement, not registered: a registered view dropped inside the
            # run's transaction keeps its Arrow buffers until the commit (Store.run_arrow)
            self.store.run_arrow(
                "INSERT INTO hub_deps SELECT DISTINCT * FROM hub_new_deps", "hub_new_deps", table
            )
        self._rows.clear()
        self._processed.clear()
        self.current = None

    def forget(self) -> None:
        """Drop every dependency row of the pipe (a reset: the next full run records anew)."""
        self.store.run("DELETE FROM hub_deps WHERE pipe = ?", [self.pipe_id])

    # --- tracking (start of a run) ------------------------------------------------------------

    def changed_sources(
        self, datasets: Sequence[str], offsets: dict[str, int], ctx: Any
    ) -> tuple[set[str], dict[str, int]]:
        """Source ids whose hopped entities changed after ``offsets``; and the new offsets."""
        found: set[str] = set()
        new_offsets = dict(offsets)
        for dataset in sorted(set(datasets)):
            ds = self.store.dataset(dataset)
            head = ds.max_offset
            start = offsets.get(dataset)
            if head is None:
                continue
            new_offsets[dataset] = head
            if start is not None and head <= start:
                continue
            keys = [
                r[0]
                for r in self.store.fetchall(
                    "SELECT DISTINCT key FROM hub_deps WHERE pipe = ? AND dataset = ?",
                    [self.pipe_id, dataset],
                )
            ]
            if not keys:
                continue
            versions = table_to_entities(ds.read_since(start, include_previous_versions=True))
            versions += self._previous_versions(dataset, versions)
            for key in keys:
                compute = _key_function(key, ctx)
                values = sorted({index_key(v) for e in versions for v in compute(e)})
                if not values:
                    continue
                rows = self.store.fetchall(
                    "SELECT DISTINCT source_id FROM hub_deps WHERE pipe = ? AND dataset = ? "
                    "AND key = ? AND v IN (SELECT unnest(?::VARCHAR[]))",
                    [self.pipe_id, dataset, key, values],
                )
                found.update(r[0] for r in rows)
        return found, new_offsets

    def _previous_versions(self, dataset: str, versions: list[Entity]) -> list[Entity]:
        previous = sorted({e["_previous"] for e in versions if e.get("_previous") is not None})
        if not previous:
            return []
        log, _ = self.store.dataset(dataset).table_names()
        cur = self.store.con.execute(
            f"SELECT _updated, _id, _deleted, _ts, _hash, _previous, body FROM {log} "
            "WHERE _updated IN (SELECT unnest(?::BIGINT[]))",
            [previous],
        )
        from engine.store.store import arrow_table

        return table_to_entities(arrow_table(cur))


def _key_function(name: str, ctx: Any) -> Callable[[Entity], list[Any]]:
    """Rebuild an index key's value function from its name (see the module docstring)."""
    from engine.dtl import Env, compile_expression

    text = name.split("|ns=", 1)[0]
    expression = _realias(loads(text))
    evaluator = compile_expression(expression, aliases=frozenset({_ALIAS}))

    def values(entity: Entity) -> list[Any]:
        env = Env(S=None, T={}, ctx=ctx, aliases={_ALIAS: entity})
        value = evaluator(env)
        items = value if isinstance(value, list) else [value]
        return [v for v in items if v is not None]

    return values


def _realias(raw: Any) -> Any:
    if isinstance(raw, str):
        if raw == "_":
            return _ALIAS
        if raw.startswith("_."):
            return _ALIAS + raw[1:]
        return raw
    if isinstance(raw, list):
        return [_realias(r) for r in raw]
    if isinstance(raw, dict):
        return {k: _realias(v) for k, v in raw.items()}
    return raw
