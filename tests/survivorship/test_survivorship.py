"""Survivorship on real member histories: newest wins, priority ties, empties, claims."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from survivorship_support import CRM, ERP, GLOBAL, WEB, Hub, day, golden, micros

from engine.clock import micros_to_datetime
from engine.entity import NI
from engine.survivorship import SurvivorshipError, last_modified_micros

NAME = {"properties": {"name": "*:name"}}


def claim(entity: dict[str, Any], prop: str) -> dict[str, Any]:
    claims = entity["$claims"]
    assert isinstance(claims, dict)
    found = claims[prop]
    assert isinstance(found, dict)
    return found


def test_newest_value_wins_with_a_full_claim(hub: Hub) -> None:
    hub.member(CRM, "1", day(1), name="Ann", email="ann@x.no")
    hub.member(ERP, "7", day(5), name="Anne", email="ann@x.no")
    step = hub.survivorship({"properties": {"name": "*:name", "email": "*:email"}})
    [out] = step(golden(f"{CRM}:1", f"{ERP}:7", **{f"{CRM}:name": "Ann"}))
    assert out["name"] == "Anne"
    assert out["email"] == "ann@x.no"
    assert out[f"{CRM}:name"] == "Ann"  # member properties pass through
    assert out["$claims"]["name"] == {
        "value": "Anne",
        "member": f"{ERP}:7",
        "dataset": ERP,
        "at": day(5),
        "rule": "newest",
    }
    assert claim(out, "email")["member"] == f"{ERP}:7"  # equal values: still the newest claim


def test_an_edit_to_another_property_does_not_make_an_old_value_new(hub: Hub) -> None:
    hub.member(CRM, "1", day(1), name="Ann", email="a@x.no")
    hub.member(ERP, "7", day(3), name="Anne", email="a@x.no")
    hub.member(CRM, "1", day(9), name="Ann", email="ann@x.no")  # only email changed
    step = hub.survivorship({"properties": {"name": "*:name", "email": "*:email"}})
    [out] = step(golden(f"{CRM}:1", f"{ERP}:7"))
    assert (out["name"], claim(out, "name")["at"]) == ("Anne", day(3))
    assert (out["email"], claim(out, "email")["at"]) == ("ann@x.no", day(9))


def test_a_changed_value_takes_the_time_of_its_change(hub: Hub) -> None:
    hub.member(CRM, "1", day(1), name="Ann")
    hub.member(ERP, "7", day(3), name="Anne")
    hub.member(CRM, "1", day(6), name="Annie")
    hub.member(CRM, "1", day(8), name="Annie", phone="1")
    [out] = hub.survivorship(NAME)(golden(f"{CRM}:1", f"{ERP}:7"))
    assert (out["name"], claim(out, "name")["at"]) == ("Annie", day(6))


def test_value_comparison_is_type_strict(hub: Hub) -> None:
    hub.member(CRM, "1", day(1), n=1, flag=1)
    hub.member(CRM, "1", day(4), n=1.0, flag=True)
    hub.member(ERP, "7", day(2), n=2, flag=0)
    step = hub.survivorship({"properties": {"n": "*:n", "flag": "*:flag"}})
    [out] = step(golden(f"{CRM}:1", f"{ERP}:7"))
    assert (out["n"], claim(out, "n")["at"]) == (1.0, day(4))
    assert out["flag"] is True


def test_a_deleted_and_recreated_value_is_new(hub: Hub) -> None:
    hub.member(CRM, "1", day(1), name="Ann")
    hub.put(CRM, {"_id": f"{CRM}:1", f"{CRM}:name": "Ann", "_deleted": True})
    hub.member(CRM, "1", day(7), name="Ann")
    hub.member(ERP, "7", day(3), name="Anne")
    [out] = hub.survivorship(NAME)(golden(f"{CRM}:1", f"{ERP}:7"))
    assert (out["name"], claim(out, "name")["at"]) == ("Ann", day(7))


def test_ts_is_the_time_when_there_is_no_last_modified(hub: Hub) -> None:
    start = hub.clock.start
    hub.put(CRM, {"_id": f"{CRM}:1", f"{CRM}:name": "Ann"}, ts=start + 100)
    hub.put(ERP, {"_id": f"{ERP}:7", f"{ERP}:name": "Anne"}, ts=start + 300)
    hub.put(CRM, {"_id": f"{CRM}:1", f"{CRM}:name": "Ann", f"{CRM}:x": 1}, ts=start + 500)
    [out] = hub.survivorship(NAME)(golden(f"{CRM}:1", f"{ERP}:7"))
    assert out["name"] == "Anne"
    assert claim(out, "name")["at"] == micros_to_datetime(start + 300)


def test_last_modified_may_be_a_string_or_an_epoch_number(hub: Hub) -> None:
    hub.member(CRM, "1", "2024-01-05T00:00:00Z", name="Ann")
    hub.member(ERP, "7", micros(day(2)) // 1_000_000, name="Anne")  # UNIX seconds
    hub.member(WEB, "3", micros(day(3)) // 1_000, name="Anna")  # milliseconds
    [out] = hub.survivorship(NAME)(golden(f"{CRM}:1", f"{ERP}:7", f"{WEB}:3"))
    assert (out["name"], claim(out, "name")["at"]) == ("Ann", day(4))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-02", micros(day(1))),
        ("2024-01-02T01:00:00+01:00", micros(day(1))),
        ("2024-01-02T00:00:00", micros(day(1))),
        (micros(day(1)), micros(day(1))),
        (micros(day(1)) * 1_000, micros(day(1))),
        (Decimal(micros(day(1))) / 1_000_000, micros(day(1))),
        ("yesterday", None),
        (True, None),
        (None, None),
        ([1], None),
    ],
)
def test_last_modified_forms(value: Any, expected: int | None) -> None:
    assert last_modified_micros(value) == expected


def test_a_bad_last_modified_falls_back_to_ts(hub: Hub) -> None:
    hub.put(
        CRM,
        {"_id": f"{CRM}:1", f"{CRM}:name": "Ann", "$last-modified": "soon"},
        ts=hub.clock.start + 50,
    )
    [out] = hub.survivorship(NAME)(golden(f"{CRM}:1"))
    assert claim(out, "name") == {
        "value": "Ann",
        "member": f"{CRM}:1",
        "dataset": CRM,
        "at": micros_to_datetime(hub.clock.start + 50),
        "rule": "only",
    }


@pytest.mark.parametrize(
    ("priority", "winner", "rule"),
    [
        ([ERP], ERP, "priority"),
        ([CRM, ERP], CRM, "priority"),
        ([WEB, ERP], ERP, "priority"),  # WEB has no candidate; ERP is still listed
        ([], CRM, "priority"),  # nothing listed: by namespace name
        ([f"{ERP}-enriched"], ERP, "priority"),  # a dataset name counts too
    ],
)
def test_ties_are_broken_by_priority(hub: Hub, priority: list[str], winner: str, rule: str) -> None:
    hub.member(CRM, "1", day(2), name="Ann")
    hub.put(f"{ERP}-enriched", {"_id": f"{ERP}:7", f"{ERP}:name": "Anne", "$last-modified": day(2)})
    step = hub.survivorship({**NAME, "priority": priority, "members": {ERP: f"{ERP}-enriched"}})
    [out] = step(golden(f"{ERP}:7", f"{CRM}:1"))
    assert claim(out, "name")["member"].startswith(winner + ":")
    assert claim(out, "name")["rule"] == rule


def test_newer_beats_higher_priority(hub: Hub) -> None:
    hub.member(CRM, "1", day(2), name="Ann")
    hub.member(ERP, "7", day(3), name="Anne")
    [out] = hub.survivorship({**NAME, "priority": [CRM]})(golden(f"{CRM}:1", f"{ERP}:7"))
    assert (out["name"], claim(out, "name")["rule"]) == ("Anne", "newest")


@pytest.mark.parametrize("empty", [None, "", []])
def test_empty_never_beats_filled_when_first_linked(hub: Hub, empty: Any) -> None:
    hub.member(CRM, "1", day(1), name="Ann")
    hub.member(ERP, "7", day(9), name=empty)
    [out] = hub.survivorship(NAME, sink=GLOBAL)(golden(f"{CRM}:1", f"{ERP}:7"))
    assert out["name"] == "Ann"
    assert claim(out, "name")["rule"] == "non-empty-over-empty"
    assert claim(out, "name")["at"] == day(1)


def test_all_empty_candidates_compete_normally(hub: Hub) -> None:
    hub.member(CRM, "1", day(1), name=None)
    hub.member(ERP, "7", day(9), name="")
    [out] = hub.survivorship(NAME)(golden(f"{CRM}:1", f"{ERP}:7"))
    assert (out["name"], claim(out, "name")["rule"]) == ("", "newest")


def link(hub: Hub, when: int, *members: str, entity_id: str | None = None) -> None:
    """Store a golden version linking ``members`` in the pipe's sink at ``_ts`` ``when``."""
    hub.put(GLOBAL, golden(*members, entity_id=entity_id), ts=when)


