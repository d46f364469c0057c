"""``notebooks/tour.ipynb`` runs top to bottom in a real kernel, and says what it should.

The kernel is this interpreter (the venv's), whatever kernelspecs the machine has installed:
the kernel manager gets a spec that launches ``sys.executable -m ipykernel_launcher``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
CELL_TIMEOUT = 600


class ThisInterpreter(KernelSpecManager):
    """Every kernel name resolves to an IPython kernel on the running interpreter."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        return KernelSpec(
            argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            display_name=f"Python ({sys.executable})",
            language="python",
        )


def text_of(cell: Any) -> str:
    """Everything a cell showed: streams, plain-text results and HTML."""
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output.get("text", ""))
        data = output.get("data", {})
        parts.append(data.get("text/plain", ""))
        parts.append(data.get("text/html", ""))
    return "\n".join(parts)


def tagged(nb: Any) -> dict[str, str]:
    return {tag: text_of(c) for c in nb.cells for tag in c.get("metadata", {}).get("tags", [])}


def test_the_tour_runs_without_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo_db = ROOT / "datasets" / "hub.duckdb"
    db_before = repo_db.stat().st_mtime_ns if repo_db.exists() else None
    tour_dir = tmp_path / "tour"
    monkeypatch.setenv("HUB_TOUR_DIR", str(tour_dir))  # the notebook's temp folder, to check
    nb = nbformat.read(NOTEBOOKS / "tour.ipynb", as_version=4)
    km = KernelManager(kernel_name="python3", kernel_spec_manager=ThisInterpreter())
    client = NotebookClient(
        nb,
        km=km,
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()  # raises CellExecutionError naming the cell if any cell fails

    out = tagged(nb)
    assert "converged in" in out["reconcile"] and "sent to each system" in out["reconcile"]
    assert "invoiced-customer:10" in out["members"] and "customerp-customer:10" in out["members"]
    assert "Isbre Strand ANS" in out["join"]
    assert "name → Isbre Strand Bergen ANS" in out["plan"] and "update" in out["plan"]
    assert "'Isbre Strand ANS'" in out["history"] and "'Isbre Strand Bergen ANS'" in out["history"]
    assert "Isbre Strand ANS\nnow: Isbre Strand Bergen ANS" in out["as_of"]
    assert "Isbre Strand Bergen ANS" in out["invoiced"]
    # it cleaned up after itself and never wrote into the repository's datasets/
    assert not tour_dir.exists()
    assert (repo_db.stat().st_mtime_ns if repo_db.exists() else None) == db_before
