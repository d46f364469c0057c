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


def test_deleted_hopped_entity_re_emits_its_dependents(tmp_path: Path) -> None:
    # the deleted version carries no properties: only the version before it has the join value
    write_project(tmp_path, [from_dataset("order-view", "orders", RULES)])
    with Hub.open(tmp_path, db=tmp_path / "hub.duckdb", clock=FixedClock()) as hub:
        customers, orders = hub.store.dataset("customers"), hub.store.dataset("orders")
        customers.append([{"_id": "c1", "email": "a@x", "name": "Ann"}])
        orders.append([{"_id": "o1", "email": "a@x"}, {"_id": "o2", "email": "b@x"}])
        hub.run("order-view")
        view = hub.dataset("order-view")
        assert view.get("o1")["customer-name"] == ["Ann"]  # type: ignore[index]
        customers.append([{"_id": "c1", "_deleted": True}])
        report = hub.run("order-view")
        assert (report.read, report.written) == (1, 1)  # o1 only: o2 never hopped to c1
        assert view.get("o1")["customer-name"] == []  # type: ignore[index]
        assert hub.run("order-view").read == 0


def test_hopped_key_change_re_emits_old_and_new_dependents(tmp_path: Path) -> None:
    write_project(tmp_path, [from_dataset("order-view", "orders", RULES)])
    with Hub.open(tmp_path, db=tmp_path / "hub.duckdb", clock=FixedClock()) as hub:
        customers, orders = hub.store.dataset("customers"), hub.store.dataset("orders")
        customers.append([{"_id": "c1", "email": "a@x", "name": "Ann"}])
        orders.append(
            [
                {"_id": "o1", "email": "a@x"},
                {"_id": "o2", "email": "b@x"},
                {"_id": "o3", "email": "c@x"},
            ]
        )
        hub.run("order-view")
        view = hub.dataset("order-view")
        assert view.get("o2")["customer-name"] == []  # type: ignore[index]
        # c1 stops matching o1 and starts matching o2 (which looked b@x up and found nothing)
        customers.append([{"_id": "c1", "email": "b@x", "name": "Ann"}])
        report = hub.run("order-view")
        assert (report.read, report.written) == (2, 2)  # o1 and o2; not o3
        assert view.get("o1")["customer-name"] == []  # type: ignore[index]
        assert view.get("o2")["customer-name"] == ["Ann"]  # type: ignore[index]
        assert hub.run("order-view").read == 0


PARENT_RULES = [
    ["copy", "_id"],
    [
        "add",
        "parent-name",
        [
            "hops",
            {
                "datasets": ["golden g"],
                "where": [["eq", "_S.parent", "g.$ids"]],
                "return": "g.name",
            },
        ],
    ],
]


def test_replaced_golden_id_re_emits_dependents(tmp_path: Path) -> None:
    """A merge re-key: the old id is deleted (``$replaced``, no ``$ids``), a new id takes over."""
    write_project(tmp_path, [from_dataset("branch-view", "branches", PARENT_RULES)])
    with Hub.open(tmp_path, db=tmp_path / "hub.duckdb", clock=FixedClock()) as hub:
        golden, branches = hub.store.dataset("golden"), hub.store.dataset("branches")
        golden.append([{"_id": "inv:1", "$ids": ["inv:1", "crm:A"], "name": "Parent"}])
        branches.append([{"_id": "b1", "parent": "crm:A"}, {"_id": "b2", "parent": "inv:1"}])
        hub.run("branch-view")
        view = hub.dataset("branch-view")
        assert view.get("b1")["parent-name"] == ["Parent"]  # type: ignore[index]
        # inv:1 leaves the group: its id is retired, the CRM copy is a golden record of its own
        golden.append(
            [
                {"_id": "inv:1", "_deleted": True, "$replaced": True},
                {"_id": "crm:A", "$ids": ["crm:A"], "name": "Parent copy"},
            ]
        )
        report = hub.run("branch-view")
        assert report.read == 2
        assert view.get("b1")["parent-name"] == ["Parent copy"]  # type: ignore[index]
        assert view.get("b2")["parent-name"] == []  # type: ignore[index]
        # the copy goes too: b1 loses its parent in the next run
        golden.append([{"_id": "crm:A", "_deleted": True}])
        report = hub.run("branch-view")
        assert report.read == 1
        assert view.get("b1")["parent-name"] == []  # type: ignore[index]
        assert hub.run("branch-view").read == 0
