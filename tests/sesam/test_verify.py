"""``pipe verify``: compare an existing hub database with ``expected/`` (sesam-py's layout)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from engine.cli import cli

PROJECTS = Path(__file__).resolve().parent.parent / "sesam_projects"
ENV = {"region": "north"}  # the process environment `pipe run` and `pipe verify` read


def _ran_plain(tmp_path: Path) -> tuple[Path, Path]:
    """The plain project copied, with its pipes run once into a database (``pipe run --all``)."""
    root = tmp_path / "plain"
    shutil.copytree(PROJECTS / "plain", root)
    db = tmp_path / "hub.duckdb"
    runner = CliRunner(env=ENV)
    result = runner.invoke(cli, ["--project", str(root), "--db", str(db), "run", "--all"])
    assert result.exit_code == 0, result.output
    return root, db


def test_verify_passes_on_the_datasets_pipe_run_produced(tmp_path: Path) -> None:
    root, db = _ran_plain(tmp_path)
    result = CliRunner(env=ENV).invoke(cli, ["--project", str(root), "--db", str(db), "verify"])
    assert result.exit_code == 0, result.output
    assert "All 3 tests passed." in result.output


def test_verify_fails_with_a_diff_when_expected_differs(tmp_path: Path) -> None:
    root, db = _ran_plain(tmp_path)
    expected = root / "expected" / "global-company.json"
    entities = json.loads(expected.read_text())
    entities[2]["phone"] = "999"
    expected.write_text(json.dumps(entities, indent=2))
    result = CliRunner(env=ENV).invoke(
        cli, ["--project", str(root), "--db", str(db), "verify", "--json"]
    )
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["ok"] is False and report["failed"] == 1
    failed = next(r for r in report["results"] if r["status"] == "failed")
    assert failed["spec"] == "global-company" and failed["changed"] == ["1|b2"]
    assert '-    "phone": "999"' in failed["diff"]


def test_verify_can_be_limited_to_pipes(tmp_path: Path) -> None:
    root, db = _ran_plain(tmp_path)
    (root / "expected" / "global-company.json").write_text("[]")
    args = ["--project", str(root), "--db", str(db), "verify", "company-endpoint"]
    result = CliRunner(env=ENV).invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "All 1 tests passed." in result.output


def test_verify_without_a_database_says_what_to_do(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    shutil.copytree(PROJECTS / "plain", root)
    result = CliRunner(env=ENV).invoke(cli, ["--project", str(root), "verify"])
    assert result.exit_code == 1
    assert "no hub database" in result.output and "pipe test" in result.output


def test_verify_without_specs_passes_with_a_warning(tmp_path: Path) -> None:
    root, db = _ran_plain(tmp_path)
    shutil.rmtree(root / "expected")
    result = CliRunner(env=ENV).invoke(cli, ["--project", str(root), "--db", str(db), "verify"])
    assert result.exit_code == 0
    assert "warning: found no tests" in result.output
