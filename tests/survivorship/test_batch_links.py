"""Link times for a whole batch come from one sink query and decide exactly as per entity.

``Survivorship.apply_batch`` reads the sink versions of every entity that has an empty and a
filled candidate up front (issue 8: a query per entity was most of a merged order's time).
These tests compare the batch against the per-entity path it replaced (the same transform with
the up-front read switched off) on groups that link before and after clears, and count the
sink queries.
"""

from __future__ import annotations

from typing import Any

import pytest
from survivorship_support import CRM, ERP, GLOBAL, WEB, Hub, day, golden, micros

from engine import survivorship as surv
from engine.entity import Entity

PROPS = {"properties": {"name": "*:name", "phone": "*:phone"}}


def _fill(hub: Hub) -> list[Entity]:
    """Six groups: clears before and after their link, never linked, all empty, deleted."""
    hub.member(CRM, "1", day(1), name="Ann", phone="1")
    hub.member(ERP, "1", day(2), name="", phone=None)  # cleared before the link: set aside
    hub.member(CRM, "2", day(1), name="Bob", phone="2")
    hub.member(ERP, "2", day(2), name="Bobby", phone="22")
    hub.member(CRM, "3", day(1), name="Cid")
    hub.member(WEB, "3", day(2), name=None)  # never linked: the empty value is set aside
    hub.member(CRM, "4", day(1), name="")
    hub.member(ERP, "4", day(2), name=None)  # all empty: newest empty wins, no link needed
    hub.member(CRM, "5", day(1), name="Eve")
    hub.member(ERP, "5", day(1), name="Eve")
    hub.put(GLOBAL, golden(f"{CRM}:1", f"{ERP}:1"), ts=micros(day(3)))
    hub.put(GLOBAL, golden(f"{CRM}:2", f"{ERP}:2"), ts=micros(day(3)) + 1000)
    hub.put(GLOBAL, golden(f"{CRM}:5", f"{ERP}:5"), ts=micros(day(3)) + 2000)
    hub.member(ERP, "2", day(4), name="", phone="22")  # cleared after the link: propagates
    hub.member(ERP, "5", day(4), name=None)  # cleared after the link, with a golden _id
    return [
        golden(f"{CRM}:1", f"{ERP}:1"),
        golden(f"{CRM}:2", f"{ERP}:2"),
        golden(f"{CRM}:3", f"{WEB}:3"),
        golden(f"{CRM}:4", f"{ERP}:4"),
        golden(f"{CRM}:5", f"{ERP}:5", entity_id=f"{ERP}:5"),
        {"_id": f"{CRM}:9", "_deleted": True, "$replaced": True},
    ]


def test_batch_decides_as_the_per_entity_path(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    batch = _fill(hub)
    expected = hub.survivorship(PROPS, sink=GLOBAL).apply_batch(batch)
    rules = {e["_id"]: {k: c["rule"] for k, c in e.get("$claims", {}).items()} for e in expected}
    assert rules[f"{CRM}:1"]["name"] == "non-empty-over-empty"
    assert rules[f"{CRM}:2"]["name"] == "newest" and expected[1]["name"] == ""
    assert rules[f"{CRM}:3"]["name"] == "non-empty-over-empty"
    assert expected[4]["name"] is None
    monkeypatch.setattr(surv.Survivorship, "_prefetch_links", lambda self, todo: None)
    one_by_one = hub.survivorship(PROPS, sink=GLOBAL)
    assert [one_by_one.apply_batch([e])[0] for e in batch] == expected


def test_one_sink_query_per_batch(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    batch = _fill(hub)
    datasets: list[str] = []
    real = surv._histories

    def counting(store: Any, dataset: str, ids: set[str]) -> dict[str, list[Entity]]:
        datasets.append(dataset)
        return real(store, dataset, ids)

    monkeypatch.setattr(surv, "_histories", counting)
    hub.survivorship(PROPS, sink=GLOBAL).apply_batch(batch)
    assert datasets.count(GLOBAL) == 1
