"""The runner takes the SQL path when the compiler accepts a pipe, else the interpreter; both
produce the same dataset."""

from __future__ import annotations

from pathlib import Path

from engine.clock import FixedClock
from engine.hub import Hub
from tests.helpers import embedded, from_dataset, write_project

RULES = [["copy", "*"], ["add", "label", ["upper", "_S.name"]], ["filter", ["neq", "_S.kind", "x"]]]


def test_sql_and_interpreter_paths_agree(tmp_path: Path) -> None:
    people = [
        {"_id": str(i), "name": f"n{i}", "kind": "x" if i % 3 == 0 else "y"} for i in range(30)
    ]
    write_project(
        tmp_path,
        [
            embedded("src", people),
            from_dataset("via-sql", "src", RULES),
            # a hop makes the compiler refuse: the interpreter runs the same rules
            from_dataset(
                "via-dtl",
                "src",
                [
                    *RULES,
                    [
                        "add",
                        "h",
                        [
                            "hops",
                            {
                                "datasets": ["src s"],
                                "where": [["eq", "_S._id", "s._id"]],
                                "return": "s._id",
                            },
                        ],
                    ],
                    ["remove", "h"],
                ],
            ),
        ],
    )
    with Hub.open(tmp_path, db=tmp_path / "hub.duckdb", clock=FixedClock()) as hub:
        hub.run("src")
        sql = hub.run("via-sql")
        dtl = hub.run("via-dtl")
        assert (sql.path, dtl.path) == ("sql", "interpreter")
        assert sql.written == dtl.written == 20
        left = {e["_id"]: e["_hash"] for e in hub.dataset("via-sql").entities()}
        right = {e["_id"]: e["_hash"] for e in hub.dataset("via-dtl").entities()}
        assert left == right
        # incremental: an edit flows through the SQL path too, and a filtered entity is deleted
        people[1]["kind"] = "x"
        people[2]["name"] = "changed"
    write_project(tmp_path, [embedded("src", people)])
    with Hub.open(tmp_path, db=tmp_path / "hub.duckdb", clock=FixedClock()) as hub:
        hub.run("src")
        again = hub.run("via-sql")
        assert (again.path, again.read, again.written, again.deleted) == ("sql", 2, 1, 1)
        assert hub.dataset("via-sql").get("2")["label"] == "CHANGED"  # type: ignore[index]
        assert hub.dataset("via-sql").get("1")["_deleted"] is True  # type: ignore[index]
