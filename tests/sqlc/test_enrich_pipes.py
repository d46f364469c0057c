"""The project's person and contact enrich pipes take the SQL path and write what the
interpreter writes, on the sandboxes' seed records and on generated names.

The source datasets are filled with the seed records of the system the matching collect pipe
reads (``engine.sandbox.seed``), each keyed by its ``id`` as the system source does; the
pipes' own rules, namespaces and filters run unchanged both ways.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config.pipes import parse_pipe
from engine.dtl import RunContext, compile_transform
from engine.entity import FILTERED, ID, hash_body
from engine.sandbox.seed import seed_data
from engine.sqlc import SqlPlan, plan_pipe
from engine.store import Store
from engine.store.lookup import StoreLookup
from tests.sqlc.support import Outcome, run_sql
from tests.sqlc.test_lists_strings import names

PIPES = Path(__file__).resolve().parents[2] / "pipes"
MOVED = [
    "customerp-customerperson-enrich",
    "invoiced-contact-enrich",
    "invoiced-customerperson-enrich",
]
"""Refused before ``first``/``split``/``slice`` compiled; now on the SQL path."""
COMPILED_HERE = ("split", "slice", "first", "join", "substring", "datetime-format")


def _raw(pipe_id: str) -> dict[str, Any]:
    raw: dict[str, Any] = json.loads((PIPES / f"{pipe_id}.json").read_text())
    return raw


def _seed_records(dataset: str, scale: int) -> list[dict[str, Any]]:
    """The seed records the collect pipe writing ``dataset`` reads, as entities."""
    for path in sorted(PIPES.glob("*-collect.json")):
        collect = json.loads(path.read_text())
        if collect.get("sink", {}).get("dataset") == dataset:
            source = collect["source"]
            records = seed_data(scale)[source["system"]][source["datatype"] + "s"]
            return [{**r, "_id": str(r["id"])} for r in records]
    raise AssertionError(f"no collect pipe writes {dataset}")


def _both(raw: dict[str, Any], entities: list[dict[str, Any]]) -> tuple[Outcome, Outcome]:
    pipe = parse_pipe(raw)
    assert pipe is not None
    plan = plan_pipe(pipe)
    assert isinstance(plan, SqlPlan), str(plan)
    dataset = raw["source"]["dataset"]
    compiled = compile_transform(raw["transform"]["rules"], id_required=True)
    with Store(":memory:") as store:
        store.dataset(dataset).append(entities)
        sql = run_sql(plan, store)
        ctx = RunContext.from_pipe(raw, datasets=StoreLookup(store))
        bodies: list[str] = []
        filtered: list[str] = []
        for entity in store.dataset(dataset).entities_since(None):
            for out in compiled.apply(entity, ctx):
                if out.get(FILTERED) is True:
                    filtered.append(out[ID])
                else:
                    bodies.append(hash_body(out))
    return sql, Outcome(bodies, filtered)


@pytest.mark.parametrize("pipe_id", MOVED)
def test_moved_pipes_take_the_sql_path(pipe_id: str) -> None:
    pipe = parse_pipe(_raw(pipe_id))
    assert pipe is not None
    assert isinstance(plan_pipe(pipe), SqlPlan)


def test_no_enrich_pipe_is_refused_for_a_function_compiled_here() -> None:
    for path in sorted(PIPES.glob("*-enrich.json")):
        pipe = parse_pipe(json.loads(path.read_text()))
        assert pipe is not None
        plan = plan_pipe(pipe)
        if not isinstance(plan, SqlPlan):
            assert not any(f"'{name}'" in plan.reason for name in COMPILED_HERE), plan.reason


@pytest.mark.parametrize("pipe_id", MOVED)
@pytest.mark.parametrize("scale", [1, 4])
def test_seed_data_is_byte_identical(pipe_id: str, scale: int) -> None:
    raw = _raw(pipe_id)
    entities = _seed_records(raw["source"]["dataset"], scale)
    sql, interpreted = _both(raw, entities)
    assert sql.bodies == interpreted.bodies
    assert sql.filtered == interpreted.filtered
    assert len(sql.bodies) + len(sql.filtered) == len(entities)
    assert sql.bodies and all(':first_name":"' in body for body in sql.bodies)
    assert sql.interpreted == 0  # seed names (æøå, é, ß, double spaces) stay on SQL


@settings(max_examples=40, deadline=None)
@given(pipe=st.sampled_from(MOVED), data=st.lists(names, min_size=1, max_size=5))
def test_generated_names_are_byte_identical(pipe: str, data: list[str]) -> None:
    raw = _raw(pipe)
    seed = [e for e in _seed_records(raw["source"]["dataset"], 1) if e.get("type") != "company"]
    entities = [{**seed[i % len(seed)], "name": name} for i, name in enumerate(data)]
    for i, entity in enumerate(entities):
        entity["_id"] = f"{entity['_id']}-{i}"
    sql, interpreted = _both(raw, entities)
    assert sql.bodies == interpreted.bodies
    assert sql.filtered == interpreted.filtered
