"""``strip``, ``replace``, ``ni``, ``integer``, ``decimal``, ``boolean``, ``is-empty``: SQL equals
the interpreter.

Values are drawn to hit each function's edges: every Unicode whitespace at either end, digit
strings with signs, zeros, underscores, spaces and non-ASCII digits, ``TRUE``/``fAlse``, typed
values (decimals, datetimes, NIs), ``~``-strings, lists and nulls, and compositions of the
functions (as the enrich pipes nest them).
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.sqlc.functions import WHITESPACE
from tests.sqlc.support import both, refusal_of
from tests.sqlc.test_differential import values

edge_strings = st.one_of(
    st.tuples(
        st.text(alphabet=WHITESPACE, max_size=2),
        st.sampled_from(["", "a b", "~x", "é", "NO 123 MVA", "\x00", "a\u0301"]),
        st.text(alphabet=WHITESPACE, max_size=2),
    ).map("".join),
    st.sampled_from(
        [
            *["007", "-0", "+12", " 7", "1_000", "٣", "12345678901234567890", "0x1f", "1.5"],
            *["1e3", "-0.0", "1.50", "5.", ".5", "0.000001", "-12.340"],
        ]
    ),
    st.sampled_from(["true", "TRUE", "fAlse", "yes", "", "~true"]),
)
inputs = st.one_of(edge_strings, values, st.lists(edge_strings, max_size=2))

FUNCTIONS: list[Any] = [
    lambda e: ["strip", e],
    lambda e: ["replace", " ", "", e],
    lambda e: ["replace", "NO", "~", ["upper", e]],
    lambda e: ["ni", "crm-x", e],
    lambda e: ["ni", "", ["strip", e]],
    lambda e: ["integer", e],
    lambda e: ["integer", ["strip", e]],
    lambda e: ["boolean", e],
    lambda e: ["decimal", e],
    lambda e: ["decimal", ["strip", e]],
    lambda e: ["join", " ", ["list", e, "_S.w", ["strip", e]]],
    lambda e: ["join", "-", e],
    lambda e: ["is-empty", e],
    lambda e: ["concat", ["strip", e], "!"],
    lambda e: ["lower", ["strip", e]],
]


@settings(max_examples=150, deadline=None)
@given(
    data=st.lists(inputs, min_size=1, max_size=4),
    function=st.sampled_from(range(len(FUNCTIONS))),
    namespaced=st.booleans(),
)
def test_functions_agree(data: list[Any], function: int, namespaced: bool) -> None:
    rules: list[Any] = [
        ["add", "_id", "_S._id"],
        ["add", "out", FUNCTIONS[function]("_S.v")],
        ["add", "k", FUNCTIONS[function]("x")],
    ]
    entities = [{"_id": f"e{i}", "v": v, "w": data[0]} for i, v in enumerate(data)]
    sql, interpreted = both(rules, entities, namespaced_identifiers=namespaced)
    assert sql.error == interpreted.error
    assert sql.bodies == interpreted.bodies


def test_common_values_stay_on_the_sql_path() -> None:
    rules: list[Any] = [
        ["add", "_id", "_S._id"],
        ["add", "s", ["strip", "_S.s"]],
        ["add", "o", ["replace", "MVA", "", ["replace", " ", "", ["upper", "_S.s"]]]],
        ["add", "n", ["ni", "erp-customer", ["string", "_S.c"]]],
        ["add", "i", ["integer", "_S.d"]],
        ["add", "b", ["boolean", "_S.b"]],
        ["filter", ["not", ["is-empty", "_S.s"]]],
    ]
    data: list[dict[str, Any]] = [
        {"_id": "1", "s": "  no 1 mva\t", "c": 7, "d": "30", "b": "TRUE"},
        {"_id": "2", "s": "x", "c": "k", "d": 14, "b": False},
        {"_id": "3", "c": None, "d": None},
    ]
    sql, interpreted = both(rules, data)
    assert sql.bodies == interpreted.bodies
    assert sql.filtered == interpreted.filtered == ["3"]
    assert '"o":"NO1\\t"' in sql.bodies[0] and '"n":"~:erp-customer:7"' in sql.bodies[0]
    assert sql.interpreted == 0


def test_forms_outside_the_subset_are_refused() -> None:
    assert "CHARACTERS" in refusal_of([["add", "x", ["strip", "ab", "_S.v"]]]).reason
    assert "MAPPING" in refusal_of([["add", "x", ["replace", {"a": "b"}, "_S.v"]]]).reason
    assert "empty" in refusal_of([["add", "x", ["replace", "", "-", "_S.v"]]]).reason
    assert "constant" in refusal_of([["add", "x", ["replace", "_S.a", "-", "_S.v"]]]).reason
    assert "NAMESPACE" in refusal_of([["add", "x", ["ni", "_S.v"]]]).reason
    assert "DEFAULT" in refusal_of([["add", "x", ["integer", 0, "_S.v"]]]).reason
