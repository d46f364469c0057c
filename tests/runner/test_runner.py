"""The pipe runner: incremental and full runs, deletion tracking, atomic failure, dry runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.clock import FixedClock
from engine.errors import PipeRunError
from engine.hub import Hub
from tests.helpers import embedded, from_dataset, write_project


def open_hub(root: Path) -> Hub:
    return Hub.open(root, db=root / "hub.duckdb", clock=FixedClock())


def test_incremental_run_reads_only_new_versions(tmp_path: Path) -> None:
    people = [{"_id": "1", "name": "Ann"}, {"_id": "2", "name": "Bob"}]
    write_project(
        tmp_path,
        [
            embedded("people", people),
            from_dataset("upper", "people", [["copy", "*"], ["add", "name", ["upper", "_S.name"]]]),
        ],
    )
    with open_hub(tmp_path) as hub:
        assert hub.run("people").written == 2
        first = hub.run("upper")
        assert (first.full, first.read, first.written) == (True, 2, 2)
        again = hub.run("upper")
        assert (again.full, again.read, again.written) == (False, 0, 0)
        assert hub.store.pipe_state("upper").since == 1
    people[0]["name"] = "Anne"
    write_project(tmp_path, [embedded("people", people)])
    with open_hub(tmp_path) as hub:
        assert hub.run("people").written == 1
        third = hub.run("upper")
        assert (third.read, third.written) == (1, 1)
        assert hub.dataset("upper").get("1")["name"] == "ANNE"  # type: ignore[index]


def test_embedded_removal_is_deletion_tracked_downstream(tmp_path: Path) -> None:
    write_project(tmp_path, [embedded("p", [{"_id": "a"}, {"_id": "b"}]), from_dataset("q", "p")])
    with open_hub(tmp_path) as hub:
        hub.run("p")
        hub.run("q")
    write_project(tmp_path, [embedded("p", [{"_id": "a"}])])
    with open_hub(tmp_path) as hub:
        report = hub.run("p")
        assert report.deleted == 1
        assert hub.dataset("p").get("b")["_deleted"] is True  # type: ignore[index]
        downstream = hub.run("q")  # the deleted version flows on incrementally
        assert downstream.written == 1
        assert hub.dataset("q").get("b")["_deleted"] is True  # type: ignore[index]


def test_full_run_deletes_what_was_filtered_and_not_seen(tmp_path: Path) -> None:
    rules = [["copy", "*"], ["filter", ["neq", "_S.kind", "skip"]]]
    write_project(
        tmp_path,
        [
            embedded("src", [{"_id": "a", "kind": "keep"}, {"_id": "b", "kind": "keep"}]),
            from_dataset("dst", "src", rules),
        ],
    )
    with open_hub(tmp_path) as hub:
        hub.run("src")
        hub.run("dst")
        assert hub.dataset("dst").counts().live == 2
    write_project(
        tmp_path, [embedded("src", [{"_id": "a", "kind": "skip"}, {"_id": "b", "kind": "keep"}])]
    )
    with open_hub(tmp_path) as hub:
        hub.run("src")
        report = hub.run("dst")  # incremental: the filtered entity is deleted by _filtered
        assert report.deleted == 1
        assert hub.dataset("dst").get("a")["_deleted"] is True  # type: ignore[index]
        full = hub.run("dst", full=True)
        assert full.full and full.deleted == 0 and full.written == 0


def test_failed_run_changes_nothing(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        [
            embedded("src", [{"_id": "a", "n": 1}, {"_id": "b", "n": 0}]),
            from_dataset(
                "dst", "src", [["copy", "*"], ["if", ["eq", "_S.n", 0], ["fail!", "boom"]]]
            ),
        ],
    )
    with open_hub(tmp_path) as hub:
        hub.run("src")
        with pytest.raises(PipeRunError) as info:
            hub.run("dst")
        assert info.value.stage == "transform"
        assert "boom" in str(info.value)
        assert hub.store.dataset_info("dst") is None or hub.dataset("dst").counts().versions == 0
        state = hub.store.pipe_state("dst")
        assert state.since is None and state.last_status == "failed"
        log = hub.store.dataset("system:pump_execution:dst").latest("pump-failed")
        assert log is not None and "boom" in log["original_error_message"]


def test_if_source_empty_fail_protects_against_mass_deletion(tmp_path: Path) -> None:
    write_project(tmp_path, [embedded("p", [{"_id": "a"}])])
    with open_hub(tmp_path) as hub:
        hub.run("p")
    write_project(
        tmp_path,
        [{"_id": "p", "source": {"type": "embedded", "entities": [], "if_source_empty": "fail"}}],
    )
    with open_hub(tmp_path) as hub:
        with pytest.raises(PipeRunError, match="if_source_empty"):
            hub.run("p")
        assert hub.dataset("p").get("a")["_deleted"] is False  # type: ignore[index]
    write_project(tmp_path, [embedded("p", [])])
    with open_hub(tmp_path) as hub:
        assert hub.run("p").deleted == 1  # without the guard an empty source deletes


def test_dry_run_writes_nothing_but_reports(tmp_path: Path) -> None:
    write_project(tmp_path, [embedded("p", [{"_id": "a"}, {"_id": "b"}])])
    with open_hub(tmp_path) as hub:
        report = hub.run("p", dry_run=True)
        assert report.dry_run and report.written == 2
        assert hub.store.dataset_info("p") is None or hub.dataset("p").counts().versions == 0
        assert hub.store.pipe_state("p").runs == 0


def test_run_order_follows_datasets(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        [from_dataset("c", "b"), from_dataset("b", "a"), embedded("a", [{"_id": "1"}])],
    )
    with open_hub(tmp_path) as hub:
        assert hub.run_order() == ["a", "b", "c"]
        for pid in hub.run_order():
            hub.run(pid)
        assert hub.dataset("c").get("1") is not None
