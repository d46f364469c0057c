"""`pipe plan`: what a reconcile would send, sending nothing and writing nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from engine.hub import Hub
from engine.sandbox.manager import sandbox_env
from tests.flows.test_scenarios import ROOT, SCENARIOS, nonzero, sandboxes


def test_plan_sends_nothing_and_matches_the_first_sends(tmp_path: Path) -> None:
    scenario = json.loads((SCENARIOS / "erp-to-invoiced-and-wave" / "scenario.json").read_text())
    project = tmp_path / "project"
    shutil.copytree(ROOT / "pipes", project / "pipes")
    shutil.copytree(ROOT / "systems", project / "systems")
    with sandboxes(scenario["t0"]) as running:
        status = {
            sid: {"url": url, "running": True, **system.credentials()}
            for sid, (system, url) in running.items()
        }
        env = sandbox_env(status)
        counts = {
            sid: {r: system.count(r) for r in system.resources}
            for sid, (system, _) in running.items()
        }
        with Hub.open(project, db=tmp_path / "hub.duckdb", env=env, secrets=env) as hub:
            planned = nonzero(hub.sent(hub.plan()))
            # nothing was sent and nothing was written to the hub's own database
            assert {
                sid: {r: system.count(r) for r in system.resources}
                for sid, (system, _) in running.items()
            } == counts
            assert hub.datasets() == []
            # the ERP customer and product go to Invoiced and Wave in the first pass; the
            # order waits for them, so it is not planned yet
            assert planned == {
                "invoiced": {"customer": {"insert": 1}, "item": {"insert": 1}},
                "wave": {"customer": {"insert": 1}, "product": {"insert": 1}},
            }
            sent = nonzero(hub.sent(hub.reconcile()))
            for system, datatypes in planned.items():
                for datatype, ops in datatypes.items():
                    assert sent[system][datatype] == ops
            assert nonzero(hub.sent(hub.plan())) == {}
