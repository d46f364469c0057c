"""Hypothesis state machine: the DuckDB dataset behaves exactly like a dict model.

The model keeps the list of versions Sesam's dataset sink would write (a version only when the
id is new or its content/deleted flag changed) and the latest version per id.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from engine.clock import FixedClock
from engine.store import Store

IDS = st.sampled_from(["a", "b", "c", "d", "e", "é", "x y"])
VALUES = st.one_of(st.integers(-3, 3), st.text(max_size=3), st.none(), st.booleans())


def _key(version: tuple[Any, bool] | None) -> tuple[str, bool] | None:
    """Type-strict identity of a version (Python says ``0 == False``; Sesam does not)."""
    return None if version is None else (json.dumps(version[0]), version[1])


class DatasetModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.store = Store(":memory:", clock=FixedClock())
        self.ds = self.store.dataset("model")
        self.versions: list[tuple[str, Any, bool]] = []
        self.latest: dict[str, tuple[Any, bool]] = {}

    def teardown(self) -> None:
        self.store.close()

    def _model_put(self, batch: list[tuple[str, Any, bool]]) -> int:
        last: dict[str, tuple[Any, bool]] = {}
        order: list[str] = []
        for entity_id, value, deleted in batch:
            if entity_id in last:
                order.remove(entity_id)
            last[entity_id] = (value, deleted)
            order.append(entity_id)
        written = 0
        for entity_id in order:
            value, deleted = last[entity_id]
            if _key(self.latest.get(entity_id)) != _key((value, deleted)):
                self.versions.append((entity_id, value, deleted))
                self.latest[entity_id] = (value, deleted)
                written += 1
        return written

    @rule(batch=st.lists(st.tuples(IDS, VALUES), min_size=1, max_size=6))
    def put(self, batch: list[tuple[str, Any]]) -> None:
        entities = [{"_id": i, "v": v} for i, v in batch]
        result = self.ds.append(entities)
        assert result.written == self._model_put([(i, v, False) for i, v in batch])

    @precondition(lambda self: bool(self.latest))
    @rule(data=st.data())
    def put_same(self, data: st.DataObject) -> None:
        entity_id = data.draw(st.sampled_from(sorted(self.latest)))
        value, deleted = self.latest[entity_id]
        result = self.ds.append([{"_id": entity_id, "v": value, "_deleted": deleted}])
        assert result.written == 0 and result.unchanged == 1

    @precondition(lambda self: bool(self.latest))
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        entity_id = data.draw(st.sampled_from(sorted(self.latest)))
        value, _ = self.latest[entity_id]
        result = self.ds.append([{"_id": entity_id, "v": value, "_deleted": True}])
        assert result.written == self._model_put([(entity_id, value, True)])

    @rule(seen=st.lists(st.tuples(IDS, VALUES), max_size=5, unique_by=lambda t: t[0]))
    def full_run_with_missing(self, seen: list[tuple[str, Any]]) -> None:
        with self.store.transaction():
            self.ds.append([{"_id": i, "v": v} for i, v in seen])
            self.store.run("CREATE OR REPLACE TEMP TABLE seen_ids (_id VARCHAR)")
            for entity_id, _ in seen:
                self.store.run("INSERT INTO seen_ids VALUES (?)", [entity_id])
            self.ds.track_deletions("seen_ids")
        self._model_put([(i, v, False) for i, v in seen])
        seen_ids = {i for i, _ in seen}
        deletions = [
            (i, value, True)
            for i, (value, deleted) in sorted(
                self.latest.items(),
                key=lambda kv: max(n for n, ver in enumerate(self.versions) if ver[0] == kv[0]),
            )
            if i not in seen_ids and not deleted
        ]
        self._model_put(deletions)

    @rule(offset=st.integers(-1, 30), previous=st.booleans())
    def read_since(self, offset: int, previous: bool) -> None:
        got = self.ds.entities_since(offset, include_previous_versions=previous)
        expected = []
        for n, (entity_id, value, deleted) in enumerate(self.versions):
            if n <= offset:
                continue
            if not previous:
                newest = max(k for k, ver in enumerate(self.versions) if ver[0] == entity_id)
                if newest != n:
                    continue
            expected.append((n, entity_id, value, deleted))
        assert [(e["_updated"], e["_id"], json.dumps(e["v"]), e["_deleted"]) for e in got] == [
            (n, i, json.dumps(v), d) for n, i, v, d in expected
        ]

    @invariant()
    def latest_matches(self) -> None:
        got = {e["_id"]: (e["v"], e["_deleted"]) for e in self.ds.latest_entities()}
        assert {k: _key(v) for k, v in got.items()} == {k: _key(v) for k, v in self.latest.items()}
        counts = self.ds.counts()
        assert counts.versions == len(self.versions)
        assert counts.deleted == sum(1 for _, d in self.latest.values() if d)


TestDatasetModel = DatasetModel.TestCase
TestDatasetModel.settings = settings(max_examples=25, stateful_step_count=15, deadline=None)
