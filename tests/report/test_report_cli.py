"""`pipe report` and `pipe reconcile --report` through click's CliRunner."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from engine.cli import cli
from tests.report.world import QUIET_NAME, World


def invoke(world: World, db: Path, *args: str) -> str:
    """Run ``pipe`` against the world's sandboxes; return stdout (stderr holds only notes)."""
    result = CliRunner(env=world.env).invoke(
        cli, ["--project", str(world.project), "--db", str(db), *args]
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def test_report_json_reads_the_last_reconcile_from_the_hub(world: World) -> None:
    data = json.loads(invoke(world, world.db, "report", "--json"))
    assert data["reconcile"]["id"] == 2
    assert set(data) >= {"conflicts", "lock_skips", "dead_letters", "drift", "identity_churn"}
    assert data["summary"]["conflicts"] == 1 and data["summary"]["merges"] == 1
    assert [d["label"] for d in data["drift"]] == [QUIET_NAME]


def test_report_text_has_a_section_each(world: World) -> None:
    out = invoke(world, world.db, "report")
    for heading in (
        "== Conflicts (1)",
        "== Optimistic-lock skips (1)",
        "== Dead letters (1)",
        "== Drift (1)",
        "== Identity churn (2)",
    ):
        assert heading in out
    assert "Kaffe 500 g (Wave)" in out and QUIET_NAME in out


def test_reconcile_report_writes_json_and_html(world: World, tmp_path: Path) -> None:
    db = tmp_path / "hub.duckdb"
    shutil.copyfile(world.db, db)  # the shared hub keeps "reconcile 2" as its last
    out = invoke(world, db, "reconcile", "--json", "--report", str(tmp_path / "out" / "r"))
    result = json.loads(out)  # stdout stays one JSON object; the note goes to stderr
    json_path, html_path = tmp_path / "out" / "r.json", tmp_path / "out" / "r.html"
    assert result["report"] == {"json": str(json_path), "html": str(html_path)}
    data = json.loads(json_path.read_text())
    # a reconcile with no edits: no conflicts or churn; what is still wrong is still listed
    assert data["reconcile"]["id"] == 3 and data["reconcile"]["status"] == "converged"
    assert data["conflicts"] == [] and data["identity_churn"]["merges"] == []
    assert [d["id"] for d in data["dead_letters"]] == ["customerp-customer:2"]
    assert [d["label"] for d in data["drift"]] == [QUIET_NAME]
    assert '<section id="drift">' in html_path.read_text()
