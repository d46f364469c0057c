"""The SQL grouping of the merge source emits exactly what the per-entity reference emits.

Random members over two or three datasets, with equality values that join, chain, overlap as
lists or compare as numbers (``1`` joins ``1.0``, never ``true``), change and get deleted over
several runs, some incremental and some full. After every run both sources must have emitted the
same entities (ids, bodies, ``$ids``, deletes), the same ``$replaced`` ids (first, sorted), or
the same error. Batches are made tiny so groups straddle fetch and emit boundaries.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine.sources.merge as merge_module
import engine.sources.merge_groups as groups_module
from engine.clock import FixedClock
from engine.config.pipes import parse_pipe
from engine.entity import Entity, canonical_json
from engine.errors import PipeRunError
from engine.sources.merge import MergeSource
from engine.store import Store
from tests.sources.merge_reference import ReferenceMergeSource

CONFIGS: list[dict[str, Any]] = [
    {
        "datasets": ["A a", "B b", "C c"],
        "identity": "composite",
        "equality": [["eq", "a.x", "b.x"], ["eq", "b.y", "c.y"], ["eq", "a.y", "c.x"]],
    },
    {
        "datasets": ["A a", "B b"],
        "identity": "first",
        "strategy": "compact",
        "equality": [["eq", "a.x", "b.x"], ["eq", "a.x", "a.y"]],
    },
    {
        "datasets": ["A a", "B b", "C c"],
        "identity": "first",
        "strategy": "list",
        "equality_sets": [["a.x", "b.x", "c.x"]],
        "equality": [["eq", "b.y", "c.y"]],
        "max_merged": 4,
    },
]

VALUES = st.sampled_from([None, "k1", "k2", "k3", 1, 1.0, True, [], ["k1", "k2"], ["k3", 1]])
OP = st.tuples(
    st.sampled_from(["A", "B", "C"]),
    st.sampled_from(["1", "2", "3", "4", "s"]),  # "s" exists in several datasets: id clashes
    VALUES,
    VALUES,
    st.integers(0, 5),  # 0: deleted
)
RUN = st.tuples(st.lists(OP, min_size=1, max_size=8), st.sampled_from(["inc", "inc", "full"]))


def source(cls: type[MergeSource], store: Store, pipe_id: str, config: dict[str, Any]) -> Any:
    pipe = parse_pipe({"_id": pipe_id, "source": {"type": "merge", "version": 2, **config}})
    assert pipe is not None
    return cls(store, pipe)


def drive(store: Store, src: MergeSource, since: Any) -> tuple[list[Entity] | str, Any]:
    """One run in a transaction: what the source emitted (or its error) and the new offsets."""
    out: list[Entity] = []
    try:
        with store.transaction():
            for batch in src.read(since):
                out.extend(batch.entities)
                since = batch.next_since
    except PipeRunError as e:
        return str(e).replace(repr(src.pipe.id), "'P'"), since
    return out, since


def split(emitted: list[Entity] | str) -> Any:
    """``$replaced`` ids in order (they must come first), and the rest as a sorted list."""
    if isinstance(emitted, str):
        return emitted
    replaced = [e["_id"] for e in emitted if e.get("$replaced") is True]
    assert all(e.get("$replaced") is True for e in emitted[: len(replaced)])
    rest = sorted(canonical_json(e) for e in emitted if e.get("$replaced") is not True)
    return replaced, rest


@pytest.fixture
def tiny_batches() -> Iterator[None]:
    saved = groups_module.BATCH_MEMBERS, merge_module.EMIT_CHUNK
    groups_module.BATCH_MEMBERS, merge_module.EMIT_CHUNK = 3, 2
    yield
    groups_module.BATCH_MEMBERS, merge_module.EMIT_CHUNK = saved


@pytest.mark.usefixtures("tiny_batches")
@settings(max_examples=60, deadline=None)
@given(config=st.sampled_from(CONFIGS), runs=st.lists(RUN, min_size=1, max_size=5))
def test_sql_grouping_emits_what_the_reference_emits(
    config: dict[str, Any], runs: list[tuple[list[tuple[str, str, Any, Any, int]], str]]
) -> None:
    with Store(":memory:", clock=FixedClock()) as store:
        since_new: Any = None
        since_ref: Any = None
        for n, (ops, mode) in enumerate(runs):
            for dataset, entity_id, x, y, alive in ops:
                entity = {"_id": f"{dataset.lower()}{entity_id}", "x": x, "y": y}
                if entity_id == "s":
                    entity["_id"] = "s"
                entity["_deleted"] = alive == 0
                store.dataset(dataset).append([entity])
            if mode == "full":
                since_new = since_ref = None
            # fresh sources per run, as the runner builds them (a rolled-back run forgets tables)
            new = source(MergeSource, store, "new", config)
            ref = source(ReferenceMergeSource, store, "ref", config)
            got, since_new = drive(store, new, since_new)
            want, since_ref = drive(store, ref, since_ref)
            assert split(got) == split(want), f"run {n} ({mode})"
            # the stored group assignment agrees too (pipe why reads it)
            assert _groups(store, new) == _groups(store, ref), f"run {n} ({mode})"


def _groups(store: Store, src: MergeSource) -> list[tuple[str, str]]:
    """The pipe's stored (member, group id) rows; none if no run of it committed."""
    found = store.con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_name = 'hub_merge_state'"
    ).fetchall()
    k = (
        found
        and store.con.execute(
            "SELECT k FROM hub_merge_state WHERE pipe_id = ?", [src.pipe.id]
        ).fetchall()
    )
    if not k:
        return []
    return sorted(store.con.execute(f"SELECT m, grp FROM merge_members_{k[0][0]}").fetchall())
