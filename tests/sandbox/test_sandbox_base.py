"""The shared base: record store persistence (snapshot + journal), clock, ids, validation."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.sandbox.base import (
    Field,
    FieldError,
    Request,
    Response,
    SandboxSystem,
    validate_fields,
    wave_id,
)


class Toy(SandboxSystem):
    """A minimal system: the base store with no API."""

    system_id: ClassVar[str] = "toy"
    resources: ClassVar[tuple[str, ...]] = ("things",)

    def handle(self, req: Request) -> Response:
        return Response(200, self.records("things"))

    def credentials(self) -> dict[str, Any]:
        return {}


def test_wave_ids_are_opaque_base64() -> None:
    assert base64.b64decode(wave_id("Customer", 123)).decode() == "Business:1;Customer:123"
    assert base64.b64decode(wave_id("Business", 7, business=7)).decode() == "Business:7"


def test_tick_is_strictly_increasing_under_a_frozen_clock() -> None:
    frozen = datetime(2024, 1, 1, tzinfo=UTC)
    toy = Toy(None, clock=lambda: frozen)
    ticks = [toy.tick() for _ in range(5)]
    assert ticks == sorted(ticks) and len(set(ticks)) == 5 and ticks[0] == frozen


def test_journal_replays_after_restart_and_skips_a_torn_line(tmp_path: Path) -> None:
    toy = Toy(tmp_path)
    for i in range(5):
        toy.put("things", {"id": toy.new_id("things"), "n": i})
    toy.remove("things", 2)
    journal = tmp_path / "toy" / "things.journal"
    assert journal.exists() and (tmp_path / "toy" / "things.json").exists()
    with open(journal, "a", encoding="utf-8") as fh:
        fh.write('{"put": {"id": 99, "n"')  # a crash in the middle of an append
    again = Toy(tmp_path)
    assert [r["id"] for r in again.records("things")] == [1, 3, 4, 5]
    assert again.new_id("things") == 6


def test_journal_is_compacted_into_the_snapshot(tmp_path: Path) -> None:
    toy = Toy(tmp_path)
    for i in range(450):
        toy.put("things", {"id": i + 1, "n": i})
    journal = tmp_path / "toy" / "things.journal"
    assert len(journal.read_text().splitlines()) < 250  # folded at least once
    assert len(Toy(tmp_path).records("things")) == 450


def test_reset_forgets_records_counters_and_files(tmp_path: Path) -> None:
    toy = Toy(tmp_path)
    toy.load_records("things", [{"n": 1}, {"n": 2}])
    assert [r["id"] for r in toy.records("things")] == [1, 2]
    toy.reset()
    assert Toy(tmp_path).records("things") == [] and toy.new_id("things") == 1
    with pytest.raises(KeyError, match="known"):
        toy.records("nope")


FIELDS = {"id": Field("any", read_only=True), "name": Field("str", required=True),
          "price": Field("money"), "kind": Field("str", choices=("a", "b")),
          "day": Field("date"), "cur": Field("currency"), "code": Field("str")}


def test_validate_fields_rules() -> None:
    assert validate_fields(FIELDS, {"name": "x", "id": 5, "price": "12.50"}, {},
                           create=True) == {"name": "x", "price": "12.50"}
    for body, field in (({}, "name"), ({"name": "x", "bogus": 1}, "bogus"),
                        ({"name": "x", "price": "abc"}, "price"),
                        ({"name": "x", "kind": "c"}, "kind"),
                        ({"name": "x", "day": "2024-13-01"}, "day"),
                        ({"name": "x", "cur": "kroner"}, "cur")):
        with pytest.raises(FieldError) as err:
            validate_fields(FIELDS, body, {}, create=True)
        assert err.value.field == field
    with pytest.raises(FieldError):
        validate_fields(FIELDS, {"name": None}, {"name": "x"}, create=False)
    assert validate_fields(FIELDS, {"code": "A"}, {"code": "A"}, create=False,
                           create_only=("code",)) == {}
    with pytest.raises(FieldError, match="cannot be changed"):
        validate_fields(FIELDS, {"code": "B"}, {"code": "A"}, create=False, create_only=("code",))


@settings(max_examples=50, deadline=None)
@given(body=st.dictionaries(st.sampled_from(sorted(FIELDS)),
                            st.one_of(st.none(), st.text(max_size=5), st.integers())))
def test_validate_never_lets_read_only_or_unchecked_values_through(body: dict[str, Any]) -> None:
    try:
        out = validate_fields(FIELDS, body, {"name": "x"}, create=False)
    except FieldError as e:
        assert e.field in body
        return
    assert "id" not in out and set(out) <= set(body)
    for name, value in out.items():
        if value is not None and FIELDS[name].kind in ("str", "date"):
            assert isinstance(value, str)
