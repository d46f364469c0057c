"""Merge source tests as data, and its invariants as Hypothesis properties."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.clock import FixedClock
from engine.entity import canonical_json, decode, encode
from engine.errors import PipeRunError
from engine.hub import Hub
from tests.helpers import write_project

CASES = Path(__file__).parent / "merge_cases"


def load_cases() -> list[Any]:
    out = []
    for file in sorted(CASES.glob("*.json")):
        for case in json.loads(file.read_text()):
            out.append(pytest.param(case, id=f"{file.name}::{case['title']}"))
    return out


def merge_pipe(
    pipe_id: str, source: dict[str, Any], extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {"_id": pipe_id, "source": {"version": 2, **source}, **(extra or {})}


def public(entity: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in encode(entity).items() if not k.startswith("_")}


@pytest.mark.parametrize("case", load_cases())
def test_merge_case(case: dict[str, Any], tmp_path: Path) -> None:
    write_project(tmp_path, [merge_pipe("merged", case["source"], case.get("pipe"))])
    with Hub.open(tmp_path, db=tmp_path / "hub.duckdb", clock=FixedClock()) as hub:
        for n, step in enumerate(case["steps"]):
            for dataset, entities in step["put"].items():
                hub.store.dataset(dataset).append([decode(e) for e in entities])
            before = hub.store.dataset("merged").max_offset if n else None
            hub.run("merged")
            ds = hub.store.dataset("merged")
            live = {e["_id"]: public(e) for e in ds.latest_entities(include_deleted=False)}
            assert live == step["live"], f"step {n}"
            emitted = ds.entities_since(before, include_previous_versions=True)
            replaced = sorted(e["_id"] for e in emitted if e.get("$replaced") is True)
            assert replaced == sorted(step["replaced"]), f"step {n}"
            deleted = sorted(
                e["_id"] for e in ds.latest_entities() if e["_deleted"] and not e.get("$replaced")
            )
            assert deleted == sorted(step.get("deleted", [])), f"step {n}"


# --- properties -------------------------------------------------------------------------------

KEYS = st.sampled_from(["k1", "k2", "k3", None])
IDS = st.sampled_from(["1", "2", "3", "4"])
OP = st.tuples(st.sampled_from(["A", "B", "C"]), IDS, KEYS, KEYS, st.booleans())
SOURCE = {
    "type": "merge",
    "datasets": ["A a", "B b", "C c"],
    "identity": "first",
    "equality": [["eq", "a.x", "b.x"], ["eq", "b.y", "c.y"], ["eq", "a.y", "c.x"]],
}


def snapshot(hub: Hub, dataset: str) -> dict[str, str]:
    return {
        e["_id"]: canonical_json(public(e))
        for e in hub.store.dataset(dataset).latest_entities(include_deleted=False)
    }


@settings(max_examples=25, deadline=None)
@given(
    ops=st.lists(OP, min_size=1, max_size=14),
    cuts=st.lists(st.booleans(), min_size=14, max_size=14),
)
def test_incremental_equals_full_rebuild_and_is_order_independent(
    ops: list[tuple[str, str, Any, Any, bool]],
    cuts: list[bool],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    root = tmp_path_factory.mktemp("merge")
    write_project(
        root, [merge_pipe("inc", SOURCE), merge_pipe("full", SOURCE), merge_pipe("rev", SOURCE)]
    )
    with Hub.open(root, db=root / "hub.duckdb", clock=FixedClock()) as hub:
        for n, (dataset, entity_id, x, y, deleted) in enumerate(ops):
            entity = {"_id": f"{dataset}:{entity_id}", "x": x, "y": y, "_deleted": deleted}
            hub.store.dataset(dataset).append([entity])
            if cuts[n]:  # runs split at random points
                hub.run("inc")
        hub.run("inc")
        hub.run("full")
        incremental = snapshot(hub, "inc")
        assert incremental == snapshot(hub, "full")
    # the same final datasets written in the opposite order give the same merged result
    root2 = tmp_path_factory.mktemp("merge-rev")
    write_project(root2, [merge_pipe("rev", SOURCE)])
    with Hub.open(root2, db=root2 / "hub.duckdb", clock=FixedClock()) as hub:
        final: dict[tuple[str, str], dict[str, Any]] = {}
        for dataset, entity_id, x, y, deleted in ops:
            final[(dataset, entity_id)] = {
                "_id": f"{dataset}:{entity_id}",
                "x": x,
                "y": y,
                "_deleted": deleted,
            }
        for (dataset, _), entity in reversed(list(final.items())):
            hub.store.dataset(dataset).append([entity])
        hub.run("rev")
        assert snapshot(hub, "rev") == incremental


def test_identity_first_collision_is_a_clear_error(tmp_path: Path) -> None:
    write_project(tmp_path, [merge_pipe("m", SOURCE)])
    with Hub.open(tmp_path, db=tmp_path / "hub.duckdb", clock=FixedClock()) as hub:
        hub.store.dataset("A").append([{"_id": "1", "x": "p"}])
        hub.store.dataset("B").append([{"_id": "1", "x": "q"}])
        with pytest.raises(PipeRunError, match="same _id '1'"):
            hub.run("m")
