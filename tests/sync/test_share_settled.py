"""Settling an unchanged share entity from its ``$basis`` (engine.sinks.share_diff.settled)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from engine.canonical import payload_hash, to_plain
from engine.pipeline import build_sink
from engine.sinks.share import ShareSink
from engine.sinks.share_diff import plain_hash, settled, unchanged_basis
from tests.sync.harness import CASES, Case, World, world_for


def case(case_id: str) -> Case:
    return next(c for c in CASES if c.id == case_id)


def _predict(w: World, desired: list[dict[str, Any]]) -> list[bool]:
    with w.hub() as hub:
        sink = build_sink(hub.store, hub.project, hub.project.pipe(w.share_id))
        assert isinstance(sink, ShareSink)
        sink.begin(full=False)
        return [settled(sink, dict(e)) for e in desired]


def _log_head(w: World) -> Any:
    with w.hub() as hub:
        return hub.store.dataset(w.share_id).max_offset


def test_unchanged_twice_is_settled_and_any_input_change_is_not(tmp_path: Path) -> None:
    with world_for(tmp_path, case("invoiced-customer")) as w:
        made = []
        for n in range(3):
            record_id, payload, _ = w.create(n)
            made.append((record_id, payload))
        w.collect()
        desired = [
            {"_id": f"g{n}", "$target_id": rid, "$payload": p} for n, (rid, p) in enumerate(made)
        ]
        first = w.share(desired)
        assert (first.written, first.unchanged) == (0, 3)
        assert all(e.get("$basis") for e in w.live(w.share_id))  # decided against the collect
        assert _predict(w, desired) == [True, True, True]
        head = _log_head(w)
        # a second pass over the same entities: no request, no new log version
        w.server.faults.fail(500, count=1000)
        again = w.run(w.share_id, full=True)
        assert (again.status, again.written, again.unchanged) == ("ok", 0, 3)
        assert _log_head(w) == head
        w.server.faults.clear()
        # the record changes in the system (a user's edit, collected) and the payload of g2
        w.edit(made[0][0], w.case.edit)
        w.collect()
        desired[2] = {**desired[2], "$payload": {**made[2][1], **w.case.edit}}
        assert _predict(w, desired) == [False, True, False]
        report = w.share(desired, full=True)
        assert (report.written, report.unchanged) == (2, 1)
        record = w.get(made[0][0])
        assert record is not None and all(record[k] == v for k, v in made[0][1].items())
        statuses = {e["_id"]: (e["status"], e.get("$basis")) for e in w.live(w.share_id)}
        assert statuses["g0"][0] == "updated" and statuses["g0"][1] is None
        assert statuses["g1"][0] == "unchanged" and statuses["g1"][1] is not None


def test_the_basis_covers_the_collected_content_and_the_comparison_settings(
    tmp_path: Path,
) -> None:
    with world_for(tmp_path, case("invoiced-customer")) as w:
        w.share([])
        with w.hub() as hub:
            sink = build_sink(hub.store, hub.project, hub.project.pipe(w.share_id))
            assert isinstance(sink, ShareSink)
            record = {"_id": "1", "_hash": "abc", "name": "A"}
            base = unchanged_basis(sink, record)
            assert base is not None
            assert unchanged_basis(sink, {**record, "_hash": "abd"}) != base
            assert unchanged_basis(sink, {"_id": "1", "name": "A"}) is None
            sink.update_fields = ["name"]
            assert unchanged_basis(sink, record) != base


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=5),
    st.decimals(allow_nan=False, allow_infinity=False, places=2),
    st.datetimes(timezones=st.just(dt.UTC)),
    st.dates(),
)
payloads = st.dictionaries(
    st.text(max_size=4),
    st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
        max_leaves=8,
    ),
    max_size=5,
)


@given(payloads)
def test_plain_hash_is_payload_hash_of_the_plain_payload(payload: dict[str, Any]) -> None:
    assert plain_hash(to_plain(payload)) == payload_hash(payload)
    assert plain_hash(to_plain({**payload, "x": Decimal("1.5")})) != plain_hash(
        to_plain({**payload, "x": Decimal("2.5")})
    )
