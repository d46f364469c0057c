"""A malformed survivorship transform is a ConfigError naming the file and the JSON path."""

from __future__ import annotations

from typing import Any

import pytest
from survivorship_support import global_pipe

from engine.config.pipes import TransformConfig, parse_pipe
from engine.errors import ConfigError, JsonPath
from engine.store import Store
from engine.survivorship import build_survivorship, parse_survivorship

FILE = "pipes/global-person.json"


def build_error(store: Store, transform: dict[str, Any]) -> ConfigError:
    """Build a survivorship transform from a hand-made block (bypassing pipe validation)."""
    pipe = global_pipe({"properties": {"name": "*:name"}})
    block = TransformConfig(
        "survivorship", {"type": "survivorship", **transform}, JsonPath() / "transform" / 0
    )
    with pytest.raises(ConfigError) as caught:
        build_survivorship(store, block, pipe)
    error = caught.value
    assert error.file == FILE
    return error


def test_unknown_key_names_its_path(store: Store) -> None:
    error = build_error(store, {"properties": {"name": "*:name"}, "priorty": ["crm"]})
    assert str(error.path) == "$.transform[0].priorty"
    assert "did you mean 'priority'" in str(error)


def test_unknown_key_is_caught_by_pipe_validation_too() -> None:
    raw = {
        "_id": "global-person",
        "source": {"type": "merge", "datasets": ["a a"]},
        "transform": [{"type": "survivorship", "properties": {"n": "*:n"}, "members_of": {}}],
    }
    with pytest.raises(ConfigError) as caught:
        parse_pipe(raw, file=FILE)
    assert str(caught.value.path) == "$.transform[0].members_of"


@pytest.mark.parametrize(
    ("transform", "path", "words"),
    [
        ({"properties": {"n": "*:n"}, "priority": "crm"}, "$.transform[0].priority", "a list"),
        ({"properties": {"n": "*:n"}, "priority": ["crm", 3]}, "$.transform[0].priority", "list"),
        ({}, "$.transform[0].properties", "expected an object"),
        ({"properties": []}, "$.transform[0].properties", "expected an object"),
        ({"properties": {"n": []}}, "$.transform[0].properties.n", "non-empty list"),
        ({"properties": {"n": 5}}, "$.transform[0].properties.n", "found 5"),
        ({"properties": {"n": ["a:n", 5]}}, "$.transform[0].properties.n[1]", "key string"),
        ({"properties": {"n": "crm-*:n"}}, "$.transform[0].properties.n", "whole namespace"),
        ({"properties": {"n": ["*:"]}}, "$.transform[0].properties.n[0]", "whole namespace"),
        ({"properties": {"_id": "*:id"}}, "$.transform[0].properties._id", "start with '_'"),
        ({"properties": {"$claims": "*:c"}}, "$.transform[0].properties.$claims", "claims"),
        ({"properties": {"n": "*:n"}, "members": ["crm"]}, "$.transform[0].members", "object"),
        ({"properties": {"n": "*:n"}, "members": {"crm": 1}}, "$.transform[0].members", "object"),
        ({"properties": {"n": "*:n"}, "empty_values": ""}, "$.transform[0].empty_values", "list"),
        (
            {"properties": {"n": "*:n"}, "claims_property": "_c"},
            "$.transform[0].claims_property",
            "'_'",
        ),
    ],
)
def test_bad_settings_are_config_errors(
    store: Store, transform: dict[str, Any], path: str, words: str
) -> None:
    error = build_error(store, transform)
    assert str(error.path) == path
    assert words in error.message


def test_a_valid_config_is_parsed_into_settings() -> None:
    pipe = global_pipe(
        {
            "properties": {"name": ["crm:full_name", "*:name"], "email": "*:email"},
            "priority": ["erp-person", "crm"],
            "empty_values": [None, "", "~t2000-01-01"],
        }
    )
    config = parse_survivorship(pipe.transforms[0], file=pipe.file)
    assert [golden for golden, _ in config.properties] == ["name", "email"]
    assert [(s.key, s.pattern) for s in config.properties[0][1]] == [
        ("crm:full_name", False),
        ("name", True),
    ]
    assert config.priority == ("erp-person", "crm")
    assert config.empty_values == {"null", '""', '"~t2000-01-01"'}  # transit strings are typed
    assert config.claims_property == "$claims"


def test_wrong_transform_type_is_refused(store: Store) -> None:
    pipe = global_pipe({"properties": {"name": "*:name"}})
    block = TransformConfig("dtl", {"type": "dtl", "rules": {}}, JsonPath() / "transform" / 0)
    with pytest.raises(ConfigError) as caught:
        build_survivorship(store, block, pipe)
    assert str(caught.value.path) == "$.transform[0].type"
