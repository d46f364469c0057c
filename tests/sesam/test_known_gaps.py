"""Flows at the edge: a hop into a dataset created later in a cycle; a flow that never settles."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from engine.cli import cli
from tests.sesam.nodes import EMBEDDED, write_node

PROJECTS = Path(__file__).resolve().parents[1] / "sesam_projects"


def test_hops_into_a_dataset_created_later_in_a_cycle() -> None:
    """Dependency tracking re-emits entities whose hops missed when the dataset appears."""
    result = CliRunner().invoke(cli, ["--project", str(PROJECTS / "hop-cycle"), "test"])
    assert result.exit_code == 0, result.output


def test_a_flow_that_never_settles_fails_at_the_pass_cap(tmp_path: Path) -> None:
    pipe = {
        "_id": "p",
        "source": EMBEDDED,
        "transform": {"type": "dtl", "rules": {"default": [["copy", "*"], ["add", "t", ["now"]]]}},
    }
    root = write_node(tmp_path, [pipe], **{"expected__p.json": []})
    result = CliRunner().invoke(cli, ["--project", str(root), "test", "--max-passes", "2"])
    assert result.exit_code == 1
    assert "did not converge after 2 passes" in result.output


def test_merge_versions_other_than_1_and_2_are_errors(tmp_path: Path) -> None:
    pipe = {"_id": "g", "source": {"type": "merge", "version": 3, "datasets": ["a"]}}
    root = write_node(tmp_path, [pipe])
    result = CliRunner().invoke(cli, ["--project", str(root), "test", "--json"])
    assert result.exit_code == 1
    assert "pipes/g.conf.json: $.source.version" in result.output
