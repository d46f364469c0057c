"""Shared helpers: run a pipe's rules both ways (SQL plan and interpreter) over a real store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.config.pipes import PipeConfig, parse_pipe
from engine.dtl import RunContext, compile_transform
from engine.entity import FILTERED, ID, Entity, hash_body
from engine.errors import HubError
from engine.sqlc import Refusal, SqlPlan, plan_pipe
from engine.sqlc.executor import Mode
from engine.store import Store
from engine.store.lookup import StoreLookup


def make_pipe(rules: list[Any], **extra: Any) -> PipeConfig:
    raw = {
        "_id": "p",
        "type": "pipe",
        "source": {"type": "dataset", "dataset": "src"},
        "transform": {"type": "dtl", "rules": {"default": rules}},
        **extra,
    }
    pipe = parse_pipe(raw)
    assert pipe is not None
    return pipe


def plan_of(rules: list[Any], **extra: Any) -> SqlPlan:
    plan = plan_pipe(make_pipe(rules, **extra))
    assert isinstance(plan, SqlPlan), str(plan)
    return plan


def refusal_of(rules: list[Any], **extra: Any) -> Refusal:
    plan = plan_pipe(make_pipe(rules, **extra))
    assert isinstance(plan, Refusal), "expected a refusal"
    return plan


@dataclass
class Outcome:
    bodies: list[str]
    filtered: list[str]
    error: str | None = None
    interpreted: int = 0
    read: int = 0


def run_sql(
    plan: SqlPlan,
    store: Store,
    since: int | None = None,
    chunk: int = 250_000,
    sample_rows: int = 20_000,
    mode: Mode | None = None,
) -> Outcome:
    """The SQL path's outcome; by default the fast and the general query must agree."""
    if mode is None:
        fast = run_sql(plan, store, since, chunk, sample_rows, "fast")
        general = run_sql(plan, store, since, chunk, sample_rows, "general")
        assert (fast.bodies, fast.filtered, fast.error) == (
            general.bodies,
            general.filtered,
            general.error,
        ), "the fast and the general query disagree"
        return run_sql(plan, store, since, chunk, sample_rows, "adaptive")
    bodies: list[str] = []
    filtered: list[str] = []
    interpreted = read = 0
    try:
        batches = plan.execute(store, since, chunk_size=chunk, sample_rows=sample_rows, mode=mode)
        for batch in batches:
            bodies += batch.entities.column("body").to_pylist()
            ids = batch.entities.column("_id").to_pylist()
            for body, entity_id in zip(batch.entities.column("body").to_pylist(), ids, strict=True):
                assert '"_id":' in body and isinstance(entity_id, str)
            filtered += batch.filtered
            interpreted += batch.interpreted
            read += batch.read
    except HubError as e:
        return Outcome([], [], type(e).__name__)
    return Outcome(bodies, filtered, None, interpreted, read)


def run_interpreter(
    rules: list[Any], store: Store, since: int | None = None, **extra: Any
) -> Outcome:
    """The interpreter's outcome; ``extra`` pipe keys (``namespaced_identifiers``,
    ``namespaces``) set the run context as the runner does."""
    compiled = compile_transform({"default": rules}, id_required=True)
    ctx = RunContext.from_pipe({"_id": "p", **extra}, datasets=StoreLookup(store))
    bodies: list[str] = []
    filtered: list[str] = []
    entities: list[Entity] = store.dataset("src").entities_since(since)
    try:
        for entity in entities:
            for out in compiled.apply(entity, ctx):
                if out.get(FILTERED) is True:
                    if not isinstance(out[ID], str):
                        return Outcome([], [], "EntityError")
                    filtered.append(out[ID])
                else:
                    bodies.append(hash_body(out))
    except HubError as e:
        return Outcome([], [], type(e).__name__)
    return Outcome(bodies, filtered, None, 0, len(entities))


def both(
    rules: list[Any], entities: list[Entity], sample_rows: int = 20_000, **extra: Any
) -> tuple[Outcome, Outcome]:
    """(sql, interpreter) outcomes of ``rules`` over ``entities`` in a fresh store."""
    plan = plan_of(rules, **extra)
    with Store(":memory:") as store:
        if entities:
            store.dataset("src").append(entities)
        return run_sql(plan, store, sample_rows=sample_rows), run_interpreter(rules, store, **extra)
