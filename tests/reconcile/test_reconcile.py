"""Reconcile: passes in graph order until nothing changes; the pass cap names the culprits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.clock import FixedClock
from engine.errors import ConfigError, PipeRunError
from engine.hub import Hub
from engine.reconcile import NotConvergedError, PipeStep, reconcile, run_pass
from tests.helpers import embedded, from_dataset, write_project


def open_hub(root: Path) -> Hub:
    return Hub.open(root, db=root / "hub.duckdb", clock=FixedClock())


def counter_pair(cap: int | None) -> list[dict[str, Any]]:
    """``ping`` (embedded, so it re-reads every run) sets n = pong.n + 1 (at most ``cap``);
    ``pong`` copies ping. Each pass moves n up by one: with a cap it settles, without it never."""
    previous = ["if-null", ["path", "n", ["lookup-entity", "pong", "_S._id"]], 0]
    value: list[Any] = ["plus", previous, 1]
    if cap is not None:
        value = ["min", ["list", value, cap]]
    return [
        embedded(
            "ping",
            [{"_id": "x"}],
            transform={"type": "dtl", "rules": {"default": [["copy", "*"], ["add", "n", value]]}},
        ),
        from_dataset("pong", "ping", [["copy", "*"]]),
    ]


def test_chain_converges_in_one_writing_pass_and_the_next_changes_nothing(
    tmp_path: Path,
) -> None:
    people = [{"_id": "1", "name": "Ann"}, {"_id": "2", "name": "Bob"}]
    write_project(
        tmp_path,
        [
            from_dataset("upper", "people", [["copy", "*"], ["add", "up", ["upper", "_S.name"]]]),
            embedded("people", people),
            from_dataset("count", "upper", [["copy", "_id"]]),
        ],
    )
    with open_hub(tmp_path) as hub:
        report = reconcile(hub.runner)
        assert report.converged
        assert report.pass_count == 2
        first = report.passes[0]
        assert [r.pipe for r in first.runs] == ["people", "upper", "count"]
        assert first.changed == 6
        assert report.passes[1].changed == 0
        totals = report.totals()
        assert (totals["upper"].runs, totals["upper"].written) == (2, 2)
        assert hub.dataset("count").get("2") is not None

        again = reconcile(hub.runner)
        assert again.pass_count == 1
        assert again.changed == 0
        assert all(r.written == 0 and r.deleted == 0 for r in again.passes[0].runs)


def test_a_cycle_through_lookups_needs_several_passes_and_settles(tmp_path: Path) -> None:
    write_project(tmp_path, counter_pair(cap=3))
    with open_hub(tmp_path) as hub:
        report = reconcile(hub.runner)
        assert report.converged
        assert report.pass_count == 4  # n = 1, 2, 3, then a pass that changes nothing
        assert [p.changed for p in report.passes] == [2, 2, 2, 0]
        assert hub.dataset("pong").get("x")["n"] == 3  # type: ignore[index]
        assert reconcile(hub.runner).changed == 0


def test_source_changes_flow_through_on_the_next_reconcile(tmp_path: Path) -> None:
    write_project(tmp_path, [embedded("src", [{"_id": "a", "v": 1}]), from_dataset("dst", "src")])
    with open_hub(tmp_path) as hub:
        reconcile(hub.runner)
    write_project(tmp_path, [embedded("src", [{"_id": "a", "v": 2}, {"_id": "b", "v": 1}])])
    with open_hub(tmp_path) as hub:
        report = reconcile(hub.runner)
        assert report.totals()["dst"].written == 2
        assert hub.dataset("dst").get("a")["v"] == 2  # type: ignore[index]


def test_cap_error_names_the_pipes_that_still_change(tmp_path: Path) -> None:
    write_project(tmp_path, [embedded("calm", [{"_id": "c"}]), *counter_pair(cap=None)])
    with open_hub(tmp_path) as hub, pytest.raises(NotConvergedError) as caught:
        reconcile(hub.runner, max_passes=3)
    error = caught.value
    assert error.pipes == ["ping", "pong"]
    assert "'ping'" in str(error) and "'pong'" in str(error) and "'calm'" not in str(error)
    assert "3 passes" in str(error)
    assert error.report.pass_count == 3
    assert not error.report.converged


def test_off_pipes_are_skipped_and_manual_pipes_run(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        [
            embedded("off", [{"_id": "1"}], pump={"mode": "off"}),
            embedded("manual", [{"_id": "1"}], pump={"mode": "manual"}),
        ],
    )
    with open_hub(tmp_path) as hub:
        report = reconcile(hub.runner)
        assert report.passes[0].skipped == ("off",)
        assert [r.pipe for r in report.passes[0].runs] == ["manual"]
        assert hub.store.dataset_info("off") is None


def test_a_failing_pipe_stops_reconcile_unless_keep_going(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        [
            embedded(
                "a-bad",
                [{"_id": "1"}],
                transform={"type": "dtl", "rules": {"default": [["fail!", "broken on purpose"]]}},
            ),
            embedded("b-good", [{"_id": "1"}]),
        ],
    )
    with open_hub(tmp_path) as hub:
        with pytest.raises(PipeRunError, match="broken on purpose"):
            reconcile(hub.runner)
        assert hub.store.dataset_info("b-good") is None
        report = reconcile(hub.runner, keep_going=True)
        assert report.converged
        assert report.passes[0].failed_pipes == ["a-bad"]
        assert report.totals()["a-bad"].failed == 2
        assert hub.dataset("b-good").get("1") is not None


def test_progress_reports_start_and_done_for_each_pipe(tmp_path: Path) -> None:
    write_project(tmp_path, [embedded("a", [{"_id": "1"}]), from_dataset("b", "a")])
    steps: list[PipeStep] = []
    with open_hub(tmp_path) as hub:
        run_pass(hub.runner, progress=steps.append)
    assert [(s.pipe, s.phase, s.position, s.total) for s in steps] == [
        ("a", "start", 1, 2),
        ("a", "done", 1, 2),
        ("b", "start", 2, 2),
        ("b", "done", 2, 2),
    ]
    assert steps[1].report is not None and steps[1].report.written == 1


def test_report_to_dict_has_totals_and_passes(tmp_path: Path) -> None:
    write_project(tmp_path, [embedded("a", [{"_id": "1"}])])
    with open_hub(tmp_path) as hub:
        data = reconcile(hub.runner).to_dict()
    assert data["converged"] is True
    assert data["passes"] == 2
    assert data["totals"]["a"]["written"] == 1
    assert [p["changed"] for p in data["pass_reports"]] == [1, 0]


def test_a_subset_runs_in_graph_order_and_unknown_pipes_are_named(tmp_path: Path) -> None:
    write_project(
        tmp_path, [embedded("a", [{"_id": "1"}]), from_dataset("b", "a"), from_dataset("c", "b")]
    )
    with open_hub(tmp_path) as hub:
        report = run_pass(hub.runner, pipes=["c", "a"])
        assert [r.pipe for r in report.runs] == ["a", "c"]
        assert hub.store.dataset_info("b") is None
        with pytest.raises(ConfigError, match="did you mean 'b'"):
            reconcile(hub.runner, pipes=["bb"])
