"""The pump: schedules, due pipes in graph order, manual/off, failures, stopping between runs."""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
from pathlib import Path
from typing import Any

import pytest

from engine.clock import FixedClock
from engine.config.pipes import parse_pipe
from engine.errors import ConfigError
from engine.hub import Hub
from engine.pump import Pump, PumpRun, schedule_for
from tests.helpers import embedded, from_dataset, write_project

SECOND = 1_000_000
T0 = int(dt.datetime(2024, 1, 1, 10, 2, tzinfo=dt.UTC).timestamp()) * SECOND


def open_hub(root: Path, clock: FixedClock) -> Hub:
    return Hub.open(root, db=root / "hub.duckdb", clock=clock)


def failing(pipe_id: str) -> dict[str, Any]:
    rules = {"default": [["fail!", "broken on purpose"]]}
    return embedded(pipe_id, [{"_id": "1"}], transform={"type": "dtl", "rules": rules})


def test_default_and_configured_schedules() -> None:
    def sched(raw: dict[str, Any]) -> str:
        pipe = parse_pipe(raw)
        assert pipe is not None
        return schedule_for(pipe).describe()

    assert sched(from_dataset("d", "x")) == "every 30 s (dataset default)"
    merge = {"_id": "m", "source": {"type": "merge", "datasets": ["a x", "b y"]}}
    assert sched(merge) == "every 30 s (dataset default)"
    assert sched(embedded("e", [])) == "every 900 s (default)"
    share = from_dataset("s", "x", sink={"type": "system", "system": "wave"})
    assert sched(share) == "every 900 s (default)"
    assert sched(embedded("i", [], pump={"schedule_interval": 5})) == "every 5 s"
    both = embedded("c", [], pump={"schedule_interval": 5, "cron_expression": "0 * * * *"})
    assert sched(both) == "cron '0 * * * *' (UTC)"
    assert sched(embedded("m", [], pump={"mode": "manual"})) == "pump mode is 'manual'"
    assert sched(embedded("o", [], pump={"mode": "off"})) == "pump mode is 'off'"
    push = {"_id": "h", "source": {"type": "http_endpoint"}}
    assert "http_endpoint" in sched(push)


def test_a_bad_cron_expression_names_file_and_path() -> None:
    pipe = parse_pipe(
        embedded("c", [], pump={"cron_expression": "61 * * * *"}), file="pipes/c.json"
    )
    assert pipe is not None
    with pytest.raises(ConfigError) as caught:
        schedule_for(pipe)
    assert caught.value.file == "pipes/c.json"
    assert str(caught.value.path) == "$.pump.cron_expression"
    assert "61 is outside 0-59" in str(caught.value)


def test_runs_only_due_pipes_in_graph_order_and_never_manual_or_off(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        [
            from_dataset("copy", "slow"),  # dataset → dataset: every 30 s
            embedded("slow", [{"_id": "1"}]),  # every 900 s
            embedded("fast", [{"_id": "1"}], pump={"schedule_interval": 10}),
            embedded("manual", [{"_id": "1"}], pump={"mode": "manual"}),
            embedded("off", [{"_id": "1"}], pump={"mode": "off"}),
        ],
    )
    clock = FixedClock(start=T0)
    with open_hub(tmp_path, clock) as hub:
        pump = Pump(hub.runner, clock=clock)
        first = pump.run_once(T0)
        assert first.due == ("fast", "slow", "copy")
        assert [r.pipe for r in first.runs] == ["fast", "slow", "copy"]
        assert all(r.ok for r in first.runs)
        assert hub.dataset("copy").get("1") is not None
        assert pump.run_once(T0 + 5 * SECOND).due == ()
        assert pump.run_once(T0 + 15 * SECOND).due == ("fast",)
        clock.advance(30 * SECOND)
        assert pump.due(T0 + 31 * SECOND) == ["fast", "copy"]
        assert pump.due(T0 + 901 * SECOND) == ["fast", "slow", "copy"]
        assert pump.next_due("manual") is None and pump.next_due("off") is None
        assert hub.store.pipe_state("manual").runs == 0
        assert hub.store.dataset_info("off") is None


def test_cron_pipe_waits_for_its_fire_time_and_catches_up_after_a_gap(tmp_path: Path) -> None:
    write_project(
        tmp_path, [embedded("c", [{"_id": "1"}], pump={"cron_expression": "*/5 * * * *"})]
    )
    clock = FixedClock(start=T0)  # 10:02
    with open_hub(tmp_path, clock) as hub:
        pump = Pump(hub.runner, clock=clock)
        assert pump.next_due("c") == T0 + 3 * 60 * SECOND  # 10:05, not at start
        assert pump.run_once(T0 + (3 * 60 - 1) * SECOND).runs == ()
        clock.advance(3 * 60 * SECOND)
        assert [r.pipe for r in pump.run_once().runs] == ["c"]
        assert pump.run_once(T0 + 7 * 60 * SECOND).runs == ()  # 10:09
        # The pump was down from 10:09 to 10:33: the missed fire runs once, at once.
        assert pump.next_due("c") == T0 + 8 * 60 * SECOND
        clock.advance(28 * 60 * SECOND)
        assert len(pump.run_once().runs) == 1
        assert pump.run_once().runs == ()


