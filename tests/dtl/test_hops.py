"""Hops against a brute-force reference: the join is an overlap of value sets."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.dtl import IndexKey, MemoryDatasets, evaluate
from engine.dtl.values import as_list, order_key

scalars = st.none() | st.booleans() | st.integers(0, 3) | st.sampled_from(["a", "b", 1.0])
keys = scalars | st.lists(scalars, max_size=3)
log_entries = st.lists(
    st.fixed_dictionaries(
        {"_id": st.sampled_from(["e1", "e2", "e3", "e4", "e5"]), "k": keys},
        optional={"_deleted": st.booleans()},
    ),
    max_size=12,
)


def overlap(left: Any, right: Any) -> bool:
    mine = {order_key(v) for v in as_list(left) if v is not None}
    return any(order_key(v) in mine for v in as_list(right) if v is not None)


def latest(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_id: dict[str, dict[str, Any]] = {}
    for entity in log:
        by_id[entity["_id"]] = entity
    return [by_id[k] for k in sorted(by_id) if by_id[k].get("_deleted") is not True]


@settings(max_examples=200, deadline=None)
@given(log_entries, keys)
def test_hops_join_equals_brute_force(log: list[dict[str, Any]], source_key: Any) -> None:
    spec = {"datasets": ["d d"], "where": [["eq", "_S.k", "d.k"]]}
    found = evaluate(["hops", spec], {"_id": "s", "k": source_key}, datasets={"d": log})
    expected = [e for e in latest(log) if overlap(source_key, e["k"])]
    assert found == expected


@settings(max_examples=200, deadline=None)
@given(log_entries, keys)
def test_memory_find_equals_brute_force(log: list[dict[str, Any]], values: Any) -> None:
    store = MemoryDatasets({"d": log})
    key = IndexKey("k", lambda e: [v for v in as_list(e.get("k")) if v is not None])
    found = store.find("d", key, [v for v in as_list(values) if v is not None])
    assert found == [e for e in latest(log) if overlap(values, e["k"])]


refs = st.sampled_from(["e1", "e2", "e3", None]) | st.lists(
    st.sampled_from(["e1", "e4"]), max_size=2
)
referring_entries = st.lists(
    st.fixed_dictionaries(
        {"_id": st.sampled_from(["e1", "e2", "e3"]), "k": refs},
        optional={"_deleted": st.booleans()},
    ),
    max_size=8,
)


@settings(max_examples=100, deadline=None)
@given(log_entries, referring_entries, keys)
def test_two_hop_chain_equals_nested_loops(
    first: list[dict[str, Any]], second: list[dict[str, Any]], source_key: Any
) -> None:
    second = [{**e, "_id": "f" + e["_id"]} for e in second]
    spec = {
        "datasets": ["a a", "b b"],
        "where": [["eq", "_S.k", "a.k"], ["eq", "a._id", "b.k"]],
    }
    found = evaluate(
        ["hops", spec], {"_id": "s", "k": source_key}, datasets={"a": first, "b": second}
    )
    hits_a = [a for a in latest(first) if overlap(source_key, a["k"])]
    expected = [b for b in latest(second) if any(overlap(a["_id"], b["k"]) for a in hits_a)]
    assert found == expected