def test_a_clear_after_linking_propagates(hub: Hub) -> None:
    hub.member(CRM, "1", day(1), name="Ann")
    hub.member(ERP, "7", day(2), name="Anne")
    link(hub, micros(day(3)), f"{CRM}:1", f"{ERP}:7")
    hub.member(ERP, "7", day(4), name="")
    [out] = hub.survivorship(NAME)(golden(f"{CRM}:1", f"{ERP}:7"))
    assert out["name"] == ""
    assert claim(out, "name") == {
        "value": "",
        "member": f"{ERP}:7",
        "dataset": ERP,
        "at": day(4),
        "rule": "newest",
    }


def test_a_clear_before_the_link_is_ignored(hub: Hub) -> None:
    hub.member(CRM, "1", day(1), name="Ann")
    hub.member(ERP, "7", day(2), name="")
    link(hub, micros(day(3)), f"{CRM}:1", f"{ERP}:7")
    [out] = hub.survivorship(NAME)(golden(f"{CRM}:1", f"{ERP}:7"))
    assert (out["name"], claim(out, "name")["rule"]) == ("Ann", "non-empty-over-empty")


def test_link_time_survives_a_change_of_golden_id(hub: Hub) -> None:
    hub.member(CRM, "1", day(1), name="Ann")
    hub.member(ERP, "7", day(2), name="Anne")
    link(hub, micros(day(3)), f"{CRM}:1", f"{ERP}:7")
    hub.member(ERP, "7", day(4), name=None)
    hub.member("aaa-person", "0", day(5), email="x")  # sorts first: the golden _id moves
    step = hub.survivorship(NAME)
    [out] = step(golden("aaa-person:0", f"{CRM}:1", f"{ERP}:7"))
    assert out["_id"] == "aaa-person:0"
    assert (out["name"], claim(out, "name")["rule"]) == (None, "newest")


