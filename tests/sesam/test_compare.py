"""sesam-py's normalisation and comparison rules (pure)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from engine.entity import NI
from engine.errors import ConfigError
from engine.sesam.compare import (
    compare_bytes,
    compare_entities,
    filter_entity,
    fix_decimal_ints,
    is_path_blacklisted,
)
from engine.sesam.specs import TestSpec, parse_spec


def spec(**kw: object) -> TestSpec:
    return parse_spec(kw, name="p", file="expected/p.test.json")


def test_underscore_keys_are_dropped_except_id_and_deleted_true() -> None:
    entity = {"_id": "1", "_updated": 3, "_deleted": False, "a": {"_ts": 1, "b": 2}}
    assert filter_entity(entity, spec()) == {"_id": "1", "a": {"b": 2}}
    assert filter_entity({"_id": "1", "_deleted": True}, spec()) == {"_id": "1", "_deleted": True}


@pytest.mark.parametrize(
    ("path", "pattern", "hit"),
    [
        (["a", "b"], "a.b", True),
        (["a", "b"], "a.*", True),
        (["lines", "sku"], "lines[].sku", True),
        (["lines", "x", "sku"], "lines[].sku", True),
        (["lines", "qty"], "lines[].sku", False),
        (["ns:name"], "ns:*", True),
        (["a"], "b", False),
    ],
)
def test_blacklist_paths(path: list[str], pattern: str, hit: bool) -> None:
    assert is_path_blacklisted(path, [pattern]) is hit


def test_blacklist_reaches_into_lists() -> None:
    entity = {"_id": "1", "lines": [{"sku": "A", "ts": 1}], "address": {"city": "O", "at": 2}}
    out = filter_entity(entity, spec(blacklist=["lines[].ts", "address.at"]))
    assert out == {"_id": "1", "lines": [{"sku": "A"}], "address": {"city": "O"}}


def test_whitelist_keeps_only_the_listed_paths() -> None:
    entity = {"_id": "1", "a": 1, "b": {"c": 2, "d": 3}, "e": 4}
    assert filter_entity(entity, spec(whitelist=["a", "b.c"])) == {
        "_id": "1",
        "a": 1,
        "b": {"c": 2},
    }


def test_numbers_ending_in_point_zero_are_ints() -> None:
    assert fix_decimal_ints([1.0, 1.5, "2.0", {"x": 3.0}]) == [1, 1.5, "2.0", {"x": 3}]


def test_typed_values_compare_as_transit_text() -> None:
    current = [
        {
            "_id": "1",
            "at": dt.datetime(2024, 1, 2, tzinfo=dt.UTC),
            "ref": NI("crm", "7"),
            "price": Decimal("1.50"),
            "n": 2.0,
        }
    ]
    expected = [
        {"_id": "1", "at": "~t2024-01-02T00:00:00Z", "ref": "~:crm:7", "price": "~f1.50", "n": 2}
    ]
    assert compare_entities(expected, current, spec()).ok


def test_ignore_deletes_drops_only_unexpected_deletes() -> None:
    current = [{"_id": "1", "_deleted": True}, {"_id": "2", "_deleted": True}, {"_id": "3"}]
    expected = [{"_id": "2", "_deleted": True}, {"_id": "3"}]
    assert compare_entities(expected, current, spec()).ok
    strict = compare_entities(expected, current, spec(ignore_deletes=False))
    assert not strict.ok and strict.unexpected == ("1",)


def test_order_does_not_matter_and_fields_to_sort_by_is_accepted() -> None:
    current = [{"_id": "b", "name": "A"}, {"_id": "a", "name": "B"}]
    expected = list(reversed(current))
    assert compare_entities(expected, current, spec(fields_to_sort_by=["name"])).ok


def test_mismatch_names_missing_unexpected_and_changed_ids() -> None:
    current = [{"_id": "1", "v": 1}, {"_id": "2", "v": 2}]
    expected = [{"_id": "1", "v": 9}, {"_id": "3", "v": 3}]
    result = compare_entities(expected, current, spec())
    assert not result.ok
    assert (result.missing, result.unexpected, result.changed) == (("3",), ("2",), ("1",))
    assert "--- expected/p.json" in result.diff and '-    "v": 9' in result.diff


def test_bytes_compare_exactly() -> None:
    assert compare_bytes(b"a,b\n", b"a,b\n", spec()).ok
    result = compare_bytes(b"a,b\n1,2\n", b"a,b\n1,3\n", spec())
    assert not result.ok and "-1,2" in result.diff and "+1,3" in result.diff


def test_spec_defaults_follow_sesam_py() -> None:
    s = parse_spec({}, name="sub/out-pipe", file="expected/sub/out-pipe.test.json")
    assert (s.pipe, s.file, s.endpoint, s.ignore_deletes) == (
        "out-pipe",
        "sub/out-pipe.json",
        "json",
        True,
    )
    assert s.fields_to_sort_by == ("_id",)


@pytest.mark.parametrize(
    ("raw", "path", "words"),
    [
        ({"blacklsit": []}, "$.blacklsit", "did you mean 'blacklist'"),
        ({"endpoint": "xml"}, "$.endpoint", "not supported"),
        ({"stage": "middle"}, "$.stage", "expected one of"),
        ({"ignore_deletes": "yes"}, "$.ignore_deletes", "true or false"),
    ],
)
def test_bad_specs_name_the_file_and_path(raw: dict[str, object], path: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_spec(raw, name="p", file="expected/p.test.json")
    assert info.value.file == "expected/p.test.json"
    assert str(info.value.path) == path
    assert words in str(info.value)
