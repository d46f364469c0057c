"""The ``merge`` source: entities from several datasets that are "the same" become one.

Design notes
------------
* Matching follows Sesam's merge source (version 2): two members are the same when any equality
  rule joins them (value-set overlap, as in hops joins); sameness is transitive (connected
  components); deleted members are never merged; ``null``/``[]`` never match.
* Members are keyed ``"<dataset offset>|<_id>"``. Their equality values live in a DuckDB table
  ``merge_keys_<k>`` (rule, side, value, member) and their current group in
  ``merge_members_<k>`` (member, group id). Both are updated in the run's transaction.
* Incremental runs read each dataset after its own offset (the since token is a dict of
  offsets). Python evaluates the equality expressions of each changed member (one read chunk at
  a time) and hands the key rows to :mod:`engine.sources.merge_groups`, which finds the
  affected groups, their components and ids in SQL and streams the groups back in bounded
  batches; Python only combines each group's bodies. Memory is one batch, not the run.
* Output id: ``identity: first`` uses the first member's ``_id`` in (dataset offset, ``_id``)
  order; ``composite`` joins ``offset|_id`` parts with ``|``. When a group's id changes, the old
  id is emitted first as ``{"_id": old, "_deleted": true, "$replaced": true}``.
* ``$ids`` is the union of the members' ``$ids`` (a member that has none contributes its own id,
  as an NI when the pipe has namespaced identifiers). Properties are combined by ``strategy``:
  ``default`` (values of a key present in several members become a list, in member order),
  ``compact`` (duplicates and empty lists dropped, single values unwrapped) or ``list``
  (``$merged``: the members themselves).
* A full run (first run, reset, ``--full``) rebuilds the state from scratch; the dataset sink's
  deletion tracking then removes ids no longer produced.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from engine.config.pipes import PipeConfig
from engine.entity import DELETED, ID, NI, Entity, canonical_json, is_deleted
from engine.errors import ConfigError, JsonPath, PipeRunError
from engine.sources.base import SourceBatch
from engine.sources.merge_groups import KEY_SCHEMA, GroupIndex, Regrouped
from engine.store import Store, table_to_entities
from engine.store.lookup import index_key
from engine.store.store import first_row

__all__ = ["MergeSource", "RuleMatch"]

READ_CHUNK = 5_000
"""Offsets per read window of the key pass (decoded entities are the pass's memory)."""
EMIT_CHUNK = 2_000


@dataclass(frozen=True, slots=True)
class _Side:
    alias: str
    dataset_index: int
    evaluate: Any  # Callable[[Entity], list[Any]]
    expression: str
    """The expression as canonical JSON: sides that read the same are evaluated once a member."""


@dataclass(frozen=True, slots=True)
class _Rule:
    index: int
    left: _Side
    right: _Side
    text: Any = None
    """The rule as written (``["eq", left, right]``; a pair of an ``equality_sets`` entry)."""
    where: JsonPath | None = None


@dataclass(frozen=True, slots=True)
class RuleMatch:
    """An equality rule that joins two members, and the values both sides produced."""

    rule: int
    text: Any
    where: JsonPath | None
    values: tuple[Any, ...]


class MergeSource:
    """Sesam's merge source; see the module docstring."""

    supports_since = True

    def __init__(self, store: Store, pipe: PipeConfig) -> None:
        from engine.dtl import RunContext

        raw = pipe.source.raw
        path = pipe.source.path
        self.store = store
        self.pipe = pipe
        self.identity = raw.get("identity", "composite")
        if self.identity not in ("first", "composite"):
            raise ConfigError(
                f"expected 'first' or 'composite' for 'identity', found {self.identity!r}",
                file=pipe.file,
                path=path / "identity",
            )
        self.strategy = raw.get("strategy", "default")
        if self.strategy not in ("default", "compact", "list"):
            raise ConfigError(
                f"expected 'default', 'compact' or 'list' for 'strategy', found {self.strategy!r}",
                file=pipe.file,
                path=path / "strategy",
            )
        self.max_merged = int(raw.get("max_merged", 50_000))
        self.include_replaced = raw.get("include_replaced", True) is not False
        self.datasets: list[str] = []
        self.aliases: dict[str, int] = {}
        for i, spec in enumerate(raw.get("datasets", [])):
            parts = str(spec).split()
            if len(parts) not in (1, 2):
                raise ConfigError(
                    f"expected '<dataset> <alias>', found {spec!r}",
                    file=pipe.file,
                    path=path / "datasets" / i,
                )
            name = parts[0]
            alias = parts[1] if len(parts) == 2 else parts[0]
            if alias in self.aliases:
                raise ConfigError(
                    f"alias {alias!r} is used twice", file=pipe.file, path=path / "datasets" / i
                )
            self.datasets.append(name)
            self.aliases[alias] = i
        self.ctx = RunContext(
            pipe_id=pipe.id,
            namespaced_identifiers=pipe.namespaced_identifiers,
            identity_namespace=pipe.identity_namespace,
            property_namespace=pipe.property_namespace,
        )
        self.rules = self._compile_rules(raw)
        self._tables: tuple[str, str] | None = None

    # --- config -------------------------------------------------------------------------------

    def _compile_rules(self, raw: Any) -> list[_Rule]:
        pairs: list[tuple[Any, Any, Any]] = []
        for i, rule in enumerate(raw.get("equality", []) or []):
            where = self.pipe.source.path / "equality" / i
            if not (isinstance(rule, list) and len(rule) == 3 and rule[0] == "eq"):
                raise ConfigError(
                    'expected an equality rule ["eq", <alias expression>, <alias expression>]',
                    file=self.pipe.file,
                    path=where,
                    snippet=rule,
                )
            pairs.append((rule[1], rule[2], where))
        for i, group in enumerate(raw.get("equality_sets", []) or []):
            where = self.pipe.source.path / "equality_sets" / i
            if not isinstance(group, list) or len(group) < 2:
                raise ConfigError(
                    "expected a list of at least two alias paths",
                    file=self.pipe.file,
                    path=where,
                    snippet=group,
                )
            for a, b in itertools.pairwise(group):
                pairs.append((a, b, where))
        return [
            _Rule(
                n,
                self._side(left, where / 1),
                self._side(right, where / 2),
                ["eq", left, right],
                where,
            )
            for n, (left, right, where) in enumerate(pairs)
        ]

    def _side(self, expression: Any, where: Any) -> _Side:
        from engine.dtl import Env, compile_expression

        aliases = frozenset(self.aliases)
        used = _aliases_in(expression, aliases)
        if len(used) != 1:
            raise ConfigError(
                "each side of an equality rule must use exactly one dataset alias "
                f"(known: {', '.join(sorted(aliases))}); found {sorted(used) or 'none'}",
                file=self.pipe.file,
                path=where,
                snippet=expression,
            )
        alias = next(iter(used))
        evaluator = compile_expression(expression, file=self.pipe.file, path=where, aliases=aliases)
        ctx = self.ctx

        def evaluate(entity: Entity) -> list[Any]:
            env = Env(S=entity, T={}, ctx=ctx, aliases={alias: entity})
            value = evaluator(env)
            values = value if isinstance(value, list) else [value]
            return [v for v in values if v is not None and v != []]

        return _Side(alias, self.aliases[alias], evaluate, canonical_json(expression))

    # --- state tables -------------------------------------------------------------------------

    def _state_tables(self) -> tuple[str, str]:
        if self._tables is None:
            self.store.run(
                "CREATE TABLE IF NOT EXISTS hub_merge_state (pipe_id VARCHAR NOT NULL, k INTEGER)"
            )
            row = first_row(
                self.store.con.execute(
                    "SELECT k FROM hub_merge_state WHERE pipe_id = ?", [self.pipe.id]
                )
            )
            if row is None:
                row = first_row(
                    self.store.con.execute("SELECT coalesce(max(k), 0) + 1 FROM hub_merge_state")
                )
                self.store.run("INSERT INTO hub_merge_state VALUES (?, ?)", [self.pipe.id, row[0]])
            k = int(row[0])
            keys, members = f"merge_keys_{k}", f"merge_members_{k}"
            self.store.run(
                f"""CREATE TABLE IF NOT EXISTS {keys}
                    (r INTEGER NOT NULL, s INTEGER NOT NULL, v VARCHAR NOT NULL, m VARCHAR NOT NULL);
                    CREATE TABLE IF NOT EXISTS {members}
                    (m VARCHAR NOT NULL, grp VARCHAR NOT NULL)"""
            )
            self._tables = (keys, members)
        return self._tables

    # --- explaining (read-only; ``pipe why``) ---------------------------------------------------

    def matches(self, left: tuple[int, Entity], right: tuple[int, Entity]) -> list[RuleMatch]:
        """The rules joining two members (dataset position, entity), each with the shared values.

        Computed by the same side evaluators and ``index_key`` the run uses, so an explanation
        can never disagree with how the group was formed.
        """
        found: list[RuleMatch] = []
        for rule in self.rules:
            for a, b in ((left, right), (right, left)):
                if (rule.left.dataset_index, rule.right.dataset_index) != (a[0], b[0]):
                    continue
                theirs = {index_key(v) for v in rule.right.evaluate(b[1])}
                shared = [v for v in rule.left.evaluate(a[1]) if index_key(v) in theirs]
                if shared:
                    found.append(RuleMatch(rule.index, rule.text, rule.where, tuple(shared)))
                    break
        return found

    def group_of(self, dataset_index: int, entity_id: str) -> str | None:
        """The ``_id`` the member's group was last emitted as; ``None`` if it never was.

        Reads the key index without creating it (an explanation must not change the hub).
        """
        exists = first_row(
            self.store.con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                ["hub_merge_state"],
            )
        )
        if not exists or not exists[0]:
            return None
        row = first_row(
            self.store.con.execute(
                "SELECT k FROM hub_merge_state WHERE pipe_id = ?", [self.pipe.id]
            )
        )
        if row is None:
            return None
        members = f"merge_members_{int(row[0])}"
        found = first_row(
            self.store.con.execute(
                f"SELECT grp FROM {members} WHERE m = ?", [f"{dataset_index}|{entity_id}"]
            )
        )
        return None if found is None else str(found[0])

    # --- reading ------------------------------------------------------------------------------

    def is_populated(self) -> bool:
        return all(self.store.dataset(name).populated for name in self.datasets)

    def previous_version(self, entity_id: str) -> Entity | None:
        return None

    def read(self, since: Any) -> Iterator[SourceBatch]:
        offsets: dict[str, int] = dict(since) if isinstance(since, dict) else {}
        index = self._index()
        index.start(full=since is None)
        for i, name in enumerate(self.datasets):
            ds = self.store.dataset(name)
            top = ds.max_offset
            cursor = offsets.get(name, -1)
            # Offset windows, not LIMIT pages: a page after ``cursor`` would have DuckDB read
            # (and sort) every later body to find the first READ_CHUNK; a window reads only
            # its own row groups.
            while top is not None and cursor < top:
                upto = min(cursor + READ_CHUNK, top)
                table = ds.read_since(cursor, until=upto)
                if table.num_rows:
                    self._record(index, i, table_to_entities(table))
                cursor = offsets[name] = upto
        if not index.changed_count():
            index.finish()
            yield SourceBatch([], offsets)
            return
        plan = index.regroup(identity=self.identity)
        self._check(plan)
        index.save_groups()
        if self.include_replaced:
            gone: list[Entity] = [{ID: g, DELETED: True, "$replaced": True} for g in plan.replaced]
            for start in range(0, len(gone), EMIT_CHUNK):
                yield SourceBatch(gone[start : start + EMIT_CHUNK], offsets)
        for batch in plan.batches:
            for chunk in self._merged(index.fetch(batch)):
                yield SourceBatch(chunk, offsets)
        index.finish()

    def _index(self) -> GroupIndex:
        keys, members = self._state_tables()
        logs = [
            self.store.dataset(name).table_names() if self.store.dataset(name).exists else None
            for name in self.datasets
        ]
        return GroupIndex(self.store, keys, members, logs)

    def _record(self, index: GroupIndex, position: int, entities: list[Entity]) -> None:
        """Hand one read chunk's members and their equality values to the key index."""
        members: list[str] = []
        rows: dict[str, list[Any]] = {"r": [], "s": [], "v": [], "m": []}
        sides = [
            (rule.index, side_no, side)
            for rule in self.rules
            for side_no, side in ((0, rule.left), (1, rule.right))
            if side.dataset_index == position
        ]
        for entity in entities:
            member = f"{position}|{entity[ID]}"
            members.append(member)
            if is_deleted(entity):
                continue  # deleted members are never merged: they have no keys
            # A pipe that links every pair of datasets repeats each side in several rules
            # (global-order: "erp.$origin" in eight); equality expressions are pure, so each
            # distinct one is evaluated (and its keys built) once per member.
            keys: dict[str, list[str]] = {}
            for rule_index, side_no, side in sides:
                found = keys.get(side.expression)
                if found is None:
                    found = keys[side.expression] = [index_key(v) for v in side.evaluate(entity)]
                for key in found:
                    rows["r"].append(rule_index)
                    rows["s"].append(side_no)
                    rows["v"].append(key)
                    rows["m"].append(member)
        index.add_changed(members, pa.table(rows, schema=KEY_SCHEMA))

    def _check(self, plan: Regrouped) -> None:
        if plan.largest > self.max_merged:
            raise PipeRunError(
                self.pipe.id,
                "source",
                ConfigError(
                    f"a merged group would have {plan.largest} members, more than "
                    f"max_merged={self.max_merged}"
                ),
            )
        if plan.clash is not None:
            raise PipeRunError(
                self.pipe.id,
                "source",
                ConfigError(
                    f"identity 'first' gives two different groups the same _id {plan.clash!r}: "
                    "the same _id exists in several datasets without an equality rule joining "
                    "them; use namespaced identifiers, an equality rule on _id, or "
                    "identity 'composite'",
                    file=self.pipe.file,
                    path=self.pipe.source.path / "identity",
                ),
            )

    def _merged(self, table: pa.Table) -> Iterator[list[Entity]]:
        """The merged entities of one fetched batch, in chunks of :data:`EMIT_CHUNK`.

        Rows come ordered by group, then member; bodies are decoded one chunk at a time so only
        the Arrow batch and one chunk of entities are ever in memory.
        """
        pos = table.column("pos").to_pylist()
        gids = table.column("gid").to_pylist()
        n = len(pos)
        bounds = [0, *(r for r in range(1, n) if pos[r] != pos[r - 1]), n]
        rows = table.select(["body", "_updated", "_ts", "_hash", "_previous"])
        for g0 in range(0, len(bounds) - 1, EMIT_CHUNK):
            g1 = min(g0 + EMIT_CHUNK, len(bounds) - 1)
            lo, hi = bounds[g0], bounds[g1]
            entities = table_to_entities(rows.slice(lo, hi - lo))
            yield [
                self._merge(gids[a], entities[a - lo : b - lo])
                for a, b in zip(bounds[g0:g1], bounds[g0 + 1 : g1 + 1], strict=True)
            ]

    # --- combining members --------------------------------------------------------------------

    def _member_ids(self, entity: Entity) -> list[Any]:
        ids = entity.get("$ids")
        if isinstance(ids, list) and ids:
            return list(ids)
        if self.pipe.namespaced_identifiers:
            return [NI.parse(entity[ID])]
        return [entity[ID]]

    def _merge(self, out_id: str, entities: list[Entity]) -> Entity:
        """One group's entity; ``entities`` in (dataset position, ``_id``) order."""
        ids: list[Any] = []
        for entity in entities:
            for value in self._member_ids(entity):
                if value not in ids:
                    ids.append(value)
        result: Entity = {ID: out_id, "$ids": ids}
        if len(entities) == 1 and is_deleted(entities[0]):
            result[DELETED] = True
        bodies = [
            {k: v for k, v in entity.items() if not k.startswith("_") and k != "$ids"}
            for entity in entities
        ]
        if self.strategy == "list":
            result["$merged"] = bodies
            return result
        combined: dict[str, list[Any]] = {}
        for body in bodies:
            for key, value in body.items():
                combined.setdefault(key, []).append(value)
        for key, values in combined.items():
            if len(values) == 1:
                value = values[0]
                if self.strategy == "compact":
                    value = _compact(value if isinstance(value, list) else [value])
                result[key] = value
                continue
            flat: list[Any] = []
            for value in values:
                flat.extend(value if isinstance(value, list) else [value])
            result[key] = _compact(flat) if self.strategy == "compact" else flat
        return result


def _compact(values: list[Any]) -> Any:
    seen: list[Any] = []
    keys: set[str] = set()
    for v in values:
        if v == []:
            continue
        key = canonical_json(v)
        if key not in keys:
            keys.add(key)
            seen.append(v)
    if not seen:
        return None
    return seen[0] if len(seen) == 1 else seen


def _aliases_in(expression: Any, aliases: frozenset[str]) -> set[str]:
    """Which dataset aliases an equality expression reads (``"a.email"`` reads ``a``)."""
    found: set[str] = set()
    if isinstance(expression, str):
        head = expression.split(".", 1)[0]
        if head in aliases and (expression == head or "." in expression):
            found.add(head)
    elif isinstance(expression, list):
        for item in expression[1:] if expression and isinstance(expression[0], str) else expression:
            found |= _aliases_in(item, aliases)
    elif isinstance(expression, dict):
        for item in expression.values():
            found |= _aliases_in(item, aliases)
    return found
