"""The `pipe` command through click's CliRunner: output, --json, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from engine.cli import cli
from tests.helpers import embedded, from_dataset, write_project


def invoke(root: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--project", str(root), *args], catch_exceptions=False)
    return result.exit_code, result.output


def project(tmp_path: Path) -> Path:
    return write_project(
        tmp_path,
        [
            embedded("people", [{"_id": "1", "name": "Ann"}, {"_id": "2", "name": "Bob"}]),
            from_dataset(
                "greet", "people", [["copy", "_id"], ["add", "hello", ["concat", "Hi ", "_S.name"]]]
            ),
        ],
    )


def test_run_all_then_list_datasets_show(tmp_path: Path) -> None:
    root = project(tmp_path)
    code, out = invoke(root, "run", "--all", "--json")
    assert code == 0
    runs = json.loads(out)["runs"]
    assert [(r["pipe"], r["written"]) for r in runs] == [("people", 2), ("greet", 2)]
    code, out = invoke(root, "list", "--json")
    pipes = {p["id"]: p for p in json.loads(out)["pipes"]}
    assert pipes["greet"]["offset"] == 1 and pipes["greet"]["status"] == "ok"
    code, out = invoke(root, "datasets", "--json")
    assert {d["name"]: d["live"] for d in json.loads(out)["datasets"]} == {"people": 2, "greet": 2}
    code, out = invoke(root, "show", "greet", "--id", "1", "--json")
    assert json.loads(out)[0]["hello"] == "Hi Ann"
    code, out = invoke(root, "datasets")  # piped: plain tab-separated table
    assert out.splitlines()[0] == "dataset\tlive\tdeleted\tversions\tpopulated"


def test_history_reset_and_dry_run(tmp_path: Path) -> None:
    root = project(tmp_path)
    invoke(root, "run", "--all")
    code, out = invoke(root, "reset", "greet")
    assert code == 0 and "offset reset" in out
    code, out = invoke(root, "run", "greet", "--json")
    assert json.loads(out)["runs"][0]["full"] is True
    code, out = invoke(root, "run", "people", "--dry-run", "--full", "--json")
    assert json.loads(out)["runs"][0]["dry_run"] is True
    code, out = invoke(root, "show", "people", "--id", "2", "--history", "--json")
    assert [v["_updated"] for v in json.loads(out)] == [1]


def test_exit_codes(tmp_path: Path) -> None:
    root = project(tmp_path)
    code, out = invoke(root, "run", "nope")
    assert code == 1 and "no pipe 'nope'" in out
    code, out = invoke(root, "run")
    assert code == 2  # usage error
    code, out = invoke(root, "show", "missing")
    assert code == 1 and "no dataset 'missing'" in out


def test_validate_reports_everything(tmp_path: Path) -> None:
    root = write_project(
        tmp_path,
        [
            {
                "_id": "a",
                "source": {"type": "dataset", "dataset": "x"},
                "transform": {"type": "dtl", "rules": {"default": [["ad", "x", 1], ["concat"]]}},
            },
            {"_id": "b", "source": {"type": "datset"}},
        ],
    )
    code, out = invoke(root, "validate", "--json")
    assert code == 1
    report = json.loads(out)
    paths = sorted((e["file"], e["path"]) for e in report["errors"])
    assert ("pipes/b.json", "$.source.type") in paths
    assert ("pipes/a.json", "$.transform.rules.default[0]") in paths
    assert any(e["path"] == "$.transform.rules.default[1]" for e in report["errors"])
    code, out = invoke(project(tmp_path / "ok"), "validate")
    assert code == 0 and "ok: 2 pipes valid" in out
