"""The manager: real background processes started, inspected, seeded and stopped."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sandbox_http import call

from engine.sandbox.manager import (
    SYSTEMS,
    SandboxManager,
    ensure_running,
    sandbox_env,
    system_class,
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_start_status_seed_stop_in_subprocesses(tmp_path: Path) -> None:
    manager = SandboxManager(tmp_path, default_ports=False)
    try:
        started = manager.start(["customerp", "invoiced"])
        erp, inv = started["customerp"], started["invoiced"]
        assert erp["running"] and inv["running"] and erp["pid"] != os.getpid()
        assert inv["api_key"] and inv["url"].startswith("http://127.0.0.1:")
        registry = json.loads((tmp_path / "datasets/sandbox/sandboxes.json").read_text())
        assert set(registry) == {"customerp", "invoiced"}

        # a first start seeds scale 1, visible through the real API
        status, _, body = call(erp["url"] + "/customers?per_page=1", headers=erp["headers"])
        assert status == 200 and body["total"] > 20

        status_all = manager.status()
        assert set(status_all) == set(SYSTEMS)
        env = sandbox_env(status_all)
        assert env["invoiced_url"] == inv["url"] and env["invoiced_api_key"] == inv["api_key"]
        assert env["customerp_token"] and "wave_url" not in env and "wave_token" in env
        assert status_all["wave"]["running"] is False and status_all["wave"]["url"] is None
        assert status_all["customerp"]["pid"] == erp["pid"]

        # starting again is a no-op for what already runs
        assert manager.start(["customerp"])["customerp"]["pid"] == erp["pid"]

        counts = manager.seed(2, ["customerp"])
        assert counts["customerp"]["customers"] == 2 * body["total"]
    finally:
        stopped = manager.stop()
    assert sorted(stopped) == ["customerp", "invoiced"]
    assert not _alive(erp["pid"]) and not _alive(inv["pid"])
    assert manager.status(["customerp"])["customerp"]["running"] is False

    # data persisted on disk: a restart serves the scale-2 seed, not a new scale-1 seed
    try:
        again = manager.start(["customerp"])["customerp"]
        _, _, body2 = call(again["url"] + "/customers?per_page=1", headers=again["headers"])
        assert body2["total"] == 2 * body["total"]
    finally:
        manager.stop(["customerp"])


def test_ensure_running_stops_only_what_it_started(tmp_path: Path) -> None:
    manager = SandboxManager(tmp_path, default_ports=False)
    try:
        kept = manager.start(["customcrm"], seed_if_empty=None)["customcrm"]
        with ensure_running(tmp_path, ["customcrm", "customwebshop"],
                            default_ports=False) as status:
            assert status["customcrm"]["pid"] == kept["pid"]
            shop = status["customwebshop"]
            assert shop["running"] and _alive(shop["pid"])
        assert not _alive(shop["pid"])
        assert manager.status(["customcrm"])["customcrm"]["running"] is True
    finally:
        manager.stop()


def test_seed_stopped_system_on_disk_and_unknown_ids(tmp_path: Path) -> None:
    manager = SandboxManager(tmp_path, default_ports=False)
    counts = manager.seed(1, ["customwebshop"])
    assert counts["customwebshop"]["orders"] > 0
    assert (tmp_path / "datasets/sandbox/customwebshop/orders.json").exists()
    with pytest.raises(KeyError, match="known"):
        manager.status(["sap"])
    with pytest.raises(KeyError):
        system_class("sap")
