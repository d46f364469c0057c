"""Scheduled rescans (engine.rescan): ``rescan_run_count`` and ``rescan_cron_expression``."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.clock import FixedClock
from engine.errors import ConfigError
from engine.hub import Hub
from tests.helpers import embedded, from_dataset, write_project


def _project(root: Path, pump: dict[str, Any]) -> Path:
    return write_project(
        root,
        [
            embedded("people", [{"_id": "1", "name": "Ann"}, {"_id": "2", "name": "Bob"}]),
            from_dataset("copy", "people", [["copy", "*"]], pump=pump),
        ],
    )


def _micros(when: dt.datetime) -> int:
    return (when - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)


@settings(deadline=None)
@given(
    count=st.integers(min_value=1, max_value=4),
    forced=st.lists(st.booleans(), min_size=1, max_size=9),
)
def test_every_nth_run_since_the_last_full_one_is_a_rescan(count: int, forced: list[bool]) -> None:
    # the model: a full run for any reason restarts the count; the first run is always full
    expected, since_full = [], None
    for force in forced:
        due = since_full is None or force or since_full + 1 >= count
        expected.append(due)
        since_full = 0 if due else since_full + 1  # type: ignore[operator]
    with tempfile.TemporaryDirectory() as tmp:
        root = _project(Path(tmp), {"rescan_run_count": count})
        with Hub.open(root, db=root / "hub.duckdb", clock=FixedClock()) as hub:
            hub.run("people")
            reports = [hub.run("copy", full=force) for force in forced]
    assert [r.full for r in reports] == expected
    # the reason is given only where the schedule (not the caller or the first run) decided
    pairs = enumerate(zip(expected, forced, strict=True))
    scheduled = [due and not force and i > 0 for i, (due, force) in pairs]
    assert [r.rescan is not None for r in reports] == scheduled


def test_a_cron_rescan_is_due_once_the_cron_fired_after_the_last_full_run(tmp_path: Path) -> None:
    root = _project(tmp_path, {"rescan_cron_expression": "0 2 * * 0"})  # Sunday 02:00 UTC
    saturday = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)
    clock = FixedClock(start=_micros(saturday))
    with Hub.open(root, db=root / "hub.duckdb", clock=clock) as hub:
        hub.run("people")
        assert hub.run("copy").full  # the first run
        clock.advance(11 * 3600 * 10**6)  # Saturday 23:00
        night = hub.run("copy")
        assert (night.full, night.rescan) == (False, None)
        clock.advance(4 * 3600 * 10**6)  # Sunday 03:00: the cron fired at 02:00
        sunday = hub.run("copy")
        assert sunday.full and sunday.rescan is not None and "0 2 * * 0" in sunday.rescan
        clock.advance(3600 * 10**6)  # Sunday 04:00: the rescan is done until next Sunday
        assert not hub.run("copy").full
        log = hub.dataset("system:pump_execution:copy")
        assert [v["sync_type"] for v in log.history("pump-completed")] == [
            "full",
            "incremental",
            "rescan",
            "incremental",
        ]


def test_a_rescan_tracks_deletions_an_incremental_run_cannot_see(tmp_path: Path) -> None:
    root = _project(tmp_path, {"rescan_run_count": 2})
    with Hub.open(root, db=root / "hub.duckdb", clock=FixedClock()) as hub:
        hub.run("people")
        hub.run("copy")
        # an entity written straight into the sink, as a stale version would be: only the
        # deletion tracking of a full read removes it
        hub.store.dataset("copy").append([{"_id": "stray"}])
        night = hub.run("copy")  # a full run, then one incremental run: every 2 runs
        assert (night.full, night.deleted) == (False, 0)
        assert hub.dataset("copy").get("stray")["_deleted"] is False  # type: ignore[index]
        rescan = hub.run("copy")
        assert rescan.full and rescan.rescan is not None and rescan.deleted == 1
        assert hub.dataset("copy").get("stray")["_deleted"] is True  # type: ignore[index]


@pytest.mark.parametrize(
    ("pump", "path", "words"),
    [
        ({"rescan_run_count": 0}, "rescan_run_count", "at least 1"),
        ({"rescan_run_count": "7"}, "rescan_run_count", "whole number"),
        ({"rescan_cron_expression": "0 25 * * *"}, "rescan_cron_expression", "cron"),
        (
            {"rescan_run_count": 2, "rescan_cron_expression": "0 2 * * 0"},
            "rescan_cron_expression",
            "exclude each other",
        ),
    ],
)
def test_bad_rescan_settings_name_the_file_and_path(
    tmp_path: Path, pump: dict[str, Any], path: str, words: str
) -> None:
    root = _project(tmp_path, pump)
    with pytest.raises(ConfigError) as caught:
        Hub.open(root, db=root / "hub.duckdb", clock=FixedClock())
    error = caught.value
    assert error.file is not None and error.file.endswith("copy.json")
    assert str(error.path).endswith(f"pump.{path}") and words in error.message
