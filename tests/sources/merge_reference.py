"""The per-entity merge grouping that ``engine.sources.merge`` replaced: the differential oracle.

This is the Python implementation (union-find over the affected members, every changed member
held in memory) as it was before the grouping moved to SQL (issue 8). It reuses the engine's
configuration and side evaluators and replaces only the run: ``read``, the regrouping and the
combining of bodies, copied unchanged. tests/sources/test_merge_differential.py checks that the
SQL grouping emits exactly what this emits.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa

from engine.entity import DELETED, ID, NI, Entity, is_deleted
from engine.errors import ConfigError, PipeRunError
from engine.sources.base import SourceBatch
from engine.sources.merge import MergeSource, _compact
from engine.store import table_to_entities
from engine.store.lookup import index_key

__all__ = ["ReferenceMergeSource"]

READ_CHUNK = 20_000
EMIT_CHUNK = 2_000


class ReferenceMergeSource(MergeSource):
    """The merge source with the former per-entity grouping."""

    def read(self, since: Any) -> Iterator[SourceBatch]:
        keys, members = self._state_tables()
        offsets: dict[str, int] = dict(since) if isinstance(since, dict) else {}
        if since is None:
            self.store.run(f"DELETE FROM {keys}")
            self.store.run(f"DELETE FROM {members}")
        changed: dict[str, Entity] = {}
        for i, name in enumerate(self.datasets):
            ds = self.store.dataset(name)
            for table in ds.iter_since(offsets.get(name), batch_size=READ_CHUNK):
                for entity in table_to_entities(table):
                    changed[f"{i}|{entity[ID]}"] = entity
                offsets[name] = int(table.column("_updated")[-1].as_py())
        if not changed:
            yield SourceBatch([], offsets)
            return
        output = self._regroup(changed)
        for start in range(0, max(len(output), 1), EMIT_CHUNK):
            chunk = output[start : start + EMIT_CHUNK]
            yield SourceBatch(chunk, offsets)

    def _regroup(self, changed: dict[str, Entity]) -> list[Entity]:
        keys, members = self._state_tables()
        con = self.store.con
        changed_ids = list(changed)
        old_groups = {
            m: g
            for m, g in con.execute(
                f"SELECT m, grp FROM {members} WHERE m IN (SELECT unnest(?::VARCHAR[]))",
                [changed_ids],
            ).fetchall()
        }
        # 1. replace the changed members' key rows
        self.store.run(
            f"DELETE FROM {keys} WHERE m IN (SELECT unnest(?::VARCHAR[]))", [changed_ids]
        )
        rows: dict[str, list[Any]] = {"r": [], "s": [], "v": [], "m": []}
        for member, entity in changed.items():
            if is_deleted(entity):
                continue
            index = int(member.split("|", 1)[0])
            for rule in self.rules:
                for side_no, side in ((0, rule.left), (1, rule.right)):
                    if side.dataset_index != index:
                        continue
                    for value in side.evaluate(entity):
                        rows["r"].append(rule.index)
                        rows["s"].append(side_no)
                        rows["v"].append(index_key(value))
                        rows["m"].append(member)
        if rows["m"]:
            table = pa.table(rows, schema=_KEY_SCHEMA)
            con.register("hub_merge_new_keys", table)
            try:
                self.store.run(f"INSERT INTO {keys} SELECT r, s, v, m FROM hub_merge_new_keys")
            finally:
                con.unregister("hub_merge_new_keys")
        # 2. the affected members: changed ones, their old groups, and everything connected
        affected = set(changed_ids)
        groups = sorted(set(old_groups.values()))
        if groups:
            for (m,) in con.execute(
                f"SELECT m FROM {members} WHERE grp IN (SELECT unnest(?::VARCHAR[]))", [groups]
            ).fetchall():
                affected.add(m)
        frontier = sorted(affected)
        while frontier:
            found = con.execute(
                f"""SELECT DISTINCT k2.m FROM {keys} k1 JOIN {keys} k2
                    ON k1.r = k2.r AND k1.v = k2.v AND k1.s <> k2.s
                    WHERE k1.m IN (SELECT unnest(?::VARCHAR[]))""",
                [frontier],
            ).fetchall()
            frontier = sorted({m for (m,) in found} - affected)
            affected.update(frontier)
        # 3. old output ids of every affected member (to emit $replaced for vanished ones)
        affected_list = sorted(affected)
        previous = {
            m: g
            for m, g in con.execute(
                f"SELECT m, grp FROM {members} WHERE m IN (SELECT unnest(?::VARCHAR[]))",
                [affected_list],
            ).fetchall()
        }
        # 4. components among the affected members
        entities = dict(changed)
        missing = [m for m in affected_list if m not in entities]
        entities.update(self._load_members(missing))
        parent = {m: m for m in affected_list}

        def find(x: str) -> str:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        buckets: dict[tuple[int, str], tuple[list[str], list[str]]] = {}
        for r, s, v, m in con.execute(
            f"SELECT r, s, v, m FROM {keys} WHERE m IN (SELECT unnest(?::VARCHAR[]))",
            [affected_list],
        ).fetchall():
            if m in parent:
                buckets.setdefault((r, v), ([], []))[s].append(m)
        for left, right in buckets.values():
            if left and right:
                root = find(left[0])
                for m in left[1:] + right:
                    other = find(m)
                    if other != root:
                        parent[other] = root
        components: dict[str, list[str]] = {}
        for m in affected_list:
            if m in entities:
                components.setdefault(find(m), []).append(m)
        # 5. emit: $replaced deletes first, then the merged entities
        out: list[Entity] = []
        new_group: dict[str, str] = {}
        merged: list[Entity] = []
        for comp in components.values():
            comp.sort(key=_member_order)
            live = [m for m in comp if not is_deleted(entities[m])]
            dead = [m for m in comp if is_deleted(entities[m])]
            for m in dead:
                entity = self._merge_ref([m], entities)
                new_group[m] = entity[ID]
                merged.append(entity)
            if live:
                if len(live) > self.max_merged:
                    raise PipeRunError(
                        self.pipe.id,
                        "source",
                        ConfigError(
                            f"a merged group would have {len(live)} members, more than "
                            f"max_merged={self.max_merged}"
                        ),
                    )
                entity = self._merge_ref(live, entities)
                for m in live:
                    new_group[m] = entity[ID]
                merged.append(entity)
        produced = {e[ID] for e in merged}
        self._check_collisions(merged, affected_list)
        for gone in sorted(set(previous.values()) - produced):
            if self.include_replaced:
                out.append({ID: gone, DELETED: True, "$replaced": True})
        out.extend(merged)
        self.store.run(
            f"DELETE FROM {members} WHERE m IN (SELECT unnest(?::VARCHAR[]))", [affected_list]
        )
        if new_group:
            grp_table = pa.table(
                {"m": list(new_group), "grp": list(new_group.values())}, schema=_MEMBER_SCHEMA
            )
            con.register("hub_merge_groups", grp_table)
            try:
                self.store.run(f"INSERT INTO {members} SELECT m, grp FROM hub_merge_groups")
            finally:
                con.unregister("hub_merge_groups")
        return out

    def _check_collisions(self, merged: list[Entity], affected: list[str]) -> None:
        """Two groups must never get the same ``_id`` (possible with ``identity: first``)."""
        seen: set[str] = set()
        clash: list[str] = []
        for entity in merged:
            if entity[ID] in seen:
                clash.append(entity[ID])
            seen.add(entity[ID])
        if not clash and merged:
            _, members = self._state_tables()
            rows = self.store.con.execute(
                f"""SELECT grp FROM {members} WHERE grp IN (SELECT unnest(?::VARCHAR[]))
                    AND m NOT IN (SELECT unnest(?::VARCHAR[])) LIMIT 1""",
                [sorted(seen), affected],
            ).fetchall()
            clash = [r[0] for r in rows]
        if clash:
            raise PipeRunError(
                self.pipe.id,
                "source",
                ConfigError(
                    f"identity 'first' gives two different groups the same _id {clash[0]!r}: "
                    "the same _id exists in several datasets without an equality rule joining "
                    "them; use namespaced identifiers, an equality rule on _id, or "
                    "identity 'composite'",
                    file=self.pipe.file,
                    path=self.pipe.source.path / "identity",
                ),
            )

    def _load_members(self, members: Sequence[str]) -> dict[str, Entity]:
        by_dataset: dict[int, list[str]] = {}
        for m in members:
            prefix, entity_id = m.split("|", 1)
            by_dataset.setdefault(int(prefix), []).append(entity_id)
        found: dict[str, Entity] = {}
        for position, ids in by_dataset.items():
            for entity in self.store.dataset(self.datasets[position]).latest_many(ids):
                found[f"{position}|{entity[ID]}"] = entity
        return found

    # --- combining members --------------------------------------------------------------------

    def _member_ids(self, entity: Entity) -> list[Any]:
        ids = entity.get("$ids")
        if isinstance(ids, list) and ids:
            return list(ids)
        if self.pipe.namespaced_identifiers:
            return [NI.parse(entity[ID])]
        return [entity[ID]]

    def _merge_ref(self, members: list[str], entities: dict[str, Entity]) -> Entity:
        out_id = members[0].split("|", 1)[1] if self.identity == "first" else "|".join(members)
        ids: list[Any] = []
        for m in members:
            for value in self._member_ids(entities[m]):
                if value not in ids:
                    ids.append(value)
        result: Entity = {ID: out_id, "$ids": ids}
        if len(members) == 1 and is_deleted(entities[members[0]]):
            result[DELETED] = True
        bodies = [
            {k: v for k, v in entities[m].items() if not k.startswith("_") and k != "$ids"}
            for m in members
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


_KEY_SCHEMA = pa.schema(
    [("r", pa.int32()), ("s", pa.int32()), ("v", pa.string()), ("m", pa.string())]
)
_MEMBER_SCHEMA = pa.schema([("m", pa.string()), ("grp", pa.string())])


_KEY_SCHEMA = pa.schema(
    [("r", pa.int32()), ("s", pa.int32()), ("v", pa.string()), ("m", pa.string())]
)
_MEMBER_SCHEMA = pa.schema([("m", pa.string()), ("grp", pa.string())])


def _member_order(member: str) -> tuple[int, str]:
    index, entity_id = member.split("|", 1)
    return int(index), entity_id