def test_a_link_with_a_member_that_left_does_not_count(hub: Hub) -> None:
    hub.member(CRM, "1", day(1), name="Ann")
    hub.member(ERP, "7", day(4), name="")
    link(hub, micros(day(3)), f"{ERP}:7", f"{WEB}:9")  # ERP was linked, but not with CRM
    [out] = hub.survivorship(NAME)(golden(f"{CRM}:1", f"{ERP}:7"))
    assert (out["name"], claim(out, "name")["rule"]) == ("Ann", "non-empty-over-empty")


def test_deleted_and_missing_members_are_not_candidates(hub: Hub) -> None:
    hub.member(CRM, "1", day(1), name="Ann")
    hub.member(ERP, "7", day(5), name="Anne")
    hub.put(ERP, {"_id": f"{ERP}:7", f"{ERP}:name": "Anne", "_deleted": True})
    [out] = hub.survivorship(NAME)(golden(f"{CRM}:1", f"{ERP}:7", f"{WEB}:404", "nowhere:1"))
    assert (out["name"], claim(out, "name")["rule"]) == ("Ann", "only")


def test_no_candidate_means_no_golden_property_and_no_claim(hub: Hub) -> None:
    hub.member(CRM, "1", day(1), email="a@x.no")
    [out] = hub.survivorship(NAME)(golden(f"{CRM}:1", name="stale"))
    assert "name" not in out
    assert out["$claims"] == {}


