"""``Dataset.iter_since`` reads offset windows: together they are exactly one ``read_since``."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.store import Store

_batches = st.lists(
    st.lists(st.tuples(st.sampled_from("abcde"), st.integers(0, 3), st.booleans()), max_size=6),
    min_size=1,
    max_size=6,
)


def _rows(table: pa.Table) -> list[tuple[int, str]]:
    offsets, ids = table.column("_updated").to_pylist(), table.column("_id").to_pylist()
    return list(zip(offsets, ids, strict=True))


@given(
    batches=_batches,
    batch_size=st.integers(1, 7),
    since=st.none() | st.integers(-1, 20),
    until=st.none() | st.integers(-1, 25),
    previous=st.booleans(),
)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_windows_add_up_to_one_read(
    batches: list[list[tuple[str, int, bool]]],
    batch_size: int,
    since: int | None,
    until: int | None,
    previous: bool,
) -> None:
    with Store(":memory:") as store:
        ds = store.dataset("d")
        for batch in batches:
            if batch:
                ds.append([{"_id": i, "v": v, "_deleted": d} for i, v, d in batch])
        whole = ds.read_since(since, include_previous_versions=previous, until=until)
        parts = list(
            ds.iter_since(
                since, batch_size=batch_size, include_previous_versions=previous, until=until
            )
        )
        assert all(0 < p.num_rows <= batch_size for p in parts)
        assert [r for p in parts for r in _rows(p)] == _rows(whole)


def test_superseded_versions_leave_gaps_not_an_early_end(store: Store) -> None:
    """A window of superseded versions yields nothing; the read goes on to the head."""
    ds = store.dataset("d")
    for v in range(10):
        ds.append([{"_id": "same", "v": v}])
    ds.append([{"_id": "other", "v": 0}])
    parts = list(ds.iter_since(None, batch_size=3))
    assert [_rows(p) for p in parts] == [[(9, "same"), (10, "other")]]
