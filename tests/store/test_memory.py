"""The store's memory budget: DuckDB's limit, and what a long transaction keeps until commit."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import DatasetError
from engine.store import Store, budget
from engine.store import dataset as dataset_module


def _setting(store: Store, name: str) -> str:
    row = store.fetchone("SELECT current_setting(?)", [name])
    return str(row[0])


def test_default_limit_is_capped_by_a_small_machine() -> None:
    assert budget.memory_limit(environ={}, ram_mb=64_000) == f"{budget.DEFAULT_LIMIT_MB}MB"
    assert budget.memory_limit(environ={}, ram_mb=2_048) == f"{2_048 // budget.RAM_FRACTION}MB"
    assert budget.memory_limit(environ={}, ram_mb=256) == f"{budget.MIN_LIMIT_MB}MB"


def test_argument_wins_over_environment() -> None:
    env = {"HUB_MEMORY_LIMIT": "2GB", "HUB_TEMP_DIRECTORY": "/spill"}
    assert budget.memory_limit(environ=env, ram_mb=64_000) == "2GB"
    assert budget.memory_limit("300MB", environ=env) == "300MB"
    assert budget.temp_directory(environ=env) == "/spill"
    assert budget.temp_directory("/other", environ=env) == "/other"
    assert budget.temp_directory(environ={}) is None


@given(st.text(max_size=12))
@settings(max_examples=200)
def test_only_sizes_reach_the_set_statement(text: str) -> None:
    """Whatever the environment holds, the limit is a plain size or refused."""
    try:
        limit = budget.memory_limit(environ={"HUB_MEMORY_LIMIT": text}, ram_mb=64_000)
    except ValueError:
        return
    assert "'" not in limit and ";" not in limit
    assert limit == text.strip() or (not text and limit == f"{budget.DEFAULT_LIMIT_MB}MB")


def test_store_applies_the_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_MEMORY_LIMIT", "300MB")
    spill = str(tmp_path / "spill's dir")
    with Store(":memory:", temp_directory=spill) as store:
        assert _setting(store, "memory_limit") == "286.1 MiB"  # DuckDB prints MiB
        assert _setting(store, "temp_directory") == spill
    with Store(":memory:", memory_limit="500MB") as store:
        assert _setting(store, "memory_limit") == "476.8 MiB"
    monkeypatch.setenv("HUB_MEMORY_LIMIT", "lots")
    with pytest.raises(DatasetError, match="not a size"):
        Store(":memory:")


def test_run_arrow_binds_the_table_for_one_statement(store: Store) -> None:
    store.run("CREATE TABLE t (x INTEGER)")
    table = pa.table({"x": [1, 2, 3]})
    assert store.run_arrow("INSERT INTO t SELECT x FROM batch", "batch", table) == [(3,)]
    assert store.run_arrow("SELECT sum(x) FROM batch", "batch", table) == [(6,)]
    with pytest.raises(Exception, match="batch"):
        store.run("SELECT * FROM batch")  # nothing left in the catalog


def test_a_long_transaction_does_not_keep_the_batches(store: Store) -> None:
    """Appends inside one run's transaction release each Arrow batch when it is written.

    ``register`` + ``unregister`` kept every batch alive until the commit (a dropped view is
    kept for a rollback), so a 1M-member run held a second copy of everything it wrote.
    """
    ds = store.dataset("d")
    ds.append([{"_id": "warm", "v": 0}])
    with store.transaction():
        before = pa.total_allocated_bytes()
        for b in range(20):
            batch = pa.table(
                {
                    "_id": [f"{b}-{i}" for i in range(500)],
                    "_deleted": [False] * 500,
                    "body": [f'{{"_id":"{b}-{i}","pad":"{"x" * 200}"}}' for i in range(500)],
                }
            )
            assert ds.append(batch).written == 500
            del batch
        held = pa.total_allocated_bytes() - before
    assert held < 500 * 200  # far less than one batch; 20 batches are ~2 MB
    assert ds.counts().live == 10_001


def test_no_scratch_tables_after_an_append(store: Store) -> None:
    ds = store.dataset("d")
    ds.append([{"_id": "a", "v": 1}])
    ds.append([{"_id": "a", "v": 2}, {"_id": "b", "v": 1}])
    names = {r[0] for r in store.fetchall("SELECT table_name FROM information_schema.tables")}
    assert not {n for n in names if n.startswith("hub_") and n not in _CATALOG}


_CATALOG = {"hub_datasets", "hub_pipes", "hub_meta"}


@pytest.mark.parametrize("chunk", [1, 2, 3, 100])
def test_deletion_tracking_in_windows(
    store: Store, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """Windows of any size delete the same entities, in offset order, keeping properties."""
    monkeypatch.setattr(dataset_module, "DELETE_CHUNK", chunk)
    ds = store.dataset("d")
    ds.append([{"_id": f"e{i}", "v": i} for i in range(7)])
    ds.append([{"_id": "e3", "v": 30}, {"_id": "e5", "_deleted": True, "v": 5}])
    store.run("CREATE TEMP TABLE seen AS SELECT unnest(['e0', 'e4']) AS _id")
    with store.transaction():
        assert ds.track_deletions("seen") == 4  # e1 e2 e3 e6; e5 was deleted already
    tail = ds.entities_since(8)
    assert [e["_id"] for e in tail] == ["e1", "e2", "e6", "e3"]  # by the deleted ones' offset
    assert all(e["_deleted"] is True for e in tail)
    assert [e["v"] for e in tail] == [1, 2, 6, 30]
    assert ds.counts().live == 2
