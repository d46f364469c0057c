"""Our own node configurations in sesam-py's layout pass ``pipe test``; broken ones fail readably."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import cli

PROJECTS = Path(__file__).resolve().parent.parent / "sesam_projects"


def _copy(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(PROJECTS / name, target)
    return target


@pytest.mark.parametrize("name", sorted(p.name for p in PROJECTS.iterdir() if p.is_dir()))
def test_every_project_passes_pipe_test(name: str) -> None:
    result = CliRunner().invoke(cli, ["--project", str(PROJECTS / name), "test"])
    assert result.exit_code == 0, result.output
    assert "All " in result.output and "FAIL" not in result.output


def test_json_report_lists_every_spec_and_the_run() -> None:
    result = CliRunner().invoke(cli, ["--project", str(PROJECTS / "node"), "test", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] is True
    assert report["run"]["converged"] is True
    assert report["run"]["receivers"] == ["signup"]
    assert report["run"]["unreached_systems"] == ["crm-db", "webhook"]
    assert {r["spec"] for r in report["results"]} >= {"person-csv", "person-push", "order-line"}
    assert all(r["status"] == "passed" for r in report["results"])


def test_wrong_expected_entity_fails_with_a_readable_diff(tmp_path: Path) -> None:
    root = _copy("node", tmp_path)
    expected = root / "expected" / "person-push.json"
    entities = json.loads(expected.read_text())
    entities[1]["name"] = "Robert"
    expected.write_text(json.dumps(entities, indent=2))
    result = CliRunner().invoke(cli, ["--project", str(root), "test"])
    assert result.exit_code == 1
    out = result.output
    assert "FAIL  person-push (pipe 'person-push', expected/person-push.json)" in out
    assert "content mismatch in 3 entities (changed: 2)" in out
    assert "--- expected/person-push.json" in out and "+++ current output" in out
    assert '-    "name": "Robert"' in out and '+    "name": "Bob"' in out
    assert "PASS  person-csv" in out
    assert "Failed 1 of 9 tests." in out


def test_wrong_csv_fails_byte_for_byte(tmp_path: Path) -> None:
    root = _copy("node", tmp_path)
    csv_file = root / "expected" / "person-csv.csv"
    csv_file.write_bytes(csv_file.read_bytes().replace(b"\n", b"\r\n"))
    result = CliRunner().invoke(cli, ["--project", str(root), "test", "--json"])
    assert result.exit_code == 1
    report = json.loads(result.output)
    failed = [r for r in report["results"] if r["status"] != "passed"]
    assert [r["spec"] for r in failed] == ["person-csv"]
    assert failed[0]["summary"].startswith("content mismatch: expected 132 bytes, got 127")


def test_missing_and_unexpected_entities_are_named(tmp_path: Path) -> None:
    root = _copy("plain", tmp_path)
    expected = root / "expected" / "company-endpoint.json"
    entities = json.loads(expected.read_text())
    entities[0]["_id"] = "0|a9"
    expected.write_text(json.dumps(entities))
    result = CliRunner().invoke(cli, ["--project", str(root), "test"])
    assert result.exit_code == 1
    assert "missing: 0|a9; unexpected: 0|a1|1|b1" in result.output


def test_an_endpoint_pipe_without_a_test_fails(tmp_path: Path) -> None:
    root = _copy("node", tmp_path)
    (root / "expected" / "person-push.json").unlink()
    result = CliRunner().invoke(cli, ["--project", str(root), "test"])
    assert result.exit_code == 1
    assert "no test references pipe 'person-push'" in result.output


def test_profile_changes_env_values(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--project", str(PROJECTS / "plain"), "test", "--profile", "ci", "--json"]
    )
    assert result.exit_code == 1
    report = json.loads(result.output)
    failed = {r["spec"]: r for r in report["results"] if r["status"] == "failed"}
    assert set(failed) == {"company-endpoint"}
    assert '+    "region": "south"' in failed["company-endpoint"]["diff"]


def test_an_explicit_profile_needs_its_file() -> None:
    result = CliRunner().invoke(
        cli, ["--project", str(PROJECTS / "plain"), "test", "--profile", "staging"]
    )
    assert result.exit_code == 1
    assert "staging-env.json" in result.output


def test_prod_profile_reaches_the_unloadable_system() -> None:
    result = CliRunner().invoke(
        cli, ["--project", str(PROJECTS / "node"), "test", "--profile", "prod"]
    )
    assert result.exit_code == 1
    assert "pipes/crm-person.conf.json" in result.output
    assert "reaches system 'crm-db'" in result.output
