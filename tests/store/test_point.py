"""The one-row append (engine.store.point) writes exactly what the generic append writes."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.clock import FixedClock
from engine.store import Store
from engine.store.point import append_one

ops = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c"]),
        st.integers(0, 2),
        st.booleans(),
        st.sampled_from(["lookup", "known", "stale"]),
    ),
    max_size=25,
)


def _state(store: Store, name: str) -> tuple[list[Any], list[Any]]:
    log, cur = store.dataset(name).table_names()
    rows = store.fetchall(
        f"SELECT _updated, _id, _deleted, _hash, _previous, body FROM {log} ORDER BY _updated"
    )
    current = store.fetchall(f"SELECT _id, _updated, _hash, _deleted FROM {cur} ORDER BY _id")
    return rows, current


@settings(max_examples=60, deadline=None)
@given(ops)
def test_one_row_appends_equal_batch_appends(steps: list[tuple[str, int, bool, str]]) -> None:
    with Store(clock=FixedClock(step=0)) as store:
        generic, point = store.dataset("generic"), store.dataset("point")
        for entity_id, value, deleted, how in steps:
            entity = {"_id": entity_id, "v": value, "_deleted": deleted}
            expected = generic.append([entity])
            latest = point.latest(entity_id) if point.exists else None
            with store.transaction():
                if how == "lookup" or latest is None:
                    got = append_one(point, entity, new=how == "known" and latest is None)
                elif how == "known":
                    got = append_one(point, entity, current=(latest["_updated"], latest["_hash"]))
                else:  # a version that is not the latest: detected, then looked up
                    got = append_one(point, entity, current=(latest["_updated"] - 1000, "x"))
            assert (got.written, got.unchanged) == (expected.written, expected.unchanged)
        if steps:
            assert _state(store, "generic") == _state(store, "point")
            assert generic.info.next_offset == point.info.next_offset
