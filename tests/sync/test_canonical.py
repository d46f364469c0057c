"""engine.canonical: same value in another spelling is equal; a real change is not."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from engine.canonical import differences, equivalent, parse_moment, payload_hash, to_plain
from engine.entity import NI

SAME: list[tuple[str, Any, Any]] = [
    ("name", " Acme AS ", "Acme AS"),
    ("email", "Ann@Example.COM", "ann@example.com"),
    ("contact", "Ann@Example.COM", "ann@example.com"),  # looks like an e-mail
    ("currency", "usd", "USD"),
    ("countryCode", "no", "NO"),
    ("price", "10.00", 10),
    ("price", 2.5, "2.50"),
    ("price", Decimal("19.999"), 20),
    ("quantity", "1.2345", 1.2345),
    ("date", "2024-01-05", 1704412800),
    ("date", "2024-01-05", "2024-01-05T23:59:59Z"),
    ("date", dt.date(2024, 1, 5), 1704412800),
    ("due", "2024-01-05T10:00:00+00:00", dt.datetime(2024, 1, 5, 1, tzinfo=dt.UTC)),
    ("notes", None, ""),
    ("tags", [], None),
    (
        "address",
        {"city": "Oslo", "countryCode": "no"},
        {"city": "Oslo ", "countryCode": "NO", "postalCode": "0150"},
    ),
    (
        "items",
        [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}],
        [{"sku": "b", "qty": "2", "id": 9}, {"sku": "a", "qty": 1.0, "id": 8}],
    ),
    ("flag", True, True),
]
DIFFERENT: list[tuple[str, Any, Any]] = [
    ("name", "Acme", "acme"),  # case matters outside e-mail/currency/country
    ("price", "10.00", "10.01"),
    ("quantity", "1.23456", "1.2345"),
    ("date", "2024-01-05", "2024-01-06"),
    ("date", 1, "2024-01-01"),  # a small number is not a timestamp
    ("notes", "x", None),
    ("flag", True, "true"),
    ("flag", True, 1),
    ("items", [{"sku": "a"}], [{"sku": "a"}, {"sku": "b"}]),
    ("items", [{"sku": "a", "qty": 1}], [{"sku": "a", "qty": 2}]),
    ("address", {"city": "Oslo"}, "Oslo"),
]


@pytest.mark.parametrize(("key", "payload", "target"), SAME)
def test_equivalent_spellings(key: str, payload: Any, target: Any) -> None:
    assert equivalent(payload, target, key)


@pytest.mark.parametrize(("key", "payload", "target"), DIFFERENT)
def test_real_differences(key: str, payload: Any, target: Any) -> None:
    assert not equivalent(payload, target, key)


def test_differences_ignore_fields_the_payload_does_not_send() -> None:
    target = {"name": "A", "email": "a@x.no", "phone": "1"}
    assert differences({"name": "A", "email": "A@X.NO"}, target) == []
    assert differences({"name": "B", "phone": None}, target) == ["name", "phone"]
    assert differences({"name": "B"}, None) == ["name"]


def test_to_plain_spells_typed_values_as_json() -> None:
    value = {
        "d": Decimal("10.50"),
        "i": Decimal("3"),
        "t": dt.datetime(2024, 1, 5, 8, tzinfo=dt.UTC),
        "day": dt.date(2024, 1, 5),
        "ni": NI("crm-person", "7"),
        "list": [Decimal("1.5")],
    }
    assert to_plain(value) == {
        "d": 10.5,
        "i": 3,
        "t": "2024-01-05T08:00:00Z",
        "day": "2024-01-05",
        "ni": "crm-person:7",
        "list": [1.5],
    }
    assert payload_hash({"a": 1, "b": 2}) == payload_hash({"b": 2, "a": Decimal(1)})


@pytest.mark.parametrize(
    "value",
    [
        1704412800,
        1704412800000,
        "2024-01-05T00:00:00Z",
        "2024-01-05T00:00:00.000000Z",
        "2024-01-05T01:00:00+01:00",
        "2024-01-05 00:00:00",
        dt.date(2024, 1, 5),
    ],
)
def test_parse_moment_accepts_the_systems_timestamps(value: Any) -> None:
    assert parse_moment(value) == dt.datetime(2024, 1, 5, tzinfo=dt.UTC)


def test_parse_moment_refuses_other_things() -> None:
    assert parse_moment("soon") is None
    assert parse_moment(True) is None
    assert parse_moment(None) is None
