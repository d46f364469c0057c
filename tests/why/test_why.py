"""``pipe why`` on a real flow: an ERP and an Invoiced customer merged by org number.

The sandboxes share one settable clock, so every change time is chosen by the test: both records
are seeded as last changed at T0 and first synced an hour later; then the ERP and Invoiced both
edit the notes at T1 (a tie: priority decides), the ERP edits the phone at T1 and Invoiced at T2
(the newest change wins). Each edit is collected before the next, so its own time is recorded.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engine.cli import cli
from engine.hub import Hub
from engine.sandbox.manager import SYSTEMS, sandbox_env, system_class
from engine.sandbox.server import SandboxServer
from engine.why import Why, WhyError
from tests.flows.test_scenarios import apply_edit

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2024, 1, 2, 8, 0, tzinfo=UTC)
SYNC = T0 + timedelta(hours=1)
T1 = datetime(2024, 2, 1, tzinfo=UTC)
T2 = datetime(2024, 3, 1, tzinfo=UTC)
GOLDEN = "customerp-customer:1"

ERP_CUSTOMER = {
    "id": 1,
    "type": "company",
    "customer_number": "10001",
    "name": "Fjord Kaffe AS",
    "org_number": "912345678",
    "email": "post@fjordkaffe.no",
    "phone": "+47 22000000",
    "currency": "NOK",
    "payment_terms_days": 14,
    "language": "nb",
    "is_active": True,
    "invoice_address": {"line1": "Strandgata 1", "city": "Bergen", "postal_code": "5013"},
    "created_at": "2024-01-02T08:00:00.000000Z",
    "updated_at": "2024-01-02T08:00:00.000000Z",
}
INVOICED_CUSTOMER = {
    "id": 1,
    "name": "Fjord Kaffe",
    "type": "company",
    "tax_id": "NO 912345678 MVA",
    "email": "faktura@fjordkaffe.no",
    "phone": "+47 22000001",
    "currency": "nok",
    "payment_terms": "NET 14",
    "created_at": int(T0.timestamp()),
    "updated_at": int(T0.timestamp()),
}


@contextlib.contextmanager
def sandboxes(now: list[datetime]) -> Iterator[dict[str, Any]]:
    """All five systems on free ports, their clocks reading ``now[0]``, with the t0 records."""
    t0 = {
        "customerp": {"customers": [ERP_CUSTOMER]},
        "invoiced": {"customers": [INVOICED_CUSTOMER]},
    }
    with contextlib.ExitStack() as stack:
        running: dict[str, Any] = {}
        for system_id in SYSTEMS:
            system = system_class(system_id)(None, clock=lambda: now[0])
            for resource, records in t0.get(system_id, {}).items():
                system.load_records(resource, records)
            server = stack.enter_context(SandboxServer(system, port=0))
            running[system_id] = (system, server.url)
        yield running


@dataclass
class Flow:
    project: Path
    db: Path
    env: dict[str, str]
    merged: Why
    """After the edits at T1 (ERP) and T2 (Invoiced), merged but not yet shared."""
    synced: Why
    """After the reconcile that shared those edits."""


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> Flow:
    tmp = tmp_path_factory.mktemp("why")
    project = tmp / "project"
    shutil.copytree(ROOT / "pipes", project / "pipes")
    shutil.copytree(ROOT / "systems", project / "systems")
    now = [SYNC]
    with sandboxes(now) as running:
        status = {
            sid: {"url": url, "running": True, **system.credentials()}
            for sid, (system, url) in running.items()
        }
        env = sandbox_env(status)
        with Hub.open(project, db=tmp / "hub.duckdb", env=env, secrets=env) as hub:
            assert hub.reconcile().converged
            erp = {"system": "customerp", "method": "PATCH", "path": "/customers/1"}
            invoiced = {"system": "invoiced", "method": "PATCH", "path": "/customers/1"}
            now[0] = T1
            apply_edit(running, {**erp, "json": {"phone": "+47 22000002", "notes": "From ERP"}})
            apply_edit(running, {**invoiced, "json": {"notes": "From Invoiced"}})
            hub.run("invoiced-customer-collect")
            hub.run("invoiced-customer-enrich")
            now[0] = T2
            apply_edit(running, {**invoiced, "json": {"phone": "+47 22000003"}})
            for pipe in (
                "customerp-customer-collect",
                "customerp-customer-enrich",
                "invoiced-customer-collect",
                "invoiced-customer-enrich",
                "global-organisation",
            ):
                hub.run(pipe)
            merged = hub.why(GOLDEN)
            assert hub.reconcile().converged
            synced = hub.why(GOLDEN)
    return Flow(project, tmp / "hub.duckdb", env, merged, synced)


def test_names_both_source_records(flow: Flow) -> None:
    sources = {s.member: s for s in flow.merged.sources}
    assert {"customerp-customer:1", "invoiced-customer:1"} <= set(sources)
    erp, inv = sources["customerp-customer:1"], sources["invoiced-customer:1"]
    assert (erp.system, erp.record_dataset, erp.record_id) == (
        "customerp",
        "customerp-customer",
        "1",
    )
    assert (inv.system, inv.record_dataset, inv.record_id) == ("invoiced", "invoiced-customer", "1")
    assert erp.summary["phone"] == "+47 22000002" and inv.summary["phone"] == "+47 22000003"
    assert erp.last_modified == T1 and inv.last_modified == T2


def test_names_the_org_number_rule(flow: Flow) -> None:
    found = [
        link
        for link in flow.merged.links
        if {link.left, link.right} == {"customerp-customer:1", "invoiced-customer:1"}
    ]
    rules = {json.dumps(link.rule): link for link in found}
    org = rules['["eq", "erp.org_number", "inv.org_number"]']
    assert org.values == ("912345678",)
    assert org.path == "$.source.equality[1]"


def test_newest_change_wins_a_property_both_edited(flow: Flow) -> None:
    phone = flow.merged.claim("phone")
    assert (phone.value, phone.member, phone.rule) == (
        "+47 22000003",
        "invoiced-customer:1",
        "newest",
    )
    assert "customerp-customer:1" in phone.reason and not phone.stale
    times = {c["member"]: c["at"] for c in phone.candidates}
    assert times["invoiced-customer:1"] == "2024-03-01T00:00:00Z"
    assert times["customerp-customer:1"] == "2024-02-01T00:00:00Z"


def test_a_tie_goes_to_priority(flow: Flow) -> None:
    notes = flow.merged.claim("notes")
    assert (notes.value, notes.member, notes.rule) == (
        "From ERP",
        "customerp-customer:1",
        "priority",
    )
    assert "customerp-customer > invoiced-customer" in notes.reason
    assert {c["value"]: c["at"] for c in notes.candidates if not c["empty"]} == {
        "From ERP": "2024-02-01T00:00:00Z",
        "From Invoiced": "2024-02-01T00:00:00Z",
    }
    # the names were a tie at T0 too: the ERP's won and reached every system
    assert flow.merged.claim("name").value == "Fjord Kaffe AS"


def test_pipes_chain(flow: Flow) -> None:
    chain = [(s.role, s.pipe) for s in flow.merged.pipes]
    for step in (
        ("collect", "customerp-customer-collect"),
        ("transform", "customerp-customer-enrich"),
        ("collect", "invoiced-customer-collect"),
        ("transform", "invoiced-customer-enrich"),
        ("merge", "global-organisation"),
        ("share", "invoiced-customer-share"),
        ("share", "wave-customer-share"),
    ):
        assert step in chain
    assert (
        chain.index(("collect", "customerp-customer-collect"))
        < chain.index(("transform", "customerp-customer-enrich"))
        < chain.index(("merge", "global-organisation"))
        < chain.index(("share", "wave-customer-share"))
    )
    webshop = next(s for s in flow.merged.pipes if s.pipe == "customwebshop-customer-share")
    assert webshop.entity is None  # the webshop share only updates records it is linked to


def test_last_send_per_system(flow: Flow) -> None:
    merged, synced = flow.merged, flow.synced
    invoiced = merged.share("invoiced")
    assert invoiced.target_id == "1" and invoiced.last_send is not None
    assert invoiced.last_send.operation == "update"  # the name, which the ERP won
    for system in ("customcrm", "wave"):
        share = merged.share(system)
        assert share.last_send is not None and share.last_send.operation == "insert"
        assert share.target_id is not None and share.target_id == share.last_send.target_id
        assert share.in_sync is False  # the new phone is not shared yet
    wave = synced.share("wave")
    assert wave.last_send is not None and wave.last_send.operation == "update"
    assert wave.in_sync is True and wave.last_send.same_as_now
    assert wave.payload["phone"] == "+47 22000003"
    crm = synced.share("customcrm")
    assert crm.last_send is not None and crm.last_send.operation == "update"
    assert crm.payload["Phone"] == "+47 22000003"


def test_member_share_and_prefixed_ids_resolve(flow: Flow) -> None:
    with Hub.open(flow.project, db=flow.db, env=flow.env, secrets=flow.env) as hub:
        assert hub.why("invoiced-customer:1").entity_id == GOLDEN
        assert hub.why("~:invoiced-customer:1").asked == "invoiced-customer:1"
        wave_member = next(s.member for s in flow.synced.sources if s.system == "wave")
        assert hub.why(wave_member).entity_id == GOLDEN
        with pytest.raises(WhyError, match="did you mean 'customerp-customer:1'"):
            hub.why("customerp-customer:2")


def test_cli_json(flow: Flow) -> None:
    args = ["--project", str(flow.project), "--db", str(flow.db), "why", "invoiced-customer:1"]
    result = CliRunner().invoke(cli, [*args, "--json"], env=flow.env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["entity_id"] == GOLDEN and data["asked"] == "invoiced-customer:1"
    assert set(data) >= {"sources", "links", "claims", "pipes", "shares", "golden"}
    claims = {c["property"]: c for c in data["claims"]}
    assert claims["phone"]["rule"] in ("newest", "priority")
    assert claims["phone"]["value"] == "+47 22000003"
    text = CliRunner().invoke(cli, args, env=flow.env)
    assert text.exit_code == 0, text.output
    for section in ("Source records", "Merged by", "Survivorship", "Pipes", "Sent"):
        assert section in text.output
    assert '["eq", "erp.org_number", "inv.org_number"] on "912345678"' in text.output


def test_cli_unknown_id(flow: Flow) -> None:
    args = ["--project", str(flow.project), "--db", str(flow.db), "why", "nobody:42"]
    result = CliRunner().invoke(cli, args, env=flow.env)
    assert result.exit_code == 1
    assert "no global, share or member entity 'nobody:42'" in result.output
    assert "member id such as" in result.output
