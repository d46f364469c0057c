"""`pipe dtl functions` and `pipe sandbox status` through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from engine.cli import cli


def test_dtl_functions_lists_the_registry() -> None:
    result = CliRunner().invoke(cli, ["dtl", "functions", "--json"])
    assert result.exit_code == 0
    functions = {(f["name"], f["kind"]): f for f in json.loads(result.output)["functions"]}
    assert functions[("concat", "expression")]["arity"] == "at least 1"
    assert ("filter", "transform") in functions and ("filter", "expression") in functions
    assert all(f["doc"] for f in functions.values())
    missing = CliRunner().invoke(cli, ["dtl", "functions", "concatt"])
    assert missing.exit_code == 1 and "did you mean 'concat'" in missing.output


def test_sandbox_status_names_every_system_with_credentials(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--project", str(tmp_path), "sandbox", "status", "--json"])
    assert result.exit_code == 0
    status = json.loads(result.output)
    assert set(status) == {"customwebshop", "customerp", "invoiced", "customcrm", "wave"}
    assert all(info["running"] is False for info in status.values())
    assert status["invoiced"]["api_key"]
    assert status["wave"]["token"] and status["wave"]["business_id"]


def test_graph_and_reconcile(tmp_path: Path) -> None:
    from tests.helpers import embedded, from_dataset, write_project

    root = write_project(
        tmp_path, [embedded("a", [{"_id": "1"}]), from_dataset("b", "a"), from_dataset("c", "b")]
    )
    text = CliRunner().invoke(cli, ["--project", str(root), "graph"])
    assert text.exit_code == 0
    order = [line.split()[0] for line in text.output.splitlines()[1:]]
    assert order == ["a", "b", "c"]
    dot = CliRunner().invoke(cli, ["--project", str(root), "graph", "--dot"]).output
    assert dot.startswith("digraph") and '"a" -> "b"' in dot
    first = json.loads(
        CliRunner().invoke(cli, ["--project", str(root), "reconcile", "--json"]).output
    )
    assert first["converged"] is True
    second = json.loads(
        CliRunner().invoke(cli, ["--project", str(root), "reconcile", "--json"]).output
    )
    assert second["passes"] == 1 and second["changed"] == 0
