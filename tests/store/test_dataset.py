"""The dataset log: change detection, reads, history, deletion tracking, atomicity."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pyarrow as pa
import pytest

from engine.entity import NI, URI, content_hash
from engine.errors import DatasetError
from engine.store import Store, entities_to_batch


def test_append_writes_only_new_or_changed(store: Store) -> None:
    ds = store.dataset("people")
    first = ds.append([{"_id": "a", "name": "Ann"}, {"_id": "b", "name": "Bob"}])
    assert (first.written, first.unchanged) == (2, 0)
    again = ds.append([{"_id": "a", "name": "Ann"}, {"_id": "b", "name": "Bob", "_ts": 5}])
    assert (again.written, again.unchanged) == (0, 2)
    changed = ds.append([{"_id": "a", "name": "Anne"}, {"_id": "b", "name": "Bob"}])
    assert (changed.written, changed.first_offset) == (1, 2)
    assert ds.counts().versions == 3


def test_deleted_flag_alone_is_a_change(store: Store) -> None:
    ds = store.dataset("d")
    ds.append([{"_id": "a", "x": 1}])
    assert ds.append([{"_id": "a", "x": 1, "_deleted": True}]).written == 1
    latest = ds.latest("a")
    assert latest is not None and latest["_deleted"] is True and latest["x"] == 1
    assert ds.append([{"_id": "a", "x": 1, "_deleted": "yes"}]).written == 1  # not `true`
    assert ds.latest("a")["_deleted"] is False


def test_reserved_fields_are_regenerated(store: Store) -> None:
    ds = store.dataset("d")
    ds.append([{"_id": "a", "_updated": 99, "_previous": 7, "_hash": "x", "v": 1}])
    ds.append([{"_id": "a", "v": 2}])
    versions = ds.history("a")
    assert [v["_updated"] for v in versions] == [0, 1]
    assert [v["_previous"] for v in versions] == [None, 0]
    assert versions[1]["_hash"] == content_hash({"_id": "a", "v": 2})
    assert versions[0]["_ts"] < versions[1]["_ts"]


def test_typed_values_round_trip_losslessly(store: Store) -> None:
    entity = {
        "_id": "t",
        "when": dt.datetime(2024, 1, 2, 3, 4, 5, 678, tzinfo=dt.UTC),
        "day": dt.date(2024, 1, 2),
        "price": Decimal("12345678901234567890.1234567890"),
        "ref": NI("crm-person", "100"),
        "home": URI("http://example.org/"),
        "u": uuid.UUID("531a379e-31bb-4ce1-8690-158dceb64be6"),
        "raw": b"\x00\x01",
        "tilde": "~literal",
        "big": 2**80,
        "f": 1.5,
        "nested": {"_private": [1, None, True]},
    }
    ds = store.dataset("typed")
    ds.append([entity])
    got = ds.latest("t")
    assert got is not None
    for key, value in entity.items():
        assert got[key] == value and type(got[key]) is type(value), key
    # SQL sees the transit form property by property
    log, _ = ds.table_names()
    row = store.fetchone(f"SELECT body->>'price', body->>'ref', body->>'tilde' FROM {log}")
    assert row == ("~f12345678901234567890.1234567890", "~:crm-person:100", "~~literal")


def test_read_since_latest_only_vs_all_versions(store: Store) -> None:
    ds = store.dataset("d")
    ds.append([{"_id": "a", "v": 1}, {"_id": "b", "v": 1}])
    ds.append([{"_id": "a", "v": 2}])
    assert [e["_id"] for e in ds.entities_since(None)] == ["b", "a"]
    all_versions = ds.entities_since(None, include_previous_versions=True)
    assert [(e["_id"], e["v"]) for e in all_versions] == [("a", 1), ("b", 1), ("a", 2)]
    assert [e["_updated"] for e in ds.entities_since(1)] == [2]
    assert ds.entities_since(2) == []


def test_iter_since_pages_cover_everything_once(store: Store) -> None:
    ds = store.dataset("d")
    ds.append([{"_id": str(i), "v": i} for i in range(25)])
    pages = list(ds.iter_since(None, batch_size=10))
    assert [p.num_rows for p in pages] == [10, 10, 5]
    ids = [i for p in pages for i in p.column("_id").to_pylist()]
    assert sorted(ids, key=int) == [str(i) for i in range(25)]


def test_track_deletions_keeps_last_properties(store: Store) -> None:
    ds = store.dataset("d")
    ds.append([{"_id": "a", "v": 1}, {"_id": "b", "v": 2}, {"_id": "c", "v": 3}])
    store.run("CREATE TEMP TABLE seen AS SELECT unnest(['a']) AS _id")
    with store.transaction():
        assert ds.track_deletions("seen", mark_deletion_tracked=True) == 2
    b = ds.latest("b")
    assert b is not None and b["_deleted"] is True and b["v"] == 2
    assert b["$deletion_tracked"] is True
    assert ds.counts().live == 1 and ds.counts().deleted == 2
    with store.transaction():  # already deleted entities are not deleted again
        assert ds.track_deletions("seen") == 0


def test_failed_transaction_leaves_nothing(store: Store) -> None:
    ds = store.dataset("d")
    ds.append([{"_id": "a", "v": 1}])
    with pytest.raises(RuntimeError), store.transaction():
        ds.append([{"_id": "a", "v": 2}, {"_id": "b", "v": 1}])
        raise RuntimeError("boom")
    assert ds.counts().versions == 1
    assert ds.latest("a")["v"] == 1
    assert ds.latest("b") is None


def test_arrow_batches_append_without_python_entities(store: Store) -> None:
    batch = entities_to_batch([{"_id": "a", "v": 1}])
    assert batch.schema.names == ["_id", "_deleted", "body"]
    table = pa.table(
        {"_id": ["x"], "_deleted": [False], "body": ['{"_deleted":false,"_id":"x","v":1}']}
    )
    ds = store.dataset("d")
    assert ds.append(batch).written == 1
    assert ds.append(table).written == 1
    assert ds.latest("x")["_hash"] == content_hash({"_id": "x", "v": 1})


def test_populated_flag_and_bad_names(store: Store) -> None:
    ds = store.dataset("d")
    assert not ds.populated
    with store.transaction():
        ds.set_populated()
    assert ds.populated
    with pytest.raises(DatasetError, match="invalid dataset name"):
        store.dataset("a/b").append([{"_id": "1"}])


def test_store_persists_on_disk(tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "hub.duckdb"  # type: ignore[operator]
    with Store(path) as s:
        s.dataset("d").append([{"_id": "a", "v": 1}])
    with Store(path) as s:
        assert s.dataset("d").latest("a")["v"] == 1
