"""The merge source's grouping, in SQL over the key index (issue 8: no per-entity Python).

Design notes
------------
* State (per merge pipe ``k``, committed with the run): ``merge_keys_<k>`` (rule ``r``, side
  ``s``, join value ``v``, member ``m``) and ``merge_members_<k>`` (member, group id emitted).
  A member is ``"<dataset position>|<_id>"``. The schema is the one the per-entity
  implementation used, so hubs keep their state across the change.
* A run records the changed members' ids in a temporary table and replaces their key rows
  (:meth:`GroupIndex.add_changed`, one call per read chunk, so nothing is held in Python).
* :meth:`GroupIndex.regroup` then works only in DuckDB:

  1. **Affected members** (incremental): the changed members, every member of a group one of
     them was in, and everything the key index connects to those: a breadth-first search, one
     ``INSERT ... SELECT`` per level (a level follows ``(r, v)`` buckets from one side to the
     other). A full run affects every member and skips the search.
  2. **Components**: a bipartite graph of affected members and the ``(r, v)`` buckets that have
     members on both sides (only those join, as in Sesam's equality). Labels start as the
     member numbers; a round sets every bucket to the minimum label of its members, every member
     to the minimum of its buckets, then jumps pointers (``label := label(label)``). It stops
     when no label moves. Plain propagation needs as many rounds as the longest chain; the
     pointer jump makes a chain of length d settle in O(log d) rounds. Each round is a few hash
     joins over the edge table: O(E) work.
  3. **Group ids** with ordered aggregates (``first(_id ORDER BY position, _id)`` or
     ``string_agg``), deleted members as groups of their own; ``$replaced`` ids are the old
     group ids of affected members that no group has any more.
  4. **Batches**: groups are numbered in (first member's dataset, its offset) order and cut
     into batches of about :data:`BATCH_MEMBERS` members, so one batch reads a mostly
     contiguous offset range of the first dataset (DuckDB prunes the rest by zone maps).

* Memory is bounded by one batch of member bodies (Arrow) plus the entities of one emitted
  chunk; the group tables live in DuckDB, which spills to disk beyond its memory limit.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from engine.store import Store
from engine.store.store import arrow_table, first_row

__all__ = ["BATCH_MEMBERS", "GroupIndex", "Regrouped"]

BATCH_MEMBERS = 25_000
"""Members whose bodies are read together; bounds a run's memory (see the module docstring)."""

MAX_ROUNDS = 10_000
"""A safety net: label propagation converges in O(log longest chain) rounds."""

KEY_SCHEMA = pa.schema(
    [("r", pa.int32()), ("s", pa.int32()), ("v", pa.string()), ("m", pa.string())]
)
_M_SCHEMA = pa.schema([("m", pa.string())])

# temporary tables (connection-local; created and dropped inside the run's transaction)
_CHANGED = "hub_merge_changed"
_AFF = "hub_merge_aff"
_NODES = "hub_merge_nodes"
_EDGES = "hub_merge_edges"
_LBL = "hub_merge_lbl"
_COMP = "hub_merge_comp"
_GROUPS = "hub_merge_groups"
_TEMPS = (_CHANGED, _AFF, _NODES, _EDGES, _LBL, _COMP, _GROUPS)
_SCRATCH = ("hub_merge_front", "hub_merge_next", "hub_merge_lbl2", "hub_merge_batch")


@dataclass(frozen=True, slots=True)
class Regrouped:
    """What :meth:`GroupIndex.regroup` found, before anything is emitted."""

    batches: list[int]
    """The batch numbers to :meth:`GroupIndex.fetch`, in order (a big group skips numbers)."""
    largest: int
    """Members of the largest live group (checked against ``max_merged``)."""
    clash: str | None
    """A group id two groups would share (``identity: first``), or ``None``."""
    replaced: list[str]
    """Old group ids no group has any more, sorted."""


