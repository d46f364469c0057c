"""The plan's overlay on a real sandbox: writes are kept, reads see them, the system never does."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.config.systems import SystemConfig, load_system_config
from engine.connectors import RestClient
from engine.connectors.clients import open_client, use_clients
from engine.connectors.overlay import Overlay, OverlayClient
from engine.errors import JsonPath
from engine.sandbox.manager import create_system, sandbox_env
from engine.sandbox.server import SandboxServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def crm() -> Iterator[tuple[Any, SystemConfig]]:
    system = create_system("customcrm", None)
    with SandboxServer(system, port=0) as server:
        status = {"customcrm": {"url": server.url, "running": True, **system.credentials()}}
        env = sandbox_env(status)
        raw = json.loads((ROOT / "systems" / "customcrm.json").read_text())
        yield (
            system,
            load_system_config(
                raw, file="systems/customcrm.json", path=JsonPath(), env=env, secrets=env
            ),
        )


def _all(client: RestClient, since: Any = None) -> dict[str, dict[str, Any]]:
    return {
        str(client.record_id("customer-list", r)): r
        for page in client.list_records("customer-list", since)
        for r in page
    }


def test_writes_are_kept_and_read_back_but_never_sent(crm: tuple[Any, SystemConfig]) -> None:
    sandbox, config = crm
    with RestClient(config) as real:
        existing = real.insert("customer-insert", {"Name": "Fjord Kaffe AS", "Email": "a@b.no"})
    real_id = str(existing["Id"])
    stored = copy.deepcopy(sandbox.records("customers"))

    overlay = Overlay()
    with overlay.client(config, pipe="customcrm-customer-share") as client:
        new = client.insert("customer-insert", {"Name": "Havbris AS"})
        assert new["Id"] == -1 and overlay.is_placeholder("customcrm", "-1")
        assert isinstance(new["UpdatedAt"], str)  # stamped like the system stamps its records
        client.update("customer-update", real_id, {"Name": "Fjord Kaffe Bergen AS"})
        listed = _all(client)
        assert listed["-1"]["Name"] == "Havbris AS"
        assert listed[real_id]["Name"] == "Fjord Kaffe Bergen AS"
        assert listed[real_id]["Email"] == "a@b.no"  # an update merges into the record
        # an incremental listing since the existing record's time still has both writes
        assert {real_id, "-1"} <= set(_all(client, existing["UpdatedAt"]))
        assert client.get("customer-get", "-1") == listed["-1"]
        client.delete("customer-delete", real_id)
        assert real_id not in _all(client)
        assert client.get("customer-get", real_id) is None

    assert sandbox.records("customers") == stored  # nothing reached the system
    assert [(w.op, w.target_id, w.placeholder) for w in overlay.writes] == [
        ("insert", "-1", True),
        ("update", real_id, False),
        ("delete", real_id, False),
    ]
    update = overlay.writes[1]
    assert update.before is not None and update.before["Name"] == "Fjord Kaffe AS"
    assert update.body == {"Name": "Fjord Kaffe Bergen AS"}


def test_open_client_uses_the_installed_factory_only_inside_the_block(
    crm: tuple[Any, SystemConfig],
) -> None:
    _, config = crm
    overlay = Overlay()
    with use_clients(overlay.client):
        inside = open_client(config, pipe="p")
    outside = open_client(config)
    assert isinstance(inside, OverlayClient) and inside.pipe == "p"
    assert not isinstance(outside, OverlayClient)
    inside.close()
    outside.close()
