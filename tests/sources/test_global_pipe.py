"""A global pipe end to end: merge source + survivorship transform through the runner."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from engine.clock import FixedClock
from engine.hub import Hub
from tests.helpers import write_project

GLOBAL = {
    "_id": "global-person",
    "namespaced_identifiers": True,
    "source": {
        "type": "merge",
        "version": 2,
        "identity": "first",
        "datasets": ["crm c", "erp e"],
        "equality": [["eq", "c.crm:email", "e.erp:email"]],
    },
    "transform": {
        "type": "survivorship",
        "properties": {"name": "*:name", "email": "*:email"},
        "priority": ["erp", "crm"],
    },
}


def when(day: int) -> dt.datetime:
    return dt.datetime(2024, 1, day, tzinfo=dt.UTC)


def test_newest_edit_wins_and_claims_say_why(tmp_path: Path) -> None:
    write_project(tmp_path, [GLOBAL])
    with Hub.open(tmp_path, db=tmp_path / "hub.duckdb", clock=FixedClock()) as hub:
        crm, erp = hub.store.dataset("crm"), hub.store.dataset("erp")
        crm.append(
            [{"_id": "crm:1", "crm:name": "Ann", "crm:email": "a@x", "$last-modified": when(1)}]
        )
        erp.append(
            [
                {
                    "_id": "erp:9",
                    "erp:name": "Ann Smith",
                    "erp:email": "a@x",
                    "$last-modified": when(2),
                }
            ]
        )
        hub.run("global-person")
        golden = hub.dataset("global-person").get("crm:1")
        assert golden is not None and golden["name"] == "Ann Smith"
        assert golden["$claims"]["name"]["member"] == "erp:9"
        # an edit in the CRM later than the ERP's value wins
        crm.append(
            [{"_id": "crm:1", "crm:name": "Ann S.", "crm:email": "a@x", "$last-modified": when(3)}]
        )
        hub.run("global-person")
        golden = hub.dataset("global-person").get("crm:1")
        assert golden is not None and golden["name"] == "Ann S."
        assert golden["$claims"]["name"]["rule"] == "newest"
        # a second run with no changes writes nothing
        assert hub.run("global-person").changed == 0
