"""Property: incremental runs with dependency tracking equal a full recomputation.

Any sequence of inserts, edits, re-keys and deletes in the hopped dataset (and in the source),
with incremental runs in between, leaves the view equal to a full run of the same rules:
dependency tracking re-emits every source entity whose hops result changed, deletes included
(a deleted version without properties still finds its dependents through the version before).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.clock import FixedClock
from engine.hub import Hub
from tests.helpers import from_dataset, write_project

RULES = [
    ["copy", "_id"],
    [
        "add",
        "parent-name",
        [
            "hops",
            {
                "datasets": ["golden g"],
                "where": [["eq", "_S.parent", "g.$ids"]],
                "return": "g.name",
            },
        ],
    ],
]

KEYS = ["k1", "k2", "k3", "k4"]
GOLDEN_IDS = ["g1", "g2", "g3"]
SOURCE_IDS = ["s1", "s2", "s3"]

golden_op = st.one_of(
    st.tuples(
        st.just("golden"),
        st.sampled_from(GOLDEN_IDS),
        st.lists(st.sampled_from(KEYS), max_size=3, unique=True),
        st.sampled_from(["A", "B", "C"]),
    ),
    st.tuples(st.just("golden-delete"), st.sampled_from(GOLDEN_IDS)),
)
source_op = st.one_of(
    st.tuples(st.just("source"), st.sampled_from(SOURCE_IDS), st.sampled_from([*KEYS, None])),
    st.tuples(st.just("source-delete"), st.sampled_from(SOURCE_IDS)),
)
ops = st.lists(st.one_of(golden_op, source_op, st.just(("run",))), min_size=1, max_size=25)


def _view(hub: Hub, name: str) -> dict[str, Any]:
    return {
        e["_id"]: e.get("parent-name")
        for e in hub.store.dataset(name).latest_entities(include_deleted=False)
    }


def _apply(hub: Hub, op: tuple[Any, ...]) -> None:
    kind = op[0]
    if kind == "golden":
        _, gid, ids, name = op
        hub.store.dataset("golden").append([{"_id": gid, "$ids": ids, "name": name}])
    elif kind == "golden-delete":  # a merge's retired id: no properties on the deleted version
        hub.store.dataset("golden").append([{"_id": op[1], "_deleted": True, "$replaced": True}])
    elif kind == "source":
        hub.store.dataset("branches").append([{"_id": op[1], "parent": op[2]}])
    elif kind == "source-delete":
        hub.store.dataset("branches").append([{"_id": op[1], "_deleted": True}])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_incremental_tracking_equals_full_recomputation(steps: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_project(
            root,
            [from_dataset("view", "branches", RULES), from_dataset("view-full", "branches", RULES)],
        )
        with Hub.open(root, db=root / "hub.duckdb", clock=FixedClock()) as hub:
            hub.store.dataset("golden").append([{"_id": "g0", "$ids": ["k0"], "name": "Z"}])
            hub.store.dataset("branches").append([{"_id": "s0", "parent": "k0"}])
            hub.run("view")
            for op in [*steps, ("run",)]:
                if op[0] != "run":
                    _apply(hub, op)
                    continue
                hub.run("view")
                hub.run("view-full", full=True)
                assert _view(hub, "view") == _view(hub, "view-full"), steps
                assert hub.run("view").read == 0  # tracking has nothing left over
