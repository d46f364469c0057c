"""add_namespaces / remove_namespaces and the namespace-aware path lookup."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.dtl.env import RunContext
from engine.dtl.namespaces import NamespaceConfig, add_namespaces, qualify, remove_namespaces
from engine.dtl.paths import walk
from engine.entity import NI

plain_keys = st.text(alphabet="abcxyz_", min_size=1, max_size=4).filter(
    lambda k: not k.startswith("_")
)
values = st.recursive(
    st.none() | st.integers() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(plain_keys, inner, max_size=3),
    max_leaves=10,
)
entities = st.builds(
    lambda body, ident: {"_id": ident, **body},
    st.dictionaries(plain_keys, values, max_size=4),
    st.text(alphabet="0123456789", min_size=1, max_size=3),
)


def test_add_namespaces_recursive_skipping_reserved() -> None:
    entity = {"_id": "1", "name": "A", "o": {"k": [{"z": 1}]}, "$x": {"y": 1}, "_ts": 5}
    assert add_namespaces(entity, "i", "p") == {
        "_id": "i:1",
        "p:name": "A",
        "p:o": {"p:k": [{"p:z": 1}]},
        "$x": {"y": 1},
        "_ts": 5,
    }


def test_add_namespaces_not_recursive() -> None:
    config = NamespaceConfig("i", "p", recursive=False)
    assert add_namespaces({"o": {"k": 1}}, "", "", config=config) == {"p:o": {"k": 1}}


def test_remove_namespaces() -> None:
    entity = {
        "_id": "crm-person:100",
        "crm-person:manager": NI("crm-person", "101"),
        "crm-person:o": {"crm-person:k": [NI("x", "1"), 2]},
        "$ids": [NI("crm-person", "100")],
    }
    assert remove_namespaces(entity) == {
        "_id": "100",
        "manager": "101",
        "o": {"k": ["1", 2]},
        "$ids": ["100"],
    }


def test_remove_namespaces_collision_later_wins() -> None:
    assert remove_namespaces({"a:name": 1, "b:name": 2}) == {"name": 2}


@settings(max_examples=100)
@given(entities)
def test_remove_undoes_add(entity: dict[str, Any]) -> None:
    assert remove_namespaces(add_namespaces(entity, "crm", "crm")) == entity


def test_qualify() -> None:
    assert [qualify(n, "p") for n in ["a", "::a", ":a", "x:a", "_id", "$ids"]] == [
        "p:a",
        "a",
        "p:a",
        "x:a",
        "_id",
        "$ids",
    ]


def test_walk_namespace_union_is_distinct_and_flat() -> None:
    ctx = RunContext(pipe_id="p", namespaced_identifiers=True)
    entity = {"a:v": [1, 2], "b:v": 2, "c:v": None, "v": 3, "x:w": 9}
    assert walk(entity, ["v"], ctx) == [1, 2, 3]
    assert walk(entity, ["a:v"], ctx) == [1, 2]
    assert walk([entity, {"q:v": 4}], ["v"], ctx) == [1, 2, 3, 4]
