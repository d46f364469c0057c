"""The merge source reproduces the documented Sesam example."""

from __future__ import annotations

from pathlib import Path

from engine.clock import FixedClock
from engine.hub import Hub
from tests.helpers import embedded, write_project

MERGE = {
    "_id": "merged",
    "source": {
        "type": "merge",
        "version": 2,
        "datasets": ["A a", "B b", "C c"],
        "equality": [["eq", "a.f1", "b.f1"], ["eq", "b.f2", ["lower", "c.f3"]]],
        "identity": "composite",
    },
}


def test_documented_example(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        [
            embedded("A", [{"_id": "a1", "f1": 1}, {"_id": "a2", "f1": 2}]),
            embedded("B", [{"_id": "b1", "f1": 1, "f2": "x"}, {"_id": "b2", "f1": 3}]),
            embedded("C", [{"_id": "c1", "f3": "X"}, {"_id": "c2", "_deleted": True, "f3": "Y"}]),
            MERGE,
        ],
    )
    with Hub.open(tmp_path, db=tmp_path / "hub.duckdb", clock=FixedClock()) as hub:
        for pid in ("A", "B", "C", "merged"):
            hub.run(pid)
        got = {e["_id"]: e for e in hub.dataset("merged").entities(include_deleted=True)}
    assert set(got) == {"0|a1|1|b1|2|c1", "0|a2", "1|b2", "2|c2"}
    big = got["0|a1|1|b1|2|c1"]
    assert big["$ids"] == ["a1", "b1", "c1"]
    assert (big["f1"], big["f2"], big["f3"]) == ([1, 1], "x", "X")
    assert got["0|a2"]["f1"] == 2 and got["0|a2"]["$ids"] == ["a2"]
    assert got["2|c2"]["_deleted"] is True and got["2|c2"]["f3"] == "Y"
