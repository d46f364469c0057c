"""``Hub.why`` on a small global pipe (no systems): links, agreement with ``$claims``, staleness,
replaced golden records and unknown ids."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from engine.clock import FixedClock
from engine.hub import Hub
from engine.why import WhyError
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
        "properties": {"name": "*:name", "email": "*:email", "phone": "*:phone"},
        "priority": ["erp", "crm"],
    },
}


def when(day: int) -> dt.datetime:
    return dt.datetime(2024, 1, day, tzinfo=dt.UTC)


def crm(name: str, day: int) -> dict[str, object]:
    return {"_id": "crm:1", "crm:name": name, "crm:email": "a@x", "$last-modified": when(day)}


@pytest.fixture
def hub(tmp_path: Path) -> Hub:
    write_project(tmp_path, [GLOBAL])
    hub = Hub.open(tmp_path, db=tmp_path / "hub.duckdb", clock=FixedClock())
    hub.store.dataset("crm").append([crm("Ann", 1)])
    hub.store.dataset("erp").append(
        [{"_id": "erp:9", "erp:name": "Ann Smith", "erp:email": "a@x", "$last-modified": when(2)}]
    )
    hub.run("global-person")
    return hub


def test_links_and_claims_agree_with_the_transform(hub: Hub) -> None:
    with hub:
        why = hub.why("crm:1")
        assert [(link.left, link.right, link.rule, link.values) for link in why.links] == [
            ("crm:1", "erp:9", ["eq", "c.crm:email", "e.erp:email"], ("a@x",))
        ]
        assert [s.member for s in why.sources] == ["crm:1", "erp:9"]
        assert [(p.role, p.pipe) for p in why.pipes] == [("merge", "global-person")]
        stored = hub.dataset("global-person").get("crm:1")
        assert stored is not None
        for name, claim in stored["$claims"].items():
            assert (why.claim(name).member, why.claim(name).rule) == (
                claim["member"],
                claim["rule"],
            )
        assert (why.claim("name").member, why.claim("name").rule) == ("erp:9", "newest")
        assert "erp:9 changed it last, at 2024-01-02T00:00:00Z; next crm:1" in (
            why.claim("name").reason
        )
        assert why.claim("phone").member is None and why.claim("phone").reason == (
            "no member has a value"
        )
        assert why.golden["name"] == "Ann Smith" and "crm:name" not in why.golden


def test_a_change_the_global_pipe_has_not_seen_is_stale(hub: Hub) -> None:
    with hub:
        hub.store.dataset("crm").append([crm("Ann S.", 3)])
        why = hub.why("erp:9")  # a member id finds its golden record
        assert why.entity_id == "crm:1"
        assert (why.claim("name").value, why.claim("name").stale) == ("Ann S.", True)
        hub.run("global-person")
        assert hub.why("crm:1").claim("name").stale is False


def test_a_replaced_golden_record_names_where_its_members_went(hub: Hub) -> None:
    with hub:
        hub.store.dataset("crm").append([{"_id": "crm:1", "_deleted": True}])
        hub.run("global-person")
        why = hub.why("crm:1")
        assert why.deleted and why.replaced_by == ("erp:9",)
        assert hub.why("erp:9").entity_id == "erp:9"


def test_unknown_ids_get_a_did_you_mean_or_a_hint(hub: Hub) -> None:
    with hub:
        with pytest.raises(WhyError, match=r"did you mean 'crm:1'"):
            hub.why("crm:2")
        with pytest.raises(WhyError, match="member id such as 'crm:1'"):
            hub.why("nothing-like-it")
