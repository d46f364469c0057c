"""``hops`` compiled as a join agrees with the interpreter's hops exactly.

Two generated datasets: source entities hop on ``x`` into ``other`` entities keyed on ``y``.
Keys mix numbers equal by value (``1``, ``1.0``, ``~f1``), booleans, strings that look like
numbers, ``~``-strings, NIs, nulls and lists of them; hopped entities may be deleted. Outputs are
compared as exact body text in order (entity lists carry ``_hash``/``_ts``/``_updated``/
``_previous``), with the filtered ids.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.entity import NI
from engine.store import Store
from tests.sqlc.support import plan_of, refusal_of, run_interpreter, run_sql

keys = st.sampled_from(
    [1, 1.0, 2, Decimal("1"), True, False, "1", "a", "~a", "é", 'q"', None, NI("n", "1"), 1.5]
)
key_values = st.one_of(keys, st.lists(keys, max_size=3))
payloads = st.one_of(
    st.none(),
    st.integers(-3, 3),
    st.sampled_from(["v", "~v", 0.25, 1e20]),
    st.lists(keys, max_size=2),
)


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    sources = [
        {"_id": f"s{i}", **({"x": draw(key_values)} if draw(st.booleans()) else {})}
        for i in range(draw(st.integers(1, 5)))
    ]
    others = []
    for i in draw(st.lists(st.integers(0, 6), max_size=5, unique=True)):
        entity: dict[str, Any] = {"_id": f"o{i}", "y": draw(key_values), "z": draw(payloads)}
        if draw(st.integers(0, 4)) == 0:
            entity["_deleted"] = True
        if draw(st.booleans()):
            entity["$ids"] = [NI("n", str(i))]
        others.append(entity)
    return sources, others


def hop_rules(
    returns: str | None, flipped: bool, track: bool, *, filtered: bool = True
) -> list[Any]:
    where = ["eq", "o.y", "_S.x"] if flipped else ["eq", "_S.x", "o.y"]
    spec: dict[str, Any] = {"datasets": ["other o"], "where": [where] if flipped else where}
    if returns is not None:
        spec["return"] = returns
    if not track:
        spec["track-dependencies"] = False
    rules: list[Any] = [["copy", "*"], ["add", "h", ["hops", spec]]]
    return [*rules, ["filter", ["neq", "_S.x", "a"]]] if filtered else rules


def outcomes(rules: list[Any], sources: list[Any], others: list[Any]) -> tuple[Any, Any]:
    plan = plan_of(rules)
    with Store(":memory:") as store:
        store.dataset("src").append(sources)
        if others:
            store.dataset("other").append(others)
        return run_sql(plan, store), run_interpreter(rules, store)


@settings(max_examples=60, deadline=None)
@given(
    world=worlds(),
    returns=st.sampled_from([None, "o", "o.z", "o.$ids", "o._id"]),
    flipped=st.booleans(),
    track=st.booleans(),
)
def test_hops_sql_and_interpreter_agree(
    world: tuple[list[Any], list[Any]], returns: str | None, flipped: bool, track: bool
) -> None:
    sources, others = world
    sql, interpreted = outcomes(hop_rules(returns, flipped, track), sources, others)
    assert sql.error == interpreted.error
    assert sql.bodies == interpreted.bodies
    assert sql.filtered == interpreted.filtered


def test_hops_joins_by_value_and_orders_by_id() -> None:
    sources = [{"_id": "s", "x": [1, "k"]}]
    others = [
        {"_id": "b", "y": "k", "z": "zk"},
        {"_id": "a", "y": 1, "z": ["z1", None]},
        {"_id": "c", "y": "1", "z": "string one never joins 1"},
        {"_id": "d", "y": 1, "z": "deleted", "_deleted": True},
    ]
    sql, interpreted = outcomes(hop_rules("o.z", False, True, filtered=False), sources, others)
    assert sql.bodies == interpreted.bodies
    assert sql.bodies == ['{"_deleted":false,"_id":"s","h":["z1",null,"zk"],"x":[1,"k"]}']
    assert sql.interpreted == 0


def test_a_float_key_in_the_hopped_dataset_sends_the_run_to_the_interpreter() -> None:
    sources = [{"_id": "s", "x": 1}]
    others = [{"_id": "a", "y": 1.0, "z": 1}]
    sql, interpreted = outcomes(hop_rules("o.z", False, True), sources, others)
    assert sql.bodies == interpreted.bodies == ['{"_deleted":false,"_id":"s","h":[1],"x":1}']
    assert sql.interpreted == 1


def test_uncompiled_hops_forms_are_refused_with_their_path() -> None:
    two = {"datasets": ["a x", "b y"], "where": [["eq", "_S.k", "x.k"], ["eq", "x.j", "y.j"]]}
    refusal = refusal_of([["add", "h", ["hops", two]]])
    assert "several datasets" in refusal.reason
    assert str(refusal.path) == "$.transform.rules.default[0][2][1]"
    nested = {"datasets": ["a x"], "where": ["eq", "_S.k", "x.k.j"]}
    assert "one-step alias path" in refusal_of([["add", "h", ["hops", nested]]]).reason


simple_keys = st.sampled_from(
    [1, 2, -7, True, False, "1", "a", "~a", "é", 'q"', None, NI("n", "1")]
)


@st.composite
def unique_worlds(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Hopped keys unique per entity (the LEFT JOIN fast path), sources with scalars or lists."""
    sources = [
        {"_id": f"s{i}", "x": draw(st.one_of(simple_keys, st.lists(simple_keys, max_size=2)))}
        for i in range(draw(st.integers(1, 5)))
    ]
    ys = draw(st.lists(simple_keys, max_size=5, unique_by=repr))
    others = [
        {"_id": f"o{i}", "y": y, "z": draw(payloads), **({"_deleted": True} if i == 3 else {})}
        for i, y in enumerate(ys)
    ]
    return sources, others


@settings(max_examples=60, deadline=None)
@given(world=unique_worlds(), returns=st.sampled_from([None, "o", "o.z", "o._id"]))
def test_unique_hopped_keys_take_the_left_join_and_agree(
    world: tuple[list[Any], list[Any]], returns: str | None
) -> None:
    sources, others = world
    sql, interpreted = outcomes(hop_rules(returns, False, False), sources, others)
    assert sql.error == interpreted.error
    assert sql.bodies == interpreted.bodies
    assert sql.filtered == interpreted.filtered


def test_unique_keys_join_without_aggregation() -> None:
    plan = plan_of(hop_rules("o.z", False, False, filtered=False))
    sources = [{"_id": "s1", "x": "k"}, {"_id": "s2", "x": "none"}, {"_id": "s3", "x": ["k"]}]
    others = [{"_id": "a", "y": "k", "z": "zk"}, {"_id": "b", "y": 1, "z": None}]
    with Store(":memory:") as store:
        store.dataset("src").append(sources)
        store.dataset("other").append(others)
        unique = plan.compile_for(["_id", "x"], fast=True, unique_hops=True)
        assert "GROUP BY" not in unique.sql and "LEFT JOIN {hop:1} AS t1" in unique.sql
        sql = run_sql(plan, store, mode="fast")
        assert (
            sql.bodies
            == run_interpreter(hop_rules("o.z", False, False, filtered=False), store).bodies
        )
        assert sql.bodies[:2] == [
            '{"_deleted":false,"_id":"s1","h":["zk"],"x":"k"}',
            '{"_deleted":false,"_id":"s2","h":[],"x":"none"}',
        ]
        assert sql.interpreted == 1  # the list key: several entities could match
