"""Spec options end to end through :func:`engine.sesam.testrun.run_test` (the Python API)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.sesam.testrun import run_test
from tests.sesam.nodes import EMBEDDED, write_node

OUT: dict[str, Any] = {
    "_id": "out",
    "source": EMBEDDED,
    "transform": {"type": "dtl", "rules": {"default": [["copy", "*"], ["add", "q", "_B.q"]]}},
    "sink": {"type": "http_endpoint"},
}


def _statuses(root: Path) -> dict[str, tuple[str, str | None]]:
    report = run_test(root)
    return {r.spec.name: (r.status, r.error) for r in report.verify.results}


def test_ignored_specs_are_skipped(tmp_path: Path) -> None:
    root = write_node(
        tmp_path,
        [OUT],
        **{"expected__out.test.json": {"ignore": True}, "expected__out.json": [{"_id": "x"}]},
    )
    report = run_test(root)
    assert report.ok
    assert [r.status for r in report.verify.results] == ["ignored"]


def test_parameters_for_a_pipe_that_reads_request_variables_are_an_error(tmp_path: Path) -> None:
    files = {"expected__out.test.json": {"parameters": {"q": "1"}}, "expected__out.json": []}
    status, error = _statuses(write_node(tmp_path, [OUT], **files))["out"]
    assert status == "error"
    assert error is not None and "expected/out.test.json" in error and "_B" in error


def test_a_csv_spec_needs_a_csv_endpoint(tmp_path: Path) -> None:
    files = {"expected__out.test.json": {"endpoint": "csv", "file": "out.csv"}}
    root = write_node(tmp_path, [OUT], **files)
    (root / "expected" / "out.csv").write_text("_id\n1\n")
    status, error = _statuses(root)["out"]
    assert status == "error" and error is not None and "'http_endpoint' sink" in error


def test_a_spec_for_an_unknown_pipe_suggests_one(tmp_path: Path) -> None:
    files = {
        "expected__out.json": [{"_id": "1", "name": "Ann", "q": None}],
        "expected__ot.json": [],
    }
    statuses = _statuses(write_node(tmp_path, [OUT], **files))
    assert statuses["out"][0] == "passed"
    status, error = statuses["ot"]
    assert status == "error" and error is not None and "did you mean 'out'" in error


def test_source_stage_reads_the_source_without_writing(tmp_path: Path) -> None:
    files = {
        "expected__out-source.test.json": {"pipe": "out", "stage": "source"},
        "expected__out-source.json": [{"_id": "1", "name": "Ann"}],
        "expected__out.json": [{"_id": "1", "name": "Ann", "q": None}],
    }
    statuses = _statuses(write_node(tmp_path, [OUT], **files))
    assert statuses == {"out": ("passed", None), "out-source": ("passed", None)}
