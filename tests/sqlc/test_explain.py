"""`pipe explain`: the path a pipe takes, the refusal reason with its JSON path, the SQL."""

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
            embedded("people", [{"_id": "1", "name": "Ann", "x": 1}]),
            from_dataset("greet", "people", [["copy", "*"], ["add", "hi", ["upper", "_S.name"]]]),
            from_dataset("dated", "people", [["copy", "*"], ["add", "d", ["now"]]]),
        ],
    )


def test_explain_sql_path_shows_the_query(tmp_path: Path) -> None:
    root = project(tmp_path)
    code, out = invoke(root, "explain", "greet")
    assert code == 0
    assert "path:  sql" in out and "json_extract" in out and "{log}" in out
    invoke(root, "run", "people")
    code, out = invoke(root, "explain", "greet", "--json")
    report = json.loads(out)
    assert report["path"] == "sql"
    assert '$."name"' in report["sql"] and "{log}" not in report["sql"]
    assert '"x":' in report["sql"]  # copy "*" expanded with the keys found in the dataset


def test_explain_interpreter_path_names_the_rule(tmp_path: Path) -> None:
    root = project(tmp_path)
    code, out = invoke(root, "explain", "dated", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["path"] == "interpreter"
    assert "'now'" in report["reason"]
    assert report["rule_path"] == "$.transform.rules.default[1][2]"
    code, out = invoke(root, "explain", "people")
    assert "path:  interpreter" in out and "source type 'embedded'" in out


def test_explain_hops_shows_the_join_or_why_tracking_keeps_the_interpreter(
    tmp_path: Path,
) -> None:
    spec = {"datasets": ["companies c"], "where": ["eq", "_S.company", "c.code"]}
    root = write_project(
        tmp_path,
        [
            embedded("people", [{"_id": "1", "company": "x"}]),
            embedded("companies", [{"_id": "c1", "code": "x"}]),
            from_dataset("joined", "people", [["copy", "*"], ["add", "c", ["hops", spec]]]),
            from_dataset(
                "untracked",
                "people",
                [["copy", "*"], ["add", "c", ["hops", {**spec, "track-dependencies": False}]]],
            ),
        ],
    )
    invoke(root, "run", "people")
    invoke(root, "run", "companies")
    code, out = invoke(root, "explain", "untracked", "--json")
    report = json.loads(out)
    assert code == 0 and report["path"] == "sql"
    assert "JOIN" in report["sql"] and "{hop:" not in report["sql"]
    code, out = invoke(root, "explain", "joined")
    assert code == 0 and "path:  interpreter" in out and "track dependencies" in out
    assert "LEFT JOIN ha1" in out  # the SQL it would run is still shown
    code, out = invoke(root, "run", "untracked", "--json")
    assert code == 0 and '"path": "sql"' in out
    code, out = invoke(root, "show", "untracked", "--json")
    assert (
        '"code": "x"' in out and '"_hash":' in out
    )  # the hopped entity, as the interpreter sees it
