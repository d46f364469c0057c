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