def test_a_failed_pipe_is_reported_logged_and_the_pump_goes_on(tmp_path: Path) -> None:
    write_project(tmp_path, [failing("a-bad"), embedded("b-good", [{"_id": "1"}])])
    clock = FixedClock(start=T0)
    seen: list[PumpRun] = []
    with open_hub(tmp_path, clock) as hub:
        pump = Pump(hub.runner, clock=clock, on_run=seen.append)
        tick = pump.run_once(T0)
        assert [(r.pipe, r.ok) for r in tick.runs] == [("a-bad", False), ("b-good", True)]
        assert "broken on purpose" in (tick.runs[0].error or "")
        assert seen == list(tick.runs)
        log = hub.store.dataset("system:pump_execution:a-bad").latest("pump-failed")
        assert log is not None and "broken on purpose" in log["original_error_message"]
        # A failed run counts as a run: the pipe waits for its next slot, it does not spin.
        assert pump.due(T0 + 10 * SECOND) == []


def test_stop_event_is_checked_between_pipe_runs(tmp_path: Path) -> None:
    write_project(tmp_path, [embedded("a", [{"_id": "1"}]), embedded("b", [{"_id": "1"}])])
    clock = FixedClock(start=T0)
    stop = threading.Event()
    with open_hub(tmp_path, clock) as hub:
        pump = Pump(hub.runner, clock=clock, on_run=lambda run: stop.set())
        tick = pump.run_once(T0, stop=stop)
        assert tick.stopped
        assert tick.due == ("a", "b")
        assert [r.pipe for r in tick.runs] == ["a"]
        assert hub.dataset("a").get("1") is not None  # the started run completed
        assert hub.store.dataset_info("b") is None


def test_run_forever_follows_the_schedule_with_a_fake_clock(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        [
            embedded("tick", [{"_id": "1"}], pump={"schedule_interval": 10}),
            embedded("manual", [{"_id": "1"}], pump={"mode": "manual"}),
        ],
    )
    clock = FixedClock(start=T0)
    stop = threading.Event()
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(round(seconds * SECOND))
        if sum(slept) >= 35:
            stop.set()

    with open_hub(tmp_path, clock) as hub:
        summary = Pump(hub.runner, clock=clock).run_forever(stop, sleep=sleep)
        assert summary.runs == 4  # at 0, 10, 20 and 30 s
        assert summary.failures == 0
        assert hub.store.pipe_state("tick").runs == 4
        assert hub.store.pipe_state("manual").runs == 0
        assert all(s <= 10 for s in slept)


def test_run_forever_returns_promptly_when_the_event_is_set(tmp_path: Path) -> None:
    write_project(tmp_path, [embedded("a", [{"_id": "1"}])])
    clock = FixedClock(start=T0)
    stop = threading.Event()
    ran = threading.Event()
    with open_hub(tmp_path, clock) as hub:
        pump = Pump(hub.runner, clock=clock, on_run=lambda run: ran.set())
        results: list[Any] = []
        worker = threading.Thread(target=lambda: results.append(pump.run_forever(stop)))
        worker.start()
        assert ran.wait(timeout=10)  # the first tick ran; the pump now waits 60 s for the next
        stop.set()
        worker.join(timeout=5)
        assert not worker.is_alive()
        assert results[0].runs == 1


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="POSIX signals")
def test_ctrl_c_handler_setting_the_event_ends_run_forever_cleanly(tmp_path: Path) -> None:
    """What ``pipe pump`` does: SIGINT sets the event; the pump finishes and returns."""
    write_project(tmp_path, [embedded("a", [{"_id": "1"}]), embedded("b", [{"_id": "1"}])])
    clock = FixedClock(start=T0)
    stop = threading.Event()

    def interrupt_after_first_run(run: PumpRun) -> None:
        if run.pipe == "a":
            os.kill(os.getpid(), signal.SIGINT)  # delivered to the main thread, mid-tick

    previous = signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
    try:
        with open_hub(tmp_path, clock) as hub:
            pump = Pump(hub.runner, clock=clock, on_run=interrupt_after_first_run)
            summary = pump.run_forever(stop)
            assert summary.runs == 1  # 'b' was due too, but the pump stopped between runs
            assert hub.store.pipe_state("a").last_status == "ok"
            assert hub.store.dataset_info("b") is None
    finally:
        signal.signal(signal.SIGINT, previous)
