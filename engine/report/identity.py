"""Links in the report: drift (records nothing links) and identity churn (globals that moved).

Design notes
------------
* Both compare the *members* of global entities (``$ids``) as the reconcile left them, and
  churn compares them with how the reconcile found them; each is one SQL query per global
  dataset (members unnested from ``$ids`` and joined), never a loop over entities.
* **Drift** is a record in a target system that someone else created there and that the flows
  know nothing about. Precisely, at the end of the window, a member ``<ns>:<id>`` of a live
  global entity is drift when
  1. ``<ns>`` is the target namespace of a share pipe reading that global dataset (the hub
     writes records of this kind into that system),
  2. ``<ns>`` is no share pipe's ``insert_from`` (a record there is not the *source* of some
     flow: a new Invoiced customer is what the Invoiced → CRM flow exists for, not drift),
  3. it is the global entity's only member (no merge rule linked it to any other record, and
     no copy of it was made anywhere), and
  4. its own record has no ``$origin`` (the hub did not create it).
  Drift is shown per system and datatype with the record's id in that system.
* **Identity churn**: member ``m`` belongs to global ``g0`` before the window and ``g1`` after.
  A *merge* is a ``g1`` whose members came from two or more ``g0``; a *split* is a ``g0`` whose
  members went to two or more ``g1``; a *re-key* is a ``$replaced`` version the merge wrote in
  the window (the old global id retired), with the global ids its members belong to now.
"""

from __future__ import annotations

from engine.report.model import Drift, Merge, Rekey, Split
from engine.report.scope import Bounds, GlobalPipe, Scope, ids_sql, latest_sql, namespace_sql

__all__ = ["churn", "drift"]


def _members(bounds: Bounds, *, at_start: bool = False) -> str:
    """``(gid, ni)`` for every member of every live global entity at the end (or start)."""
    golden = latest_sql(bounds, at_start=at_start)
    return f"SELECT _id AS gid, unnest({ids_sql('body')}) AS ni FROM {golden}"


def drift(scope: Scope) -> tuple[Drift, ...]:
    """Records in target systems that no flow created or links (module notes)."""
    sources = {ns for share in scope.shares for ns in share.insert_from}
    out: list[Drift] = []
    for pipe in scope.globals:
        bounds = scope.bounds(pipe.dataset)
        if bounds is None:
            continue
        targets = {
            s.target_namespace: s
            for s in scope.shares
            if s.source == pipe.dataset and s.target_namespace not in sources
        }
        for ns, share in sorted(targets.items()):
            member_bounds = scope.bounds(pipe.member_dataset(ns))
            if member_bounds is None:
                continue
            rows = scope.store.fetchall(
                f"""
                WITH m AS ({_members(bounds)}),
                alone AS (
                    SELECT gid, any_value(ni) AS ni FROM m GROUP BY gid
                    HAVING count(DISTINCT ni) = 1
                )
                SELECT a.gid, substr(a.ni, 3) AS mid,
                       coalesce(json_extract_string(g.body, '$.name'),
                                json_extract_string(g.body, '$.email')) AS label
                FROM alone a
                JOIN {latest_sql(bounds)} g ON g._id = a.gid
                JOIN {latest_sql(member_bounds)} r ON r._id = substr(a.ni, 3)
                WHERE a.ni LIKE '~:%' AND {namespace_sql("substr(a.ni, 3)")} = ?
                  AND coalesce(json_extract_string(r.body, '$."$origin"'), '') = ''
                ORDER BY mid
                """,
                [ns],
            )
            out += [
                Drift(
                    system=share.system,
                    datatype=share.datatype,
                    id=mid[len(ns) + 1 :],
                    member=mid,
                    dataset=pipe.dataset,
                    golden_id=gid,
                    label=label,
                )
                for gid, mid, label in rows
            ]
    return tuple(out)


def churn(scope: Scope) -> tuple[tuple[Merge, ...], tuple[Split, ...], tuple[Rekey, ...]]:
    """Merges, splits and re-keys of global ids in the window (module notes)."""
    merges: list[Merge] = []
    splits: list[Split] = []
    rekeys: list[Rekey] = []
    for pipe in scope.globals:
        bounds = scope.bounds(pipe.dataset)
        if bounds is None:
            continue
        moves = f"""
            WITH s AS ({_members(bounds, at_start=True)}), e AS ({_members(bounds)})
            SELECT s.gid AS before, e.gid AS after FROM s JOIN e USING (ni)
        """
        for gid, previous in scope.store.fetchall(
            f"SELECT after, list(DISTINCT before ORDER BY before) FROM ({moves}) "
            "GROUP BY after HAVING count(DISTINCT before) >= 2 ORDER BY after"
        ):
            merges.append(Merge(pipe.dataset, gid, tuple(previous)))
        for gid, into in scope.store.fetchall(
            f"SELECT before, list(DISTINCT after ORDER BY after) FROM ({moves}) "
            "GROUP BY before HAVING count(DISTINCT after) >= 2 ORDER BY before"
        ):
            splits.append(Split(pipe.dataset, gid, tuple(into)))
        rekeys += _rekeys(scope, pipe, bounds)
    return tuple(merges), tuple(splits), tuple(rekeys)


def _rekeys(scope: Scope, pipe: GlobalPipe, bounds: Bounds) -> list[Rekey]:
    rows = scope.store.fetchall(
        f"""
        WITH r AS (
            SELECT DISTINCT _id FROM {bounds.table}
            WHERE _updated >= {bounds.before} AND _updated < {bounds.after}
              AND json_extract_string(body, '$."$replaced"') = 'true'
        ),
        s AS ({_members(bounds, at_start=True)}), e AS ({_members(bounds)})
        SELECT r._id, list(DISTINCT e.gid ORDER BY e.gid) FILTER (WHERE e.gid IS NOT NULL)
        FROM r LEFT JOIN s ON s.gid = r._id LEFT JOIN e ON e.ni = s.ni
        GROUP BY r._id ORDER BY r._id
        """
    )
    return [Rekey(pipe.dataset, old, tuple(new or ())) for old, new in rows]
