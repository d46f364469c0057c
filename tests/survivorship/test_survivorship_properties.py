"""Invariants of survivorship over random member histories (Hypothesis)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from survivorship_support import Hub, day, global_pipe, golden

from engine.clock import FixedClock
from engine.entity import canonical_json
from engine.store import Store
from engine.survivorship import build_survivorship

MEMBERS = ["crm-person:1", "crm-person:2", "erp-person:7", "web-person:3"]
MISSING = object()
VALUES = st.sampled_from(["A", "B", "", None, MISSING])
# (value of name, day of $last-modified) per version; days collide often so ties happen.
HISTORY = st.lists(st.tuples(VALUES, st.integers(0, 4)), min_size=1, max_size=3)
SCENARIO = st.dictionaries(st.sampled_from(MEMBERS), HISTORY, min_size=1, max_size=4)
PRIORITY = st.lists(st.sampled_from(["crm-person", "erp-person", "web-person"]), unique=True)


def load(scenario: dict[str, list[tuple[Any, int]]]) -> Store:
    clock = FixedClock()
    store = Store(":memory:", clock=clock)
    hub = Hub(store, clock)
    for member_id in sorted(scenario):
        namespace = member_id.rsplit(":", 1)[0]
        for version, (value, when) in enumerate(scenario[member_id]):
            # ``v`` makes every version a change, so equal names still give separate versions.
            entity: dict[str, Any] = {"_id": member_id, "$last-modified": day(when), "v": version}
            if value is not MISSING:
                entity[f"{namespace}:name"] = value
            hub.put(namespace, entity)
    return store


def transform(priority: list[str]) -> dict[str, Any]:
    return {"properties": {"name": "*:name"}, "priority": priority}


def candidate_days(scenario: dict[str, list[tuple[Any, int]]]) -> dict[str, tuple[Any, int]]:
    """Oracle: each member's latest name and the day of the oldest version still holding it."""
    found = {}
    for member_id, versions in scenario.items():
        value, when = versions[-1]
        if value is MISSING:
            continue
        for older, older_when in reversed(versions[:-1]):
            if older is MISSING or canonical_json(older) != canonical_json(value):
                break
            when = older_when
        found[member_id] = (value, when)
    return found


@settings(max_examples=30, deadline=None)
@given(scenario=SCENARIO, priority=PRIORITY, order=st.randoms(use_true_random=False))
def test_newest_filled_value_wins_whatever_the_member_order(
    scenario: dict[str, list[tuple[Any, int]]], priority: list[str], order: Any
) -> None:
    store = load(scenario)
    members = sorted(scenario)
    shuffled = list(members)
    order.shuffle(shuffled)
    try:
        pipe = global_pipe(transform(priority))
        [out] = build_survivorship(store, pipe.transforms[0], pipe)(golden(*members, entity_id="g"))
        step = build_survivorship(store, pipe.transforms[0], pipe)
        [again] = step(golden(*shuffled, entity_id="g"))
    finally:
        store.close()
    # The order of $ids never changes the outcome (ties go to priority, then names).
    assert canonical_json(again.get("name")) == canonical_json(out.get("name"))
    assert again["$claims"] == out["$claims"]
    candidates = candidate_days(scenario)
    if not candidates:
        assert "name" not in out and out["$claims"] == {}
        return
    claim = out["$claims"]["name"]
    assert candidates[claim["member"]] == (out["name"], (claim["at"] - day(0)).days)
    filled = [when for value, when in candidates.values() if value not in ("", None)]
    if filled:  # nothing is linked yet, so the newest filled value wins
        assert out["name"] not in ("", None)
        assert claim["at"] == day(max(filled))
    else:
        assert claim["at"] == day(max(when for _, when in candidates.values()))
