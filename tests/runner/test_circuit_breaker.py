"""Circuit breakers: a run that would change too much commits nothing until forced or reset."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.clock import FixedClock
from engine.errors import PipeRunError
from engine.hub import Hub
from tests.helpers import embedded, write_project


def guarded(entities: list[dict[str, object]]) -> dict[str, object]:
    return embedded("p", entities, sink={"type": "dataset", "circuit_breaker_threshold_count": 2})


def test_breaker_trips_keeps_nothing_and_needs_force(tmp_path: Path) -> None:
    write_project(tmp_path, [guarded([{"_id": str(i)} for i in range(5)])])
    with Hub.open(tmp_path, db=tmp_path / "hub.duckdb", clock=FixedClock()) as hub:
        assert hub.run("p").written == 5  # not populated yet: breakers only guard populated sinks
    write_project(tmp_path, [guarded([{"_id": str(i), "v": 1} for i in range(5)])])
    with Hub.open(tmp_path, db=tmp_path / "hub.duckdb", clock=FixedClock()) as hub:
        with pytest.raises(PipeRunError, match=r"circuit breaker .* tripped"):
            hub.run("p")
        assert hub.dataset("p").counts().versions == 5  # nothing of the big run committed
        with pytest.raises(PipeRunError, match="--force"):
            hub.run("p")  # still refuses while tripped
        assert hub.store.pipe_state("p").last_status == "tripped"
        assert hub.run("p", force=True).written == 5
        assert hub.store.pipe_state("p").last_status == "ok"


def test_reset_clears_a_tripped_breaker(tmp_path: Path) -> None:
    write_project(tmp_path, [guarded([{"_id": str(i)} for i in range(3)])])
    with Hub.open(tmp_path, db=tmp_path / "hub.duckdb", clock=FixedClock()) as hub:
        hub.run("p")
    write_project(tmp_path, [guarded([])])
    with Hub.open(tmp_path, db=tmp_path / "hub.duckdb", clock=FixedClock()) as hub:
        with pytest.raises(PipeRunError, match="tripped"):
            hub.run("p")  # deleting all three is more than 2 changes
        assert hub.reset("p")
        with pytest.raises(PipeRunError, match="tripped"):
            hub.run("p")  # the breaker guards the rerun too: the same 3 deletions
        assert hub.run("p", force=True).deleted == 3
