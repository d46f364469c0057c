"""Plans, refusals (with the JSON path of the offending rule) and the executor's read semantics."""

from __future__ import annotations

from typing import Any

import pytest

from engine.entity import content_hash
from engine.sqlc import MAX_KEYS
from engine.store import Store
from tests.sqlc.support import (
    both,
    plan_of,
    refusal_of,
    run_interpreter,
    run_sql,
)

TYPICAL: list[Any] = [
    ["copy", "*", "tmp_*"],
    ["rename", "fname", "first_name"],
    ["add", "full_name", ["concat", "_S.fname", " ", "_S.lname"]],
    ["add", "country", ["upper", "_S.address.country"]],
    ["add", "city", "_S.address.city"],
    ["filter", ["neq", "_S.status", "deleted"]],
    ["add", "is_big", ["gt", "_S.amount", 500]],
    ["default", "segment", "unknown"],
    ["remove", "created_at"],
]


def people(n: int, version: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "_id": f"p{i}",
            "fname": f"first{i}",
            "lname": "Ødegård" if i % 4 == 0 else "lee",
            "status": "deleted" if i % 5 == 0 else "active",
            "address": {"city": f"city{i % 3}", "country": "no"},
            "amount": i * 97 + version,
            "ratio": i / 7,
            "tmp_x": 1,
            "created_at": "2024-01-01",
        }
        for i in range(n)
    ]


def test_typical_pipe_runs_fully_in_sql_and_matches() -> None:
    sql, interpreted = both(TYPICAL, people(40))
    assert sql.error is None
    assert sql.bodies == interpreted.bodies
    assert sql.filtered == interpreted.filtered == [f"p{i}" for i in range(0, 40, 5)]
    assert sql.interpreted == 0
    assert sql.read == 40


def test_bodies_hash_like_the_entity_model() -> None:
    plan = plan_of([["copy", "*"]])
    with Store(":memory:") as store:
        store.dataset("src").append(people(5))
        batch = next(iter(plan.execute(store, None)))
        sink = store.dataset("sink")
        result = sink.append(batch.entities)
        assert result.written == 5
        for entity in sink.latest_entities():
            stored = store.fetchone(
                f"SELECT _hash FROM {sink.table_names()[1]} WHERE _id = ?", [entity["_id"]]
            )
            assert stored[0] == content_hash(entity)
        # the same batch again changes nothing: md5(body) is the store's change detection
        assert sink.append(batch.entities).written == 0


def test_read_since_latest_only_and_chunks() -> None:
    rules: list[Any] = [["copy", "*"], ["add", "n", ["concat", "_S.fname", "!"]]]
    plan = plan_of(rules)
    with Store(":memory:") as store:
        src = store.dataset("src")
        src.append(people(10))
        first = src.max_offset
        src.append(people(10, version=1)[:4])  # p0..p3 get newer versions
        for since in (None, 2, first):
            sql = run_sql(plan, store, since, chunk=3)
            interpreted = run_interpreter(rules, store, since)
            assert sql.bodies == interpreted.bodies
            assert sql.read == interpreted.read
        batches = list(plan.execute(store, None, chunk_size=4))
        assert [b.next_since for b in batches][-1] == src.max_offset
        assert list(plan.execute(store, src.max_offset)) == []


def test_wildcard_copy_discovers_keys_per_run() -> None:
    rules: list[Any] = [["copy", ["list", "a*", "_id"], "ab"], ["remove", "a?"]]
    data = [{"_id": "1", "a": 1, "ab": 2, "abc": 3, "b": 4}, {"_id": "2", "axe": "y", "ac": 0}]
    sql, interpreted = both(rules, data)
    assert sql.bodies == interpreted.bodies
    assert sql.bodies[0] == '{"_deleted":false,"_id":"1","a":1,"abc":3}'


def test_risky_values_go_to_the_interpreter() -> None:
    data = [
        {"_id": "1", "f": 1e300, "s": "ctl\x01", "big": 10**30},
        {"_id": "2", "f": 0.5, "s": "plain", "big": 3},
    ]
    sql, interpreted = both([["copy", "*"], ["add", "u", ["upper", "_S.s"]]], data)
    assert sql.bodies == interpreted.bodies
    assert sql.interpreted == 1


def test_errors_are_the_interpreters() -> None:
    sql, interpreted = both([["add", "x", 1]], [{"_id": "1"}])
    assert sql.error == interpreted.error == "DtlEvalError"


