"""``split``, ``slice``, ``first``, ``join`` over splits, ``substring`` and ``datetime-format``:
SQL equals the interpreter.

Values are drawn to hit each function's edges: separators at either end and doubled, every
Unicode whitespace (``split`` without a separator), combining marks and astral code points
(code points, not bytes or graphemes), ``~``-strings, negative and out-of-range bounds, typed
values (datetimes of any year with and without microseconds, dates, decimals, NIs), lists and
nulls, composed as the enrich pipes nest them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.sqlc.functions import WHITESPACE
from tests.sqlc.support import both, plan_of, refusal_of
from tests.sqlc.test_differential import values

names = st.one_of(
    st.lists(
        st.one_of(
            st.sampled_from(["Ola", "", "Åse", "~x", "e\u0301", "🇳🇴", "a-b", "ß", "~"]),
            st.text(max_size=3),
        ),
        max_size=4,
    ).flatmap(
        lambda parts: st.sampled_from([" ", "  ", "-", "--", "\u3000", "\t"]).map(
            lambda sep: sep.join(parts)
        )
    ),
    st.text(alphabet=WHITESPACE + "ab~", max_size=5),
)
stamps = st.one_of(
    st.datetimes(
        min_value=dt.datetime(1, 1, 1),
        max_value=dt.datetime(9999, 12, 31, 23, 59, 59),
        timezones=st.just(dt.UTC),
    ),
    st.datetimes(timezones=st.just(dt.UTC)).map(lambda d: d.replace(microsecond=0)),
    st.dates(),
)
inputs = st.one_of(names, stamps, values, st.lists(st.one_of(names, stamps), max_size=2))
bounds = st.integers(min_value=-7, max_value=7)
formats = st.sampled_from(
    [
        "%Y-%m-%d",
        "%d.%m.%y %H:%M:%S",
        "%e/%m %I%p",
        "%Y%m%dT%H%M%S.%f%z",
        "~%%Y %",
        "tid: %H",
        "",
        "%S%f%%",
    ]
)


def functions(start: int, end: int, fmt: str) -> list[Any]:
    return [
        lambda e: ["split", " ", e],
        lambda e: ["split", "-", ["strip", e]],
        lambda e: ["split", e],
        lambda e: ["split", "", e],
        lambda e: ["first", ["split", " ", ["strip", e]]],
        lambda e: ["join", " ", ["slice", 1, ["split", " ", ["strip", e]]]],
        lambda e: ["join", "+", ["slice", start, end, ["split", e]]],
        lambda e: ["slice", start, ["split", "-", e]],
        lambda e: ["slice", start, None, 1, ["split", "", e]],
        lambda e: ["first", ["slice", start, end, ["split", " ", e]]],
        lambda e: ["first", e],
        lambda e: ["first", ["upper", e]],
        lambda e: ["first", ["list", e, "x"]],
        lambda e: ["first", ["list"]],
        lambda e: ["join", "-", ["split", "--", e]],
        lambda e: ["substring", start, e],
        lambda e: ["substring", start, end, e],
        lambda e: ["substring", 0, 10, ["string", e]],
        lambda e: ["substring", start, None, ["strip", e]],
        lambda e: ["datetime-format", fmt, e],
        lambda e: ["datetime-format", "UTC", fmt, e],
        lambda e: ["concat", ["datetime-format", fmt, e], "!"],
    ]


FUNCTION_COUNT = len(functions(0, 0, ""))


@settings(max_examples=250, deadline=None)
@given(
    data=st.lists(inputs, min_size=1, max_size=4),
    function=st.sampled_from(range(FUNCTION_COUNT)),
    start=bounds,
    end=bounds,
    fmt=formats,
    namespaced=st.booleans(),
)
def test_functions_agree(
    data: list[Any], function: int, start: int, end: int, fmt: str, namespaced: bool
) -> None:
    make = functions(start, end, fmt)[function]
    rules: list[Any] = [
        ["add", "_id", "_S._id"],
        ["add", "out", make("_S.v")],
        ["add", "k", make("a  b-c")],
    ]
    entities = [{"_id": f"e{i}", "v": v} for i, v in enumerate(data)]
    sql, interpreted = both(rules, entities, namespaced_identifiers=namespaced)
    assert sql.error == interpreted.error
    assert sql.bodies == interpreted.bodies


def test_common_values_stay_on_the_sql_path() -> None:
    rules: list[Any] = [
        ["add", "_id", "_S._id"],
        ["add", "first", ["first", ["split", " ", ["strip", "_S.name"]]]],
        ["add", "last", ["join", " ", ["slice", 1, ["split", " ", ["strip", "_S.name"]]]]],
        ["add", "day", ["substring", 0, 10, ["string", "_S.at"]]],
        ["add", "date", ["datetime-format", "%d.%m.%Y %H:%M", "_S.at"]],
    ]
    data: list[dict[str, Any]] = [
        {
            "_id": "1",
            "name": " Kari Anne  Nordmann ",
            "at": dt.datetime(2024, 5, 1, 10, 7, tzinfo=dt.UTC),
        },
        {"_id": "2", "name": "Cher", "at": dt.date(2020, 2, 29)},
        {"_id": "3", "name": None, "at": "2024-05-01T10:00:00Z"},
    ]
    sql, interpreted = both(rules, data)
    assert sql.bodies == interpreted.bodies
    assert sql.bodies[0] == (
        '{"_deleted":false,"_id":"1","date":"01.05.2024 10:07","day":"2024-05-01","first":"Kari",'
        '"last":"Anne  Nordmann"}'
    )
    assert '"first":null,"last":""' in sql.bodies[2] and '"date":null' in sql.bodies[2]
    assert sql.interpreted == 0
    assert "string_split" in plan_of(rules).sql


def test_lists_and_rare_values_go_to_the_interpreter() -> None:
    rules: list[Any] = [
        ["add", "_id", "_S._id"],
        ["add", "first", ["first", ["split", " ", "_S.name"]]],
        ["add", "date", ["datetime-format", "%Y", "_S.at"]],
    ]
    data: list[dict[str, Any]] = [
        {"_id": "1", "name": ["a b", "c"], "at": None},
        {"_id": "2", "name": "a b", "at": [dt.date(2020, 1, 1)]},
        {"_id": "3", "name": "a b", "at": dt.date(2020, 1, 1)},
    ]
    sql, interpreted = both(rules, data)
    assert sql.bodies == interpreted.bodies
    assert sql.interpreted == 2


def test_forms_outside_the_subset_are_refused() -> None:
    assert "STRIDE" in refusal_of([["add", "x", ["slice", 0, 4, 2, ["split", "_S.v"]]]]).reason
    assert "over split" in refusal_of([["add", "x", ["slice", 1, "_S.v"]]]).reason
    assert "START" in refusal_of([["add", "x", ["slice", "_S.n", ["split", "_S.v"]]]]).reason
    assert "SEPARATOR" in refusal_of([["add", "x", ["split", "_S.s", "_S.v"]]]).reason
    assert "END" in refusal_of([["add", "x", ["substring", 0, "_S.n", "_S.v"]]]).reason
    assert "START" in refusal_of([["add", "x", ["substring", True, "_S.v"]]]).reason
    assert "%A" in refusal_of([["add", "x", ["datetime-format", "%A", "_S.v"]]]).reason
    oslo = ["datetime-format", "Europe/Oslo", "%Y", "_S.v"]
    assert "TIMEZONE" in refusal_of([["add", "x", oslo]]).reason
    assert "FORMAT" in refusal_of([["add", "x", ["datetime-format", "_S.f", "_S.v"]]]).reason
