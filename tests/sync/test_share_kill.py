"""Kill -9 a share run between two requests, then rerun: every insert made is remembered.

The share sink commits the record of each request before it sends the next one (one-row
appends, engine.store.point). To kill the hub at a moment that is deterministic, the sandbox
(in this test process) holds the next request it receives: by then the hub has sent it, so it
has committed everything before it, and the held request was never processed. After the kill
the hub must know exactly the records the system holds, and the rerun must insert only the
rest: the system ends with one record per entity, none twice.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from engine.store import Store
from tests.sync.harness import CASES, _transit, world_for

N = 60
HOLD_AFTER = 25  # records made before the sandbox holds a request


def test_kill_between_sends_then_rerun_inserts_nothing_twice(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.id == "invoiced-customer")
    with world_for(tmp_path, case) as w:
        w.desired = [
            _transit({"_id": f"g{n}", "$target_id": None, "$payload": case.make(w.client, n)[0]})
            for n in range(N)
        ]
        w._write_pipes()
        w.run("desired")
        before = w.count()
        db = w.root / "hub.duckdb"
        env = {**os.environ, **w.env}
        cmd = [sys.executable, "-m", "engine.cli", "--project", str(w.root), "--db", str(db)]
        cmd += ["run", w.share_id, "--json"]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 60
            while w.count() < before + HOLD_AFTER:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "the share run made too few records"
                time.sleep(0.005)
            w.server.faults.hang(count=1, seconds=20)
            while w.server.faults.describe()["pending"]:  # the hub's next request is held
                assert proc.poll() is None, "the run ended before a request was held"
                assert time.monotonic() < deadline
                time.sleep(0.005)
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.wait()
        made = w.count() - before
        assert HOLD_AFTER <= made < N
        with Store(db) as store:  # every record the system holds is known to the hub
            inserted = [
                e
                for e in store.dataset(w.share_id).latest_entities()
                if e.get("status") == "inserted"
            ]
        assert len(inserted) == made
        w.server.faults.clear()
        rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
        assert json.loads(rerun.stdout)["runs"][0]["status"] == "ok"
        assert w.count() - before == N  # the rest inserted, none twice
        log = w.live(w.share_id)
        generated = {e["$generated_id"] for e in log}
        assert len(log) == N and len(generated) == N
