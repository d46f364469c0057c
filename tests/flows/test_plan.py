"""`pipe plan`: exactly what the next reconcile sends, field by field; sends and writes nothing.

Each test plans, checks that neither the hub database nor any sandbox changed, then reconciles
with clients that send for real *and* keep a copy of every write, and compares the two: the same
counts, the same (system, datatype, op, golden entity) sends, the same insert payloads and the
same updated fields with the same values (insert payloads may lack what only a system computes,
such as an invoice's balance). A placeholder id in the plan stands for the id the
system gave the record in the reconcile, so it is mapped to that id before comparing.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engine.cli import cli
from engine.config.systems import SystemConfig
from engine.connectors import RestClient
from engine.connectors.clients import use_clients
from engine.connectors.overlay import CapturedWrite, datatype_of
from engine.hub import Hub
from engine.plan import Plan, PlannedSend, describe_writes
from engine.sandbox.manager import sandbox_env
from tests.flows.test_scenarios import ROOT, SCENARIOS, apply_edit, nonzero, sandboxes

Running = dict[str, Any]


def _scenario(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCENARIOS / name / "scenario.json").read_text())
    return data


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(ROOT / "pipes", root / "pipes")
    shutil.copytree(ROOT / "systems", root / "systems")
    return root


def _env(running: Running) -> dict[str, str]:
    status = {
        sid: {"url": url, "running": True, **system.credentials()}
        for sid, (system, url) in running.items()
    }
    return sandbox_env(status)


class _Recorder:
    """A client factory whose clients send for real and keep a copy of every write."""

    def __init__(self) -> None:
        self.writes: list[CapturedWrite] = []

    def client(self, system: SystemConfig, *, pipe: str | None = None) -> RestClient:
        return _RecordingClient(system, self, pipe)


class _RecordingClient(RestClient):
    def __init__(self, system: SystemConfig, recorder: _Recorder, pipe: str | None) -> None:
        super().__init__(system)
        self.recorder = recorder
        self.pipe = pipe

    def _keep(self, op: Any, operation: str, target: str, body: Any, before: Any = None) -> None:
        self.recorder.writes.append(
            CapturedWrite(
                number=len(self.recorder.writes) + 1,
                system=self.system.id,
                datatype=datatype_of(operation),
                pipe=self.pipe,
                op=op,
                operation=operation,
                target_id=target,
                parent_id=None,
                body=copy.deepcopy(dict(body)),
                before=before,
            )
        )

    def insert(
        self, operation: str, payload: Mapping[str, Any], *, parent_id: str | None = None
    ) -> dict[str, Any]:
        created = super().insert(operation, payload, parent_id=parent_id)
        self._keep("insert", operation, str(self.record_id(operation, created)), payload)
        return created

    def update(
        self, operation: str, id: str, payload: Mapping[str, Any], *, parent_id: str | None = None
    ) -> dict[str, Any]:
        before = self.get(f"{datatype_of(operation)}-get", id, parent_id=parent_id)
        updated = super().update(operation, id, payload, parent_id=parent_id)
        self._keep("update", operation, id, payload, before)
        return updated

    def delete(self, operation: str, id: str, *, parent_id: str | None = None) -> None:
        super().delete(operation, id, parent_id=parent_id)
        self._keep("delete", operation, id, {})


def _reconcile_recorded(hub: Hub) -> tuple[list[PlannedSend], dict[str, Any]]:
    recorder = _Recorder()
    with use_clients(recorder.client):
        report = hub.reconcile()
    assert report.converged
    return describe_writes(hub.store, hub.project, recorder.writes), hub.sent(report)


def _system_state(running: Running) -> dict[str, Any]:
    return {
        sid: {r: copy.deepcopy(system.records(r)) for r in system.resources}
        for sid, (system, _) in running.items()
    }


def _hub_state(hub: Hub) -> Any:
    return (
        [d.to_dict() for d in hub.datasets(include_system=True)],
        [p.to_dict() for p in hub.pipes()],
    )


def _plan_untouched(hub: Hub, running: Running) -> Plan:
    """Plan, and check that the plan changed neither the hub database nor any system."""
    systems, state = _system_state(running), _hub_state(hub)
    plan = hub.plan()
    assert plan.converged
    assert _system_state(running) == systems, "the plan changed a system"
    assert _hub_state(hub) == state, "the plan wrote to the hub database"
    return plan


def _key(send: PlannedSend) -> tuple[Any, ...]:
    return (send.system, send.datatype, send.op, send.entity_id)


def _swap(value: Any, ids: Mapping[str, str]) -> Any:
    """``value`` with every placeholder id replaced by the id the system gave that record."""
    if isinstance(value, dict):
        return {k: _swap(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_swap(v, ids) for v in value]
    if isinstance(value, bool) or not isinstance(value, int | str) or str(value) not in ids:
        return value
    real = ids[str(value)]
    return int(real) if isinstance(value, int) and real.lstrip("-").isdigit() else real


def assert_plan_was_sent(plan: Plan, sends: list[PlannedSend], sent: dict[str, Any]) -> None:
    assert plan.sent == sent
    assert Counter(map(_key, plan.sends)) == Counter(map(_key, sends))
    real = {_key(s): s for s in sends}
    ids = {p.target_id: real[_key(p)].target_id for p in plan.sends if p.placeholder}
    assert ids, "expected the plan to insert records the systems number themselves"
    for planned in plan.sends:
        done = real[_key(planned)]
        where = f"{_key(planned)}"
        assert _swap(planned.target_id, ids) == done.target_id, where
        if planned.op == "insert":
            # a value only the system computes (an invoice's balance, its status) is missing
            # from a would-be record, so a payload built from one is missing it too
            payload = _swap(planned.payload, ids)
            assert payload, where
            known = {k: v for k, v in payload.items() if v is not None}
            assert known == {k: done.payload[k] for k in known}, where
        if planned.op == "update":
            assert planned.changes, where
            after = {c.field: _swap(c.after, ids) for c in planned.changes}
            assert after == {c.field: c.after for c in done.changes}, where


@pytest.fixture
def erp_t0() -> Iterator[Running]:
    with sandboxes(_scenario("erp-to-invoiced-and-wave")["t0"]) as running:
        yield running


def test_plan_is_what_the_reconcile_sends_with_chained_sends(
    project: Path, tmp_path: Path, erp_t0: Running
) -> None:
    env = _env(erp_t0)
    steps = _scenario("erp-to-invoiced-and-wave")["steps"]
    with Hub.open(project, db=tmp_path / "hub.duckdb", env=env, secrets=env) as hub:
        # first sync: the order waits for its customer and product, which Invoiced and Wave
        # do not have yet; the CRM copies wait for Invoiced's; every one of them is planned
        plan = _plan_untouched(hub, erp_t0)
        assert plan.passes > 2 and max(s.pass_number or 0 for s in plan.sends) == 3
        inserted = {(s.system, s.datatype) for s in plan.sends if s.op == "insert"}
        assert {("invoiced", "invoice"), ("wave", "invoice"), ("customcrm", "order")} <= inserted
        assert_plan_was_sent(plan, *_reconcile_recorded(hub))

        # an edit to a linked customer, and a new order whose customer and product are new
        for edit in steps[1]["edits"] + steps[6]["edits"]:
            apply_edit(erp_t0, edit)
        plan = _plan_untouched(hub, erp_t0)
        updates = [s for s in plan.sends if s.op == "update"]
        assert {(s.system, s.datatype) for s in updates} >= {
            ("invoiced", "customer"),
            ("wave", "customer"),
            ("customcrm", "customer"),
        }
        for send in updates:
            if send.entity_id == "customerp-customer:1":
                assert [(c.before, c.after) for c in send.changes] == [
                    ("Fjord Kaffe AS", "Fjord Kaffe Bergen AS")
                ]
        assert_plan_was_sent(plan, *_reconcile_recorded(hub))

        # converged: nothing left to plan
        assert _plan_untouched(hub, erp_t0).empty


def test_plan_after_a_converged_reconcile_is_empty(project: Path, tmp_path: Path) -> None:
    with sandboxes(_scenario("webshop-to-invoiced-to-crm")["t0"]) as running:
        env = _env(running)
        with Hub.open(project, db=tmp_path / "hub.duckdb", env=env, secrets=env) as hub:
            first = _plan_untouched(hub, running)
            assert not first.empty
            assert_plan_was_sent(first, *_reconcile_recorded(hub))
            again = _plan_untouched(hub, running)
            assert again.empty
            assert nonzero(again.sent) == {}
            assert again.sent.keys() == first.sent.keys()  # zeros kept for every system


def test_cli_plan_prints_counts_and_field_changes(
    project: Path, tmp_path: Path, erp_t0: Running
) -> None:
    env = _env(erp_t0)
    db = tmp_path / "hub.duckdb"
    with Hub.open(project, db=db, env=env, secrets=env) as hub:
        hub.reconcile()
    apply_edit(erp_t0, _scenario("erp-to-invoiced-and-wave")["steps"][1]["edits"][0])
    runner = CliRunner()
    args = ["--project", str(project), "--db", str(db), "plan"]
    result = runner.invoke(cli, [*args, "--json"], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["sent"]["invoiced"]["customer"] == {"insert": 0, "update": 1, "delete": 0}
    assert data["sent"]["customwebshop"]["order"] == {"insert": 0, "update": 0, "delete": 0}
    assert {s["system"] for s in data["sends"]} == {"invoiced", "wave", "customcrm"}
    assert all(s["changes"][0]["after"] == "Fjord Kaffe Bergen AS" for s in data["sends"])

    text = runner.invoke(cli, args, env=env)
    assert text.exit_code == 0, text.output
    assert 'name: "Fjord Kaffe AS" → "Fjord Kaffe Bergen AS"' in text.stdout
    assert 'Name: "Fjord Kaffe AS" → "Fjord Kaffe Bergen AS"' in text.stdout  # the CRM's field
