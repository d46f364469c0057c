"""Kill -9 in the middle of a large run, then rerun: nothing lost, nothing duplicated."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.store import Store
from tests.helpers import from_dataset, write_project

N = 150_000


@pytest.mark.slow
def test_kill_during_run_then_rerun(tmp_path: Path) -> None:
    root = write_project(
        tmp_path,
        # hash128 is outside the SQL subset: the run goes entity by entity through the
        # interpreter, so it is still running when the kill comes
        [
            from_dataset(
                "copy",
                "raw",
                [
                    ["copy", "*"],
                    ["add", "big", ["upper", "_S.name"]],
                    ["add", "h", ["hash128", "murmur3", "_S.name"]],
                ],
            )
        ],
    )
    db = root / "datasets" / "hub.duckdb"
    with Store(db) as store:
        raw = store.dataset("raw")
        raw.append([{"_id": str(i), "name": f"name {i}"} for i in range(N)])
        with store.transaction():
            raw.set_populated()
    cmd = [sys.executable, "-m", "engine.cli", "--project", str(root), "run", "copy", "--json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(1.0)
    assert proc.poll() is None, "the run finished before it could be killed; raise N"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with Store(db) as store:  # recovery after the crash: the run left nothing half-written
        state = store.pipe_state("copy")
        info = store.dataset_info("copy")
        versions = store.dataset("copy").counts().versions if info else 0
        assert (state.since, versions) in ((None, 0), (N - 1, N))
    rerun = subprocess.run(cmd, capture_output=True, text=True, check=True)
    report = json.loads(rerun.stdout)["runs"][0]
    with Store(db) as store:
        copy = store.dataset("copy")
        counts = copy.counts()
        assert counts.live == N and counts.versions == N  # none lost, none duplicated
        ids = store.fetchone(f"SELECT count(DISTINCT _id) FROM {copy.table_names()[0]}")
        assert ids == (N,)
        assert store.pipe_state("copy").since == N - 1
        assert report["since_after"] == N - 1