def test_explicit_candidate_keys_and_custom_settings(hub: Hub) -> None:
    hub.put("crm-enriched", {"_id": "crm:1", "crm:full_name": "Ann A", "$last-modified": day(1)})
    hub.member(ERP, "7", day(5), name="n/a")
    step = hub.survivorship(
        {
            "properties": {"name": ["crm:full_name", "*:name"]},
            "members": {"crm": "crm-enriched"},
            "empty_values": ["n/a"],
            "claims_property": "$why",
        }
    )
    [out] = step(golden("crm:1", f"{ERP}:7"))
    assert out["name"] == "Ann A"
    assert out["$why"]["name"]["dataset"] == "crm-enriched"
    assert out["$why"]["name"]["rule"] == "non-empty-over-empty"
    assert "$claims" not in out


def test_deleted_golden_entities_pass_through(hub: Hub) -> None:
    gone = {"_id": f"{CRM}:1", "_deleted": True, "$replaced": True}
    assert hub.survivorship(NAME)(dict(gone)) == [gone]


def test_entity_without_ids_is_its_own_member(hub: Hub) -> None:
    hub.member(CRM, "1", day(1), name="Ann")
    [out] = hub.survivorship(NAME)({"_id": f"{CRM}:1"})
    assert claim(out, "name")["rule"] == "only"


def test_ids_without_a_namespace_are_an_error(hub: Hub) -> None:
    with pytest.raises(SurvivorshipError) as caught:
        hub.survivorship(NAME)({"_id": "g", "$ids": [NI("", "1")]})
    assert caught.value.entity_id == "g" and caught.value.pipe == GLOBAL
    assert "'~:<namespace>:<id>'" in str(caught.value)


def test_batch_and_single_results_agree(hub: Hub) -> None:
    for i in range(5):
        hub.member(CRM, str(i), day(i), name=f"c{i}")
        hub.member(ERP, str(i), day(5 - i), name=f"e{i}" if i % 2 else "")
    entities = [golden(f"{CRM}:{i}", f"{ERP}:{i}") for i in range(5)]
    entities.insert(2, {"_id": "x", "_deleted": True})
    batch = hub.survivorship(NAME).apply_batch(entities)
    single = [out for e in entities for out in hub.survivorship(NAME)(e)]
    assert batch == single
    assert [e.get("name") for e in batch] == ["c0", "e1", None, "c2", "c3", "c4"]


def test_storing_the_golden_entity_does_not_change_the_next_result(hub: Hub) -> None:
    hub.member(CRM, "1", day(1), name="Ann")
    hub.member(ERP, "7", day(9), name="")
    merged = golden(f"{CRM}:1", f"{ERP}:7")
    [first] = hub.survivorship(NAME)(dict(merged))
    hub.put(GLOBAL, first, ts=micros(day(20)))  # the sink now records the link
    [second] = hub.survivorship(NAME)(dict(merged))
    assert second == first and first["name"] == "Ann"
    assert hub.store.dataset(GLOBAL).append([second]).written == 0  # no new version: no echo
    hub.member(ERP, "7", day(25), name=None)  # a clear after the link propagates
    [third] = hub.survivorship(NAME)(dict(merged))
    assert (third["name"], claim(third, "name")["at"]) == (None, day(25))
