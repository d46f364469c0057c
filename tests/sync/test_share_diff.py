"""The share sink's bulk prefilter (engine.sinks.share_diff): same outcomes, no requests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.pipeline import build_sink
from engine.sinks.share import ShareSink
from engine.sinks.share_diff import is_local
from tests.sync.harness import CASES, Case, World, world_for


def case(case_id: str) -> Case:
    return next(c for c in CASES if c.id == case_id)


def _linked(w: World, count: int) -> list[tuple[str, dict[str, Any]]]:
    """``count`` records made in the system and collected: (record id, its payload)."""
    made = []
    for n in range(count):
        record_id, payload, _ = w.create(n)
        made.append((record_id, payload))
    w.collect()
    return made


def test_unchanged_entities_are_settled_without_a_single_request(tmp_path: Path) -> None:
    with world_for(tmp_path, case("invoiced-customer")) as w:
        made = _linked(w, 3)
        desired = [
            {"_id": f"g{n}", "$target_id": rid, "$payload": payload}
            for n, (rid, payload) in enumerate(made)
        ]
        desired.append({"_id": "gone", "$replaced": True, "_deleted": True})
        # every API request fails from here: only the prefilter can settle these
        w.server.faults.fail(500, count=1000)
        report = w.share(desired)
        assert report.status == "ok"
        assert (report.written, report.deleted, report.unchanged) == (0, 0, 4)
        log = {e["_id"]: e for e in w.live(w.share_id)}
        assert {k: v["status"] for k, v in log.items()} == {
            "g0": "unchanged",
            "g1": "unchanged",
            "g2": "unchanged",
            "gone": "skipped",
        }
        assert log["g1"]["$target_id"] == made[1][0]


def test_a_mixed_batch_gets_the_per_entity_outcomes(tmp_path: Path) -> None:
    with world_for(tmp_path, case("invoiced-customer")) as w:
        made = _linked(w, 3)
        (same_id, same), (edit_id, edit), _ = made
        new, _ = w.case.make(w.client, 9)
        desired = [
            {"_id": "same", "$target_id": same_id, "$payload": same},
            {"_id": "edit", "$target_id": edit_id, "$payload": {**edit, **w.case.edit}},
            {"_id": "new", "$payload": new},
            {"_id": "old", "_deleted": True, "$target_id": made[2][0]},  # not hub-created
        ]
        report = w.share(desired)
        assert (report.written, report.unchanged) == (2, 2)
        record = w.get(edit_id)
        assert record is not None and all(record[k] == v for k, v in w.case.edit.items())
        assert w.get(made[2][0]) is not None  # delete_policy "created" keeps it
        log = {e["_id"]: e["status"] for e in w.live(w.share_id)}
        assert log == {"same": "unchanged", "edit": "updated", "new": "inserted", "old": "skipped"}
        # after the next collect the edit is in the system and the insert never repeats: a second
        # run settles everything locally
        w.collect()
        w.server.faults.fail(500, count=1000)
        again = w.run(w.share_id, full=True)
        assert (again.status, again.written, again.unchanged) == ("ok", 0, 4)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(edits=st.lists(st.booleans(), min_size=1, max_size=6))
def test_local_means_the_per_entity_path_sends_nothing(
    tmp_path_factory: Any, edits: list[bool]
) -> None:
    """Differential: is_local agrees with what the per-entity path does, entity by entity."""
    root = tmp_path_factory.mktemp("diff")
    with world_for(root, case("customerp-customer")) as w:
        made = _linked(w, len(edits))
        desired = [
            {"_id": f"g{n}", "$target_id": rid, "$payload": {**p, **(w.case.edit if e else {})}}
            for n, ((rid, p), e) in enumerate(zip(made, edits, strict=True))
        ]
        w.share(desired[:0])  # creates the share pipe's datasets
        with w.hub() as hub:
            sink = build_sink(hub.store, hub.project, hub.project.pipe(w.share_id))
            assert isinstance(sink, ShareSink)
            sink.begin(full=False)
            predicted = [is_local(sink, dict(e)) for e in desired]
        assert predicted == [not e for e in edits]
        report = w.share(desired)
        assert report.written == sum(edits)
