"""Flow scenarios as data: sandbox state at t0, edits at t1, t2 ..., the exact sends expected.

Each ``tests/scenarios/<name>/scenario.json`` holds::

    {"title": ..., "t0": {system: {resource: [records in the sandbox's storage shape]}},
     "steps": [{"title": ..., "edits": [edit, ...], "collect": "full",
                "sent": {system: {datatype: {"insert": n, "update": n, "delete": n}}},
                "records": [{"system", "resource", "match": {...}, "fields": {...}}],
                "absent": [{"system", "resource", "match": {...}}]}]}

An edit goes through the system's real API: ``{"system", "method", "path", "json"}`` (``{id}``
in the path is the id of the record found by ``"find": {"resource", "match"}``), or for Wave
``{"system": "wave", "graphql": ..., "variables": ...}``. ``sent`` lists the non-zero counts;
every other system and datatype must have sent nothing. After the last step one more reconcile
must send nothing anywhere. The project's own pipes/ and systems/ are used unchanged.

A step reconciles as the nightly batch does (``pipe reconcile``): the flows' collects list only
what changed since their last run, so a record deleted in a system is noticed by the weekly
rescan; a step with ``"collect": "full"`` is that rescan (``pipe reconcile --collect full``).
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from engine.hub import Hub
from engine.sandbox.base import SandboxSystem
from engine.sandbox.manager import SYSTEMS, create_system, sandbox_env
from engine.sandbox.server import SandboxServer

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "tests" / "scenarios"


def load_scenarios() -> list[Any]:
    return [
        pytest.param(json.loads(path.read_text(encoding="utf-8")), id=path.parent.name)
        for path in sorted(SCENARIOS.glob("*/scenario.json"))
    ]


@contextlib.contextmanager
def sandboxes(t0: dict[str, dict[str, list[dict[str, Any]]]]) -> Iterator[dict[str, Any]]:
    """All five systems in-process on free ports, loaded with the t0 records."""
    with contextlib.ExitStack() as stack:
        running: dict[str, Any] = {}
        for system_id in SYSTEMS:
            system = create_system(system_id, None)
            for resource, records in t0.get(system_id, {}).items():
                system.load_records(resource, records)
            server = stack.enter_context(SandboxServer(system, port=0))
            running[system_id] = (system, server.url)
        yield running


def _auth(system: SandboxSystem) -> dict[str, Any]:
    creds = system.credentials()
    if "api_key" in creds:
        return {"auth": (creds["api_key"], "")}
    if "headers" in creds:
        return {"headers": dict(creds["headers"])}
    return {"headers": {"Authorization": f"Bearer {creds['token']}"}}


def _find(system: SandboxSystem, resource: str, match: dict[str, Any]) -> dict[str, Any]:
    found = [r for r in system.records(resource) if all(r.get(k) == v for k, v in match.items())]
    assert len(found) == 1, f"{system.system_id}.{resource} {match}: {len(found)} records"
    return found[0]


def apply_edit(running: dict[str, Any], edit: dict[str, Any]) -> None:
    system, url = running[edit["system"]]
    record_id = None
    if "find" in edit:
        record = _find(system, edit["find"]["resource"], edit["find"]["match"])
        record_id = record.get("id", record.get("Id"))
    if "graphql" in edit:
        variables = json.loads(
            json.dumps(edit.get("variables", {})).replace("{id}", str(record_id))
        )
        response = requests.post(
            f"{url}/graphql/public",
            json={"query": edit["graphql"], "variables": variables},
            timeout=10,
            **_auth(system),
        )
        assert response.status_code == 200 and "errors" not in response.json(), response.text
        return
    path = edit["path"].replace("{id}", str(record_id))
    response = requests.request(
        edit["method"], url + path, json=edit.get("json"), timeout=10, **_auth(system)
    )
    assert response.status_code < 300, f"{edit}: {response.status_code} {response.text}"


def nonzero(sent: dict[str, dict[str, dict[str, int]]]) -> dict[str, dict[str, dict[str, int]]]:
    return {
        system: {
            dt: {op: n for op, n in ops.items() if n}
            for dt, ops in types.items()
            if any(ops.values())
        }
        for system, types in sent.items()
        if any(any(ops.values()) for ops in types.values())
    }


@pytest.mark.parametrize("scenario", load_scenarios())
def test_scenario(scenario: dict[str, Any], tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(ROOT / "pipes", project / "pipes")
    shutil.copytree(ROOT / "systems", project / "systems")
    with sandboxes(scenario.get("t0", {})) as running:
        status = {
            sid: {"url": url, "running": True, **system.credentials()}
            for sid, (system, url) in running.items()
        }
        env = sandbox_env(status)
        with Hub.open(project, db=tmp_path / "hub.duckdb", env=env, secrets=env) as hub:
            for n, step in enumerate(scenario["steps"]):
                for edit in step.get("edits", []):
                    apply_edit(running, edit)
                full_collect = {"full": True, "scheduled": None}[step.get("collect", "scheduled")]
                report = hub.reconcile(full_collect=full_collect)
                assert report.converged
                where = f"step {n} ({step['title']})"
                assert nonzero(hub.sent(report)) == step.get("sent", {}), where
                for check in step.get("records", []):
                    system = running[check["system"]][0]
                    record = _find(system, check["resource"], check["match"])
                    for key, value in check["fields"].items():
                        assert record.get(key) == value, f"{where}: {check} got {record.get(key)!r}"
                for check in step.get("absent", []):
                    system = running[check["system"]][0]
                    matches = [
                        r
                        for r in system.records(check["resource"])
                        if all(r.get(k) == v for k, v in check["match"].items())
                    ]
                    assert not matches, f"{where}: {check} still present"
            final = hub.reconcile()
            assert nonzero(hub.sent(final)) == {}, "a reconcile after the scenario sent something"
