"""`pipe runs` and `pipe show/datasets --as-of RUN` through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from engine.cli import cli
from tests.helpers import embedded, from_dataset, write_project


def invoke(root: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--project", str(root), *args])
    return result.exit_code, result.output


def two_runs(root: Path) -> Path:
    greet = [["copy", "_id"], ["add", "hello", ["concat", "Hi ", "_S.name"]]]
    for people in (
        [{"_id": "1", "name": "Ann"}, {"_id": "2", "name": "Bob"}],
        [{"_id": "1", "name": "Anna"}],
    ):
        write_project(root, [embedded("people", people), from_dataset("greet", "people", greet)])
        code, out = invoke(root, "run", "--all")
        assert code == 0, out
    return root


def test_runs_lists_newest_first(tmp_path: Path) -> None:
    root = two_runs(tmp_path)
    code, out = invoke(root, "runs", "--json")
    assert code == 0
    runs = json.loads(out)["runs"]
    assert [(r["id"], r["pipe"], r["status"]) for r in runs] == [
        (4, "greet", "ok"),
        (3, "people", "ok"),
        (2, "greet", "ok"),
        (1, "people", "ok"),
    ]
    assert runs[1]["deleted"] == 1 and runs[1]["full"] is True
    code, out = invoke(root, "runs", "--limit", "1", "--pipe", "people", "--json")
    assert [r["id"] for r in json.loads(out)["runs"]] == [3]
    code, out = invoke(root, "runs")
    assert out.splitlines()[0].split("\t")[:2] == ["run", "pipe"]
    assert len(out.splitlines()) == 5


def test_show_as_of_an_earlier_run(tmp_path: Path) -> None:
    root = two_runs(tmp_path)
    code, out = invoke(root, "show", "people", "--as-of", "1", "--json")
    assert code == 0
    assert [(e["_id"], e["name"]) for e in json.loads(out)] == [("1", "Ann"), ("2", "Bob")]
    code, out = invoke(root, "show", "people", "--as-of", "3", "--deleted", "--json")
    assert [(e["_id"], e["_deleted"]) for e in json.loads(out)] == [("1", False), ("2", True)]
    code, out = invoke(root, "show", "people", "--id", "1", "--history", "--as-of", "1", "--json")
    assert [v["name"] for v in json.loads(out)] == ["Ann"]
    code, out = invoke(root, "show", "greet", "--id", "1", "--as-of", "2", "--json")
    assert json.loads(out)[0]["hello"] == "Hi Ann"
    code, out = invoke(root, "datasets", "--as-of", "1", "--json")
    assert [d["name"] for d in json.loads(out)["datasets"]] == ["people"]


def test_bad_run_ids_are_clear_errors(tmp_path: Path) -> None:
    root = two_runs(tmp_path)
    code, out = invoke(root, "show", "people", "--as-of", "99")
    assert code == 1
    assert "no run 99: expected a run id from 1 to 4" in out
    code, out = invoke(root, "show", "greet", "--as-of", "1")
    assert code == 1 and "no dataset 'greet' as of run 1 (it was created later)" in out
    code, out = invoke(root, "show", "people", "--id", "2", "--as-of", "3")
    assert code == 0  # deleted by then, but still there as a deleted version
    code, out = invoke(root, "show", "people", "--id", "9", "--as-of", "1")
    assert code == 1 and "no entity '9' in dataset 'people' as of run 1" in out
    code, out = invoke(root, "show", "people", "--as-of", "first")
    assert code == 2 and "'first' is not a valid integer" in out
