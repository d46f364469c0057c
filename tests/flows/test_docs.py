"""`pipe docs` reproduces the seed documents' skeleton with the tables filled from the DTL."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from engine.cli import cli
from tests.docs_skeleton import skeleton

ROOT = Path(__file__).resolve().parents[2]
SKELETONS = ROOT / "tests" / "data" / "dataflow_skeletons"


def test_documents_match_the_seed_skeletons(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--project", str(ROOT), "docs", "--out", str(tmp_path), "--json"]
    )
    assert result.exit_code == 0, result.output
    documents = json.loads(result.output)["documents"]
    assert len(documents) == 4
    for expected in sorted(SKELETONS.glob("*.txt")):
        generated = (tmp_path / f"{expected.stem}.rst").read_text(encoding="utf-8")
        assert skeleton(generated) == expected.read_text(encoding="utf-8").splitlines()
        # every table has rows, read from the DTL
        for table in generated.split(".. list-table::")[1:]:
            rows = [line for line in table.splitlines() if line.startswith("   * - ")]
            assert len(rows) > 1, table[:200]
        assert "intellectual property" not in generated and "NDA" not in generated


def test_tables_follow_the_dtl(tmp_path: Path) -> None:
    """Editing a mapping in a share pipe's JSON changes the document."""
    import shutil

    project = tmp_path / "p"
    shutil.copytree(ROOT / "pipes", project / "pipes")
    shutil.copytree(ROOT / "systems", project / "systems")
    share = project / "pipes" / "wave-product-share.json"
    config = json.loads(share.read_text())
    payload = config["transform"]["rules"]["payload"]
    payload.append(["add", "internalNote", ["string", "_S.sku"]])
    share.write_text(json.dumps(config))
    out = tmp_path / "docs"
    result = CliRunner().invoke(cli, ["--project", str(project), "docs", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = (out / "customerp-wave.rst").read_text()
    assert "   * - product_code\n     - internalNote\n     - String" in text