class GroupIndex:
    """The key index and group assignment of one merge pipe, and a run's regrouping."""

    def __init__(self, store: Store, keys: str, members: str, logs: list[tuple[str, str] | None]):
        self.store = store
        self.keys = keys
        self.members = members
        self.logs = logs
        """Per dataset position: ``(log table, current table)``, ``None`` if it does not exist."""
        self.full = False

    # --- recording the changed members ---------------------------------------------------------

    def start(self, *, full: bool) -> None:
        """Begin a run; a full run forgets the key index and the groups."""
        self.full = full
        if full:
            self.store.run(f"DELETE FROM {self.keys}")
            self.store.run(f"DELETE FROM {self.members}")
        self.store.run(f"CREATE OR REPLACE TEMP TABLE {_CHANGED} (m VARCHAR NOT NULL)")

    def add_changed(self, members: list[str], keys: pa.Table) -> None:
        """Record one chunk of changed members and replace their key rows."""
        chunk = pa.table({"m": members}, schema=_M_SCHEMA)
        # ``run_arrow``, not ``register``: a registered table lives until the commit.
        self.store.run_arrow(
            f"INSERT INTO {_CHANGED} SELECT m FROM hub_merge_chunk", "hub_merge_chunk", chunk
        )
        if not self.full:
            self.store.run_arrow(
                f"DELETE FROM {self.keys} WHERE m IN (SELECT m FROM hub_merge_chunk)",
                "hub_merge_chunk",
                chunk,
            )
        if keys.num_rows:
            self.store.run_arrow(
                f"INSERT INTO {self.keys} SELECT r, s, v, m FROM hub_merge_new_keys",
                "hub_merge_new_keys",
                keys,
            )

    def changed_count(self) -> int:
        return self._count(_CHANGED)

    # --- regrouping ----------------------------------------------------------------------------

    def regroup(self, *, identity: str) -> Regrouped:
        """Find the affected groups and their new ids (see the module docstring, steps 1-4)."""
        self._affected()
        self._nodes()
        self._components()
        gid = (
            "first(id ORDER BY i, id)"
            if identity == "first"
            else "string_agg(m, '|' ORDER BY i, id)"
        )
        self.store.run(
            f"""CREATE OR REPLACE TEMP TABLE {_GROUPS} AS
            WITH g AS (
                SELECT c, count(*) AS size, bool_or(del) AS del, {gid} AS gid,
                       first(i ORDER BY i, id) AS fi, first(u ORDER BY i, id) AS fu
                FROM {_COMP} GROUP BY c)
            SELECT c, size, del, gid,
                   row_number() OVER w AS pos,
                   (sum(size) OVER w - size) // {int(BATCH_MEMBERS)} AS batch
            FROM g WINDOW w AS (ORDER BY fi, fu ROWS UNBOUNDED PRECEDING)"""
        )
        row = first_row(
            self.store.con.execute(f"SELECT coalesce(max(size) FILTER (NOT del), 0) FROM {_GROUPS}")
        )
        largest = int(row[0]) if row else 0
        batches = [
            int(r[0])
            for r in self.store.con.execute(
                f"SELECT DISTINCT batch FROM {_GROUPS} ORDER BY batch"
            ).fetchall()
        ]
        return Regrouped(batches, largest, self._clash(), self._replaced())

    def _affected(self) -> None:
        """Step 1: the changed members, their old groups' members, and all connected to them."""
        run = self.store.run
        if self.full:
            run(f"CREATE OR REPLACE TEMP TABLE {_AFF} AS SELECT m FROM {_CHANGED}")
            return
        run(
            f"""CREATE OR REPLACE TEMP TABLE {_AFF} AS
            SELECT m FROM {_CHANGED}
            UNION
            SELECT o.m FROM {self.members} o WHERE o.grp IN
                (SELECT p.grp FROM {self.members} p JOIN {_CHANGED} c ON p.m = c.m)"""
        )
        run(f"CREATE OR REPLACE TEMP TABLE hub_merge_front AS SELECT m FROM {_AFF}")
        while True:
            run(
                f"""CREATE OR REPLACE TEMP TABLE hub_merge_next AS
                SELECT DISTINCT k2.m FROM hub_merge_front f
                JOIN {self.keys} k1 ON k1.m = f.m
                JOIN {self.keys} k2 ON k2.r = k1.r AND k2.v = k1.v AND k2.s <> k1.s
                WHERE k2.m NOT IN (SELECT m FROM {_AFF})"""
            )
            if not self._count("hub_merge_next"):
                break
            run(f"INSERT INTO {_AFF} SELECT m FROM hub_merge_next")
            run("CREATE OR REPLACE TEMP TABLE hub_merge_front AS SELECT m FROM hub_merge_next")
        run("DROP TABLE IF EXISTS hub_merge_next")

    def _nodes(self) -> None:
        """Number the affected members that exist, with their deleted flag and offset."""
        parts = [
            f"SELECT {i} AS i, _id, _deleted, _updated FROM {tables[1]}"
            for i, tables in enumerate(self.logs)
            if tables is not None
        ]
        current = " UNION ALL ".join(parts) or (
            "SELECT 0 AS i, ''::VARCHAR AS _id, false AS _deleted, 0::BIGINT AS _updated LIMIT 0"
        )
        self.store.run(
            f"""CREATE OR REPLACE TEMP TABLE {_NODES} AS
            WITH a AS (SELECT m, CAST(split_part(m, '|', 1) AS INTEGER) AS i,
                              substr(m, strpos(m, '|') + 1) AS id FROM {_AFF})
            SELECT row_number() OVER () AS n, a.m, a.i, a.id, c._deleted AS del, c._updated AS u
            FROM a JOIN ({current}) c ON c.i = a.i AND c._id = a.id"""
        )

    def _components(self) -> None:
        """Step 2: label propagation with pointer jumping until no label moves."""
        run = self.store.run
        run(
            f"""CREATE OR REPLACE TEMP TABLE {_EDGES} AS
            WITH k AS (SELECT k.r, k.s, k.v, n.n FROM {self.keys} k
                       JOIN {_NODES} n ON n.m = k.m WHERE NOT n.del),
                 b AS (SELECT r, v, row_number() OVER () AS b FROM k
                       GROUP BY r, v HAVING min(s) < max(s))
            SELECT DISTINCT k.n, b.b FROM k JOIN b ON b.r = k.r AND b.v = k.v"""
        )
        run(f"CREATE OR REPLACE TEMP TABLE {_LBL} AS SELECT DISTINCT n, n AS l FROM {_EDGES}")
        for _ in range(MAX_ROUNDS):
            run(
                f"""CREATE OR REPLACE TEMP TABLE hub_merge_lbl2 AS
                WITH bl AS (SELECT e.b, min(x.l) AS l FROM {_EDGES} e
                            JOIN {_LBL} x ON x.n = e.n GROUP BY e.b),
                     nl AS (SELECT e.n, min(bl.l) AS l FROM {_EDGES} e
                            JOIN bl ON bl.b = e.b GROUP BY e.n)
                SELECT s.n, j.l FROM nl s JOIN nl j ON j.n = s.l"""
            )
            moved = first_row(
                self.store.con.execute(
                    f"SELECT count(*) FROM hub_merge_lbl2 y JOIN {_LBL} x ON x.n = y.n "
                    "WHERE x.l <> y.l"
                )
            )
            run(f"DROP TABLE {_LBL}")
            run(f"ALTER TABLE hub_merge_lbl2 RENAME TO {_LBL}")
            if not moved or not moved[0]:
                break
        else:  # pragma: no cover - propagation with pointer jumping always converges
            raise RuntimeError("merge grouping did not converge")
        run(
            f"""CREATE OR REPLACE TEMP TABLE {_COMP} AS
            SELECT n.n, n.m, n.i, n.id, n.u, n.del,
                   CASE WHEN n.del THEN n.n ELSE coalesce(l.l, n.n) END AS c
            FROM {_NODES} n LEFT JOIN {_LBL} l ON l.n = n.n"""
        )

    def _clash(self) -> str | None:
        """A group id two groups would get: among the new groups, or held by an unaffected one."""
        row = first_row(
            self.store.con.execute(
                f"SELECT gid FROM {_GROUPS} GROUP BY gid HAVING count(*) > 1 ORDER BY gid LIMIT 1"
            )
        )
        if row is None:
            row = first_row(
                self.store.con.execute(
                    f"""SELECT o.grp FROM {self.members} o JOIN {_GROUPS} g ON g.gid = o.grp
                    WHERE o.m NOT IN (SELECT m FROM {_AFF}) ORDER BY o.grp LIMIT 1"""
                )
            )
        return None if row is None else str(row[0])

    def _replaced(self) -> list[str]:
        rows = self.store.con.execute(
            f"""SELECT DISTINCT o.grp FROM {self.members} o JOIN {_AFF} a ON a.m = o.m
            WHERE o.grp NOT IN (SELECT gid FROM {_GROUPS}) ORDER BY o.grp"""
        ).fetchall()
        return [str(r[0]) for r in rows]

    # --- after the checks ---------------------------------------------------------------------

    def save_groups(self) -> None:
        """Store every affected member's new group id (the run's transaction commits it).

        Then drops the working tables the batches do not need: the sink's writes that follow
        share DuckDB's memory limit with them.
        """
        self.store.run(f"DELETE FROM {self.members} WHERE m IN (SELECT m FROM {_AFF})")
        self.store.run(
            f"""INSERT INTO {self.members}
            SELECT c.m, g.gid FROM {_COMP} c JOIN {_GROUPS} g ON g.c = c.c"""
        )
        for table in (_CHANGED, _AFF, _NODES, _EDGES, _LBL):
            self.store.run(f"DROP TABLE IF EXISTS {table}")

    def fetch(self, batch: int) -> pa.Table:
        """One batch's members with their latest bodies, in group then member order.

        Columns: ``pos`` (group), ``gid``, ``m``, the log's reserved columns and ``body``.
        """
        parts = [
            f"""SELECT b.pos, b.gid, b.m, b.i, b.id, l._updated, l._ts, l._hash, l._previous,
                       l.body
                FROM hub_merge_batch b JOIN {tables[0]} l ON l._updated = b.u
                WHERE b.i = {i}"""
            for i, tables in enumerate(self.logs)
            if tables is not None
        ]
        self.store.run(
            f"""CREATE OR REPLACE TEMP TABLE hub_merge_batch AS
            SELECT g.pos, g.gid, c.m, c.i, c.id, c.u FROM {_GROUPS} g
            JOIN {_COMP} c ON c.c = g.c WHERE g.batch = ?""",
            [batch],
        )
        return arrow_table(
            self.store.con.execute(" UNION ALL ".join(parts) + " ORDER BY pos, i, id")
        )

    def finish(self) -> None:
        for table in (*_TEMPS, *_SCRATCH):
            self.store.run(f"DROP TABLE IF EXISTS {table}")

    def _count(self, table: str) -> int:
        row = first_row(self.store.con.execute(f"SELECT count(*) FROM {table}"))
        return int(row[0]) if row else 0
