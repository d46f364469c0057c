"""Completeness: a dataset source with `completeness: true` reads only what its inputs completed."""

from __future__ import annotations

from pathlib import Path

from engine.clock import FixedClock
from engine.hub import Hub
from tests.helpers import embedded, from_dataset, write_project


def test_completeness_propagates_and_bounds_reads(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        [
            embedded("raw", [{"_id": "1"}, {"_id": "2"}]),
            from_dataset("mid", "raw"),
            {"_id": "out", "source": {"type": "dataset", "dataset": "mid", "completeness": True}},
        ],
    )
    clock = FixedClock()
    with Hub.open(tmp_path, db=tmp_path / "hub.duckdb", clock=clock) as hub:
        hub.run("raw")
        raw_stamp = hub.store.dataset("raw").completeness
        assert raw_stamp is not None
        hub.run("mid")
        assert hub.store.dataset("mid").completeness == raw_stamp  # inherited, not "now"
        # mid's entities were written after the stamp it inherited: they wait (Sesam's rule)
        assert hub.run("out").read == 0
        hub.run("raw")  # the next cycle: raw's stamp moves past them, mid inherits it
        hub.run("mid")
        assert hub.run("out").read == 2
        # an entity written to mid after its stamp is held back again until the next cycle
        hub.store.dataset("mid").append([{"_id": "late"}])
        assert hub.run("out").read == 0
        hub.run("raw")
        hub.run("mid")
        assert hub.run("out").read == 1


def test_exclude_completeness_stamps_own_run(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        [embedded("raw", [{"_id": "1"}]), from_dataset("mid", "raw", exclude_completeness=["raw"])],
    )
    with Hub.open(tmp_path, db=tmp_path / "hub.duckdb", clock=FixedClock()) as hub:
        hub.run("raw")
        hub.run("mid")
        assert hub.store.dataset("mid").completeness > hub.store.dataset("raw").completeness  # type: ignore[operator]