@pytest.mark.parametrize(
    ("rules", "path", "words"),
    [
        (
            [["copy", "*"], ["add", "d", ["datetime-parse", "%Y%z", "_S.y"]]],
            "$.transform.rules.default[1][2]",
            "%z",
        ),
        (
            [["copy", "*"], ["add", ["concat", "x", "_S.k"], 1]],
            "$.transform.rules.default[1][1]",
            "computed",
        ),
        ([["copy", "*"], ["create", ["list"]]], "$.transform.rules.default[1]", "create"),
        (
            [
                ["copy", "*"],
                [
                    "add",
                    "o",
                    [
                        "hops",
                        {"datasets": ["o o"], "where": ["eq", "_S.a", "o.b"]},
                        {"datasets": ["p p"], "where": ["eq", "_S.b", "p.c"]},
                    ],
                ],
            ],
            "$.transform.rules.default[1][2]",
            "several specs",
        ),
        ([["add", "_id", "_S._updated"]], "$.transform.rules.default[0][2]", "stored body"),
        (
            [["copy", "_id"], ["add", "x", "_S."]],
            "$.transform.rules.default[1][2]",
            "variable path",
        ),
        (
            [["copy", "_id"], ["add", "x", ["coalesce", ["is-null", "_."], "_S.a"]]],
            "$.transform.rules.default[1][2]",
            "FUNCTION",
        ),
    ],
)
def test_refusals_name_the_rule(rules: list[Any], path: str, words: str) -> None:
    refusal = refusal_of(rules)
    assert str(refusal.path) == path
    assert words in refusal.reason


def test_pipe_level_refusals() -> None:
    added = refusal_of([["copy", "*"]], namespaced_identifiers=True, add_namespaces=True)
    assert "add_namespaces" in added.reason
    assert str(added.path) == "$.add_namespaces"
    assert "rename" in refusal_of([["rename", "a", "b"]], namespaced_identifiers=True).reason
    assert "sink" in refusal_of([["copy", "*"]], sink={"type": "null"}).reason
    embedded = refusal_of([["copy", "*"]], source={"type": "embedded", "entities": []})
    assert "source type 'embedded'" in embedded.reason
    assert str(embedded.path) == "$.source.type"
    previous = refusal_of(
        [["copy", "*"]], source={"type": "dataset", "dataset": "src", "subset": ["eq", "_S.a", 1]}
    )
    assert str(previous.path) == "$.source.subset"
    bad = refusal_of([["copy", "*"], ["nosuch", 1]])
    assert "do not compile" in bad.reason
    assert str(bad.path) == "$.transform.rules.default[1]"


def test_filtered_ids_fall_back_to_the_source_id() -> None:
    rules: list[Any] = [["filter", ["eq", "_S.keep", True]], ["copy", "*"]]
    sql, interpreted = both(rules, [{"_id": "a", "keep": False}, {"_id": "b", "keep": True}])
    assert sql.filtered == interpreted.filtered == ["a"]
    assert sql.bodies == interpreted.bodies


def test_keys_sql_paths_cannot_read_go_to_the_interpreter() -> None:
    data = [{"_id": "1", 'q"uote': 1, "back\\slash": 2, "ok": 3}, {"_id": "2", "ok": 4}]
    sql, interpreted = both([["copy", "*"], ["add", "n", ["upper", "_S.ok"]]], data)
    assert sql.bodies == interpreted.bodies
    assert sql.interpreted == 1


def test_too_many_keys_interpret_the_whole_run() -> None:
    wide = {"_id": "w", **{f"k{i}": i for i in range(MAX_KEYS + 1)}}
    sql, interpreted = both([["copy", "*"], ["remove", "k1*"]], [wide, {"_id": "n", "k1": 1}])
    assert sql.bodies == interpreted.bodies
    assert sql.interpreted == 2


def test_a_pipe_writing_its_source_is_refused() -> None:
    assert (
        "own source"
        in refusal_of([["copy", "*"]], sink={"type": "dataset", "dataset": "src"}).reason
    )


def test_sampled_keys_send_rows_with_other_keys_to_the_interpreter() -> None:
    data = [{"_id": str(i), "a": i, "x" * (i % 3): "y"} for i in range(30)]
    data.append({"_id": "rare", "a": 1, "rare": {"n": [1, "é"]}})
    rules: list[Any] = [["copy", "*", "x"], ["add", "b", ["concat", "_S.a", "!"]]]
    sql, interpreted = both(rules, data, sample_rows=3)
    assert sql.bodies == interpreted.bodies
    assert 0 < sql.interpreted < len(data)


def test_fast_query_flags_unusual_types_and_the_run_switches_to_the_general_one() -> None:
    rules = [
        ["copy", "_id"],
        ["add", "n", ["concat", "_S.a", "-"]],
        ["add", "big", ["gt", "_S.b", 5]],
    ]
    plan = plan_of(rules)
    assert "json_extract_string(v" in plan.sql  # fast: no per-row type dispatch
    assert "ELSE '' END" in plan.compile_for([], fast=False).sql  # general: dispatch per row
    typical = [{"_id": f"e{i}", "a": f"x{i}", "b": i} for i in range(50)]
    odd = [{"_id": f"e{i}", "a": i, "b": i} for i in range(50)]  # ints to concat: unusual
    with Store(":memory:") as store:
        store.dataset("src").append(typical)
        fast = run_sql(plan, store, mode="fast")
        assert fast.interpreted == 0 and fast.bodies == run_interpreter(rules, store).bodies
    with Store(":memory:") as store:
        store.dataset("src").append(odd)
        expected = run_interpreter(rules, store).bodies
        assert run_sql(plan, store, mode="fast").interpreted == 50
        adaptive = run_sql(plan, store, mode="adaptive")
        assert adaptive.interpreted == 0 and adaptive.bodies == expected
