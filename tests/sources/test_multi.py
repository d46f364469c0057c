"""union_datasets, merge_datasets, diff_datasets and conditional sources."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.clock import FixedClock
from engine.errors import ConfigError
from engine.hub import Hub
from tests.helpers import write_project


def hub_with(tmp_path: Path, pipes: list[dict[str, Any]], env: dict[str, str] | None = None) -> Hub:
    write_project(tmp_path, pipes)
    return Hub.open(tmp_path, db=tmp_path / "hub.duckdb", clock=FixedClock(), env=env)


def test_union_prefixes_ids_and_is_incremental(tmp_path: Path) -> None:
    pipe = {"_id": "u", "source": {"type": "union_datasets", "datasets": ["men", "women"]}}
    with hub_with(tmp_path, [pipe]) as hub:
        hub.store.dataset("men").append([{"_id": "dave"}])
        hub.store.dataset("women").append([{"_id": "eve"}])
        assert hub.run("u").written == 2
        assert {e["_id"] for e in hub.dataset("u").entities()} == {"men:dave", "women:eve"}
        hub.store.dataset("women").append([{"_id": "ann"}])
        report = hub.run("u")
        assert (report.read, report.written) == (1, 1)
        assert hub.store.pipe_state("u").since == {"men": 0, "women": 1}


def test_merge_datasets_latest_and_all(tmp_path: Path) -> None:
    latest = {"_id": "l", "source": {"type": "merge_datasets", "datasets": ["a", "b"]}}
    every = {
        "_id": "all",
        "source": {"type": "merge_datasets", "datasets": ["a", "b"], "strategy": "all"},
    }
    with hub_with(tmp_path, [latest, every]) as hub:
        hub.store.dataset("a").append([{"_id": "1", "v": "old"}])
        hub.store.dataset("b").append([{"_id": "1", "v": "new"}, {"_id": "2", "v": "b"}])
        hub.run("l")
        hub.run("all")
        assert hub.dataset("l").get("1")["v"] == "new"  # type: ignore[index]
        both = hub.dataset("all").get("1")
        assert both is not None and both["a"]["v"] == "old" and both["b"]["v"] == "new"
        assert "a" not in hub.dataset("all").get("2")  # type: ignore[operator]


def test_diff_datasets_reports_and_drops_agreement(tmp_path: Path) -> None:
    pipe = {
        "_id": "d",
        "source": {"type": "diff_datasets", "datasets": ["x", "y"], "blacklist": ["noise"]},
    }
    with hub_with(tmp_path, [pipe]) as hub:
        hub.store.dataset("x").append([{"_id": "1", "v": 1, "noise": 1}, {"_id": "2", "v": 2}])
        hub.store.dataset("y").append([{"_id": "1", "v": 9, "noise": 2}, {"_id": "2", "v": 2}])
        hub.run("d")
        diff = hub.dataset("d").get("1")
        assert diff is not None and diff["$diff"] == {"v": {"x": 1, "y": 9}}
        assert hub.dataset("d").get("2") is None
        hub.store.dataset("y").append([{"_id": "1", "v": 1, "noise": 3}])
        hub.run("d")  # now they agree: the earlier diff is deleted
        assert hub.dataset("d").get("1")["_deleted"] is True  # type: ignore[index]


def test_conditional_picks_alternative_from_env(tmp_path: Path) -> None:
    pipe = {
        "_id": "c",
        "source": {
            "type": "conditional",
            "condition": "$ENV(node-env)",
            "alternatives": {
                "prod": {"type": "dataset", "dataset": "real"},
                "test": {"type": "embedded", "entities": [{"_id": "t1"}]},
            },
        },
    }
    with hub_with(tmp_path, [pipe], env={"node-env": "test"}) as hub:
        hub.run("c")
        assert [e["_id"] for e in hub.dataset("c").entities()] == ["t1"]
    with pytest.raises(ConfigError, match="'node-env' used by \\$ENV\\(node-env\\) is not set"):
        hub_with(tmp_path / "other", [pipe], env={})
