"""Evaluate compiled hops specs (:mod:`engine.dtl.hops`) against a ``DatasetLookup``.

Rows are dicts alias → entity. Starting from one empty row per source entity, each fetch
evaluates the bound side of its join on the row, asks the store for entities of the other alias
whose index values overlap (``DatasetLookup.find``, latest non-deleted versions, by ``_id``), and
keeps the extended rows that pass the checks placed on that fetch. Each fetch is reported to
``ctx.dependencies`` (unless ``track-dependencies`` is false) with the index key and the values
looked up, which is what the runner needs to re-emit the source entity when a hopped entity
changes.
"""

from __future__ import annotations

from typing import Any

from engine.dtl.env import Env, IndexKey, RunContext
from engine.dtl.hops import Fetch, HopsPlan, flat_values
from engine.dtl.values import truthy
from engine.entity import Entity
from engine.errors import DtlEvalError

__all__ = ["run_hops"]


def _index_key(fetch: Fetch, ctx: RunContext) -> IndexKey:
    name = fetch.key_name
    if ctx.namespaced_identifiers:
        name += f"|ns={ctx.identity_ns},{ctx.property_ns}"
    alias, side = fetch.alias, fetch.alias_side

    def values(entity: Entity) -> list[Any]:
        env = Env(S=None, T={}, ctx=ctx, aliases={alias: entity})
        return flat_values(side(env))

    return IndexKey(name, values)


def _run_spec(plan: HopsPlan, env: Env, source: Any) -> list[dict[str, Any]]:
    """The result rows (alias → entity) of one spec for one source entity."""
    ctx = env.ctx
    if ctx.datasets is None:
        raise DtlEvalError("hops needs datasets, but none are available in this context")
    base = env.with_aliases({}, source)
    if not all(check(base) for check in plan.pre_checks):
        return []
    rows: list[dict[str, Any]] = [{}]
    for fetch in plan.fetches:
        key = _index_key(fetch, ctx)
        subset = plan.subsets.get(fetch.alias)
        new_rows: list[dict[str, Any]] = []
        for row in rows:
            values = flat_values(fetch.bound(env.with_aliases(row, source)))
            if not values:
                continue
            if plan.track and ctx.dependencies is not None:
                ctx.dependencies.record(fetch.dataset, key, values)
            for entity in ctx.datasets.find(fetch.dataset, key, values):
                if subset is not None and not truthy(subset(env.with_aliases({}, entity))):
                    continue
                extended = {**row, fetch.alias: entity}
                renv = env.with_aliases(extended, source)
                if all(check(renv) for check in fetch.checks):
                    new_rows.append(extended)
        rows = new_rows
    return rows


def _entities(rows: list[dict[str, Any]], aliases: tuple[str, ...]) -> list[Entity]:
    out: list[Entity] = []
    for alias in aliases:
        by_id = {row[alias]["_id"]: row[alias] for row in rows if alias in row}
        out.extend(by_id[k] for k in sorted(by_id))
    return out


def _results(plan: HopsPlan, env: Env, source: Any) -> list[Any]:
    rows = _run_spec(plan, env, source)
    if plan.return_aliases is not None:
        return _entities(rows, plan.return_aliases)
    out: list[Any] = []
    for row in rows:
        renv = env.with_aliases(row, source)
        if plan.return_template is not None:
            out.append({k: expr(renv) for k, expr in plan.return_template.items()})
            continue
        assert plan.return_expr is not None
        value = plan.return_expr(renv)
        if isinstance(value, list):
            out.extend(value)
        elif value is not None:
            out.append(value)
    return out


def _recurse(plan: HopsPlan, env: Env, source: Any) -> list[Any]:
    root_id = source.get("_id") if isinstance(source, dict) else None
    visited = {root_id}
    frontier = [source]
    out: list[Any] = [] if plan.exclude_root else [source]
    depth = 0
    while frontier and (plan.max_depth is None or depth < plan.max_depth):
        found: dict[str, Entity] = {}
        for entity in frontier:
            for hit in _results(plan, env, entity):
                hit_id = hit.get("_id") if isinstance(hit, dict) else None
                if hit_id not in visited and isinstance(hit_id, str):
                    found[hit_id] = hit
        visited.update(found)
        frontier = [found[k] for k in sorted(found)]
        out.extend(frontier)
        depth += 1
    return out


def run_hops(plans: list[HopsPlan], env: Env) -> list[Any]:
    """Evaluate chained specs: the output entities of one spec are ``_S`` of the next."""
    sources: list[Any] = [env.S]
    for plan in plans:
        out: list[Any] = []
        seen: set[Any] = set()
        for source in sources:
            hits = _recurse(plan, env, source) if plan.recurse else _results(plan, env, source)
            for hit in hits:
                key = ("id", hit["_id"]) if isinstance(hit, dict) and "_id" in hit else None
                if key is not None:
                    if key in seen:
                        continue
                    seen.add(key)
                out.append(hit)
        sources = out
    return sources
