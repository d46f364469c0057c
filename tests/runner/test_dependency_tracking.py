"""Dependency tracking: a change to a hopped entity re-emits the source entities that hopped."""

from __future__ import annotations

from pathlib import Path

from engine.clock import FixedClock
from engine.hub import Hub
from tests.helpers import from_dataset, write_project

RULES = [
    ["copy", "_id"],
    [
        "add",
        "customer-name",
        [
            "hops",
            {
                "datasets": ["customers c"],
                "where": [["eq", "_S.email", "c.email"]],
                "return": "c.name",
            },
        ],
    ],
]


def test_hopped_change_re_emits_source(tmp_path: Path) -> None:
    write_project(tmp_path, [from_dataset("order-view", "orders", RULES)])
    with Hub.open(tmp_path, db=tmp_path / "hub.duckdb", clock=FixedClock()) as hub:
        customers, orders = hub.store.dataset("customers"), hub.store.dataset("orders")
        customers.append(
            [
                {"_id": "c1", "email": "a@x", "name": "Ann"},
                {"_id": "c2", "email": "b@x", "name": "Bob"},
            ]
        )
        orders.append([{"_id": "o1", "email": "a@x"}, {"_id": "o2", "email": "b@x"}])
        hub.run("order-view")
        view = hub.dataset("order-view")
        assert view.get("o1")["customer-name"] == ["Ann"]  # type: ignore[index]
        # the customer changes; the order itself does not
        customers.append([{"_id": "c1", "email": "a@x", "name": "Anne"}])
        report = hub.run("order-view")
        assert (report.read, report.written) == (1, 1)  # only o1 is re-emitted
        assert view.get("o1")["customer-name"] == ["Anne"]  # type: ignore[index]
        # the join value is removed: the old version still finds the order that hopped to it
        customers.append([{"_id": "c2", "email": "changed@x", "name": "Bob"}])
        report = hub.run("order-view")
        assert report.read == 1
        assert view.get("o2")["customer-name"] == []  # type: ignore[index]
        # nothing changed: nothing re-emitted
        assert hub.run("order-view").read == 0


def test_track_dependencies_false_does_not_re_emit(tmp_path: Path) -> None:
    rules = [
        RULES[0],
        [
            "add",
            "n",
            [
                "hops",
                {
                    "datasets": ["customers c"],
                    "where": [["eq", "_S.email", "c.email"]],
                    "return": "c.name",
                    "track-dependencies": False,
                },
            ],
        ],
    ]
    write_project(tmp_path, [from_dataset("v", "orders", rules)])
    with Hub.open(tmp_path, db=tmp_path / "hub.duckdb", clock=FixedClock()) as hub:
        hub.store.dataset("customers").append([{"_id": "c1", "email": "a@x", "name": "Ann"}])
        hub.store.dataset("orders").append([{"_id": "o1", "email": "a@x"}])
        hub.run("v")
        hub.store.dataset("customers").append([{"_id": "c1", "email": "a@x", "name": "Anne"}])
        assert hub.run("v").read == 0
