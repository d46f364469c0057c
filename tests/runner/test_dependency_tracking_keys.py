"""Dependency tracking is per key value, also for the share pipes' list-path hops.

The order shares hop ``_S.lines.product`` (a list path: one value per line) into
``global-product`` by ``$ids``. A change to one product must re-emit exactly the orders whose
lines name one of that product's ids (before or after the change), not every order: the
reconcile re-reads all orders only when all products changed (docs/decisions/sync.md).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.clock import FixedClock
from engine.hub import Hub
from tests.helpers import from_dataset, write_project

RULES = [
    ["copy", "_id"],
    [
        "add",
        "names",
        [
            "hops",
            {
                "datasets": ["products g"],
                "where": [["eq", "_S.lines.product", "g.$ids"]],
                "return": "g.name",
            },
        ],
    ],
]

KEYS = ["k1", "k2", "k3", "k4", "k5"]
PRODUCTS = ["p1", "p2", "p3"]
ORDERS = [f"o{n}" for n in range(6)]


def _view(hub: Hub, name: str) -> dict[str, Any]:
    return {
        e["_id"]: sorted(e.get("names") or [])
        for e in hub.store.dataset(name).latest_entities(include_deleted=False)
    }


def test_one_product_change_re_emits_only_the_orders_that_name_it(tmp_path: Path) -> None:
    write_project(tmp_path, [from_dataset("view", "orders", RULES)])
    with Hub.open(tmp_path, db=tmp_path / "hub.duckdb", clock=FixedClock()) as hub:
        products, orders = hub.store.dataset("products"), hub.store.dataset("orders")
        products.append([{"_id": f"p{n}", "$ids": [f"k{n}"], "name": f"P{n}"} for n in range(10)])
        # order n has lines naming products n % 10 and (n + 1) % 10
        orders.append(
            [
                {
                    "_id": f"o{n:02d}",
                    "lines": [{"product": f"k{n % 10}"}, {"product": f"k{(n + 1) % 10}"}],
                }
                for n in range(40)
            ]
        )
        assert hub.run("view").read == 40
        # a link-back: p3 gains an id in another system (what the reconcile's passes do)
        products.append([{"_id": "p3", "$ids": ["k3", "other:3"], "name": "P3"}])
        report = hub.run("view")
        named = [n for n in range(40) if 3 in (n % 10, (n + 1) % 10)]
        assert report.read == len(named) == 8
        # an edit of p7's name reaches exactly its dependents' output
        products.append([{"_id": "p7", "$ids": ["k7"], "name": "Seven"}])
        report = hub.run("view")
        assert (report.read, report.written) == (8, 8)
        view = _view(hub, "view")
        assert view["o07"] == ["P8", "Seven"] and view["o12"] == ["P2", "P3"]
        assert hub.run("view").read == 0


product_edit = st.tuples(
    st.sampled_from(PRODUCTS),
    st.lists(st.sampled_from(KEYS), max_size=3, unique=True),
    st.sampled_from(["A", "B"]),
)
order_lines = st.lists(st.sampled_from(KEYS), min_size=1, max_size=3)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.fixed_dictionaries({o: order_lines for o in ORDERS}),
    st.lists(st.lists(product_edit, min_size=1, max_size=3), min_size=1, max_size=4),
)
def test_re_emitted_orders_are_exactly_the_dependents_of_what_changed(
    lines: dict[str, list[str]], steps: list[list[tuple[str, list[str], str]]]
) -> None:
    """Per step: read == orders naming an id of a changed product (any version); view == full."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_project(
            root,
            [from_dataset("view", "orders", RULES), from_dataset("view-full", "orders", RULES)],
        )
        with Hub.open(root, db=root / "hub.duckdb", clock=FixedClock()) as hub:
            products, orders = hub.store.dataset("products"), hub.store.dataset("orders")
            state: dict[str, tuple[list[str], str]] = {p: ([], "-") for p in PRODUCTS}
            products.append([{"_id": p, "$ids": [], "name": "-"} for p in PRODUCTS])
            orders.append(
                [{"_id": o, "lines": [{"product": k} for k in ks]} for o, ks in lines.items()]
            )
            hub.run("view")
            for step in steps:
                touched: set[str] = set()
                for pid, ids, name in step:
                    if state[pid] == (ids, name):
                        continue  # the same content writes no version: not a change
                    touched.update(state[pid][0], ids)
                    state[pid] = (ids, name)
                    products.append([{"_id": pid, "$ids": ids, "name": name}])
                expected = sum(1 for ks in lines.values() if touched & set(ks))
                assert hub.run("view").read == expected, (lines, steps)
                hub.run("view-full", full=True)
                assert _view(hub, "view") == _view(hub, "view-full")


def test_re_emitted_entities_come_in_bounded_batches(tmp_path: Path, monkeypatch: Any) -> None:
    """Tracking re-emits in batches of ``TRACKED_CHUNK`` (not one list of every dependent)."""
    import engine.runner

    monkeypatch.setattr(engine.runner, "TRACKED_CHUNK", 3)
    sizes: list[int] = []
    real = engine.runner.PipeRunner._tracked_entities

    def spy(source: Any, ids: list[str]) -> list[Any]:
        sizes.append(len(ids))
        return real(source, ids)

    monkeypatch.setattr(engine.runner.PipeRunner, "_tracked_entities", staticmethod(spy))
    write_project(tmp_path, [from_dataset("view", "orders", RULES)])
    with Hub.open(tmp_path, db=tmp_path / "hub.duckdb", clock=FixedClock()) as hub:
        products, orders = hub.store.dataset("products"), hub.store.dataset("orders")
        products.append([{"_id": "p1", "$ids": ["k1"], "name": "One"}])
        orders.append([{"_id": f"o{n}", "lines": [{"product": "k1"}]} for n in range(8)])
        hub.run("view")
        products.append([{"_id": "p1", "$ids": ["k1"], "name": "Uno"}])
        report = hub.run("view")
        assert (report.read, report.written) == (8, 8)
        assert sizes == [3, 3, 2]
        assert all(names == ["Uno"] for names in _view(hub, "view").values())
