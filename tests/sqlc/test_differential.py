"""The SQL path and the interpreter agree on generated entities and generated rules.

Entities mix unicode and escape-heavy strings, ``~``-strings, big ints, floats of every
magnitude, booleans, nulls, typed values (decimals, datetimes, NIs), nested dicts and lists.
Rules are drawn from the compiled subset. Outputs are compared as the exact body text (so
md5 / change detection agree), in order, with the filtered ids; errors must agree in kind.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.entity import NI
from tests.sqlc.support import both

KEYS = ["a", "b", "c", "name", "~k", "é", "", 'q"', "$ids"]
PATH_KEYS = ["a", "b", "c", "name"]

text = st.one_of(
    st.text(max_size=6),
    st.sampled_from(
        ["", "x", "~x", "~~", "~t2020", "ß", "Σ", 'q"', "b\\s", "\u2028", "1e5", "a b", "c\x0bd"]
    ),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.integers(min_value=-5, max_value=600),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.5, 1.0, 1e16, 1e-5, -0.0, 123.25]),
    text,
    st.sampled_from(
        [
            Decimal("1.50"),
            Decimal("7"),
            dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
            dt.date(2020, 2, 29),
            NI("crm", "7"),
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=3),
    ),
    max_leaves=6,
)


@st.composite
def entities(draw: st.DrawFn) -> list[dict[str, Any]]:
    n = draw(st.integers(min_value=1, max_value=6))
    out = []
    for i in range(n):
        entity: dict[str, Any] = {"_id": draw(st.sampled_from([f"e{i}", f"~e{i}", f"é{i}"]))}
        entity.update(draw(st.dictionaries(st.sampled_from(KEYS), values, max_size=4)))
        if draw(st.booleans()):
            entity["_deleted"] = draw(st.booleans())
        out.append(entity)
    return out


def source_path() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(PATH_KEYS).map(lambda k: f"_S.{k}"),
        st.tuples(st.sampled_from(PATH_KEYS), st.sampled_from(PATH_KEYS)).map(
            lambda p: f"_S.{p[0]}.{p[1]}"
        ),
        st.sampled_from(["_S._id", "_S._deleted", "_T.a", "_T.name", "_T._id"]),
    )


literals = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=600),
    st.sampled_from(["x", "", "~x", "deleted", 1.5, "~t2024-01-02T03:04:05Z", "~f1.50"]),
)


def expressions() -> st.SearchStrategy[Any]:
    leaves = st.one_of(source_path(), literals)

    def extend(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        one = st.sampled_from(["upper", "lower", "string", "not", "is-null", "is-not-null"])
        two = st.sampled_from(
            ["concat", "eq", "neq", "gt", "lt", "gte", "and", "or", "if-null", "coalesce-args"]
        )
        return st.one_of(
            st.tuples(one, inner).map(list),
            st.tuples(two, inner, inner).map(list),
            st.tuples(st.just("if"), inner, inner, inner).map(list),
            st.tuples(st.just("case"), inner, inner, inner).map(list),
            st.tuples(inner, inner).map(lambda p: ["coalesce", ["list", p[0], p[1]]]),
            st.tuples(inner, inner).map(lambda p: ["list", p[0], p[1]]),
            inner.map(lambda e: ["coalesce", e]),
        )

    return st.recursive(leaves, extend, max_leaves=4)


patterns = st.one_of(
    st.sampled_from(["*", "a", "b*", "?", "n*e", "_id", "~k", "é"]),
    st.just(["list", "a", "c*"]),
)


def transforms() -> st.SearchStrategy[Any]:
    key = st.sampled_from(["a", "b", "name", "out", "_id", "_deleted"])
    simple = st.one_of(
        st.tuples(st.just("copy"), patterns).map(list),
        st.tuples(st.just("copy"), patterns, patterns).map(list),
        st.tuples(st.just("rename"), st.sampled_from([*PATH_KEYS, "~k", "é"]), key).map(list),
        st.tuples(st.just("add"), key, expressions()).map(list),
        st.tuples(st.just("default"), key, expressions()).map(list),
        st.tuples(st.just("remove"), patterns).map(list),
        st.tuples(st.sampled_from(["filter", "discard"]), expressions()).map(list),
    )
    branch = st.tuples(
        st.just("if"), expressions(), st.lists(simple, max_size=2), st.lists(simple, max_size=2)
    ).map(list)
    return st.one_of(simple, simple, branch)


@st.composite
def rule_lists(draw: st.DrawFn) -> list[Any]:
    head = draw(st.sampled_from([[["copy", "_id"]], [["copy", "*"]], []]))
    body = draw(st.lists(transforms(), max_size=5))
    return [*head, *body]


@settings(max_examples=80, deadline=None)
@given(rules=rule_lists(), data=entities(), sample=st.sampled_from([20_000, 1, 2]))
def test_sql_and_interpreter_agree(
    rules: list[Any], data: list[dict[str, Any]], sample: int
) -> None:
    """``sample`` 1 or 2 makes wildcard copies discover keys from a sample (length-checked)."""
    sql, interpreted = both(rules, data, sample_rows=sample)
    assert sql.error == interpreted.error
    assert sql.bodies == interpreted.bodies
    assert sql.filtered == interpreted.filtered


@settings(max_examples=60, deadline=None)
@given(data=entities(), value=values)
def test_copied_values_are_byte_identical(data: list[dict[str, Any]], value: Any) -> None:
    for entity in data:
        entity["v"] = value
    sql, interpreted = both([["copy", "*"], ["add", "w", "_S.v"], ["rename", "a", "z"]], data)
    assert sql.error == interpreted.error
    assert sql.bodies == interpreted.bodies


stamps = st.one_of(
    st.tuples(
        st.integers(0, 10000),
        st.integers(0, 13),
        st.integers(0, 32),
        st.integers(0, 25),
        st.integers(0, 61),
        st.integers(0, 61),
        st.sampled_from(["{:04d}-{}-{:02d} {}:{:02d}:{}", "{}-{:02d}-{} {:02d}:{}:{:02d}"]),
    ).map(lambda t: t[6].format(*t[:6])),
    st.sampled_from(["2024-02-29 00:00:00", "2023-02-29 1:2:3", "0001-1-1 0:0:0", " 2024-01-01"]),
    text,
)


@settings(max_examples=60, deadline=None)
@given(stamp=stamps, fmt=st.sampled_from(["%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%d.%m.%Y T%H%%"]))
def test_datetime_parse_agrees(stamp: str, fmt: str) -> None:
    other = stamp.replace("-", ".", 2) if fmt.startswith("%d") else stamp
    data: list[dict[str, Any]] = [
        {"_id": "1", "t": stamp},
        {"_id": "2", "t": other},
        {"_id": "3", "t": ["x"]},
    ]
    rules = [["copy", "_id"], ["add", "p", ["datetime-parse", fmt, "_S.t"]]]
    sql, interpreted = both(rules, data)
    assert sql.error == interpreted.error
    assert sql.bodies == interpreted.bodies


def test_escapes_from_constants_and_sources_are_python_spelled() -> None:
    # A control character DuckDB writes itself (upper-case \u00XX) comes either from a source
    # value (the source check flags it) or from a constant (the query then checks the output).
    data = [{"_id": "e0", "a": "x\x1fy", "b": "ok"}, {"_id": "e1", "a": "plain", "b": 1.5e-07}]
    for rules in (
        [["copy", "*"], ["add", "c", ["concat", "_S.a", "!"]]],
        [["copy", "*"], ["add", "c", ["concat", "_S.b", "\x0b"]]],
        [["copy", "_id"], ["add", "c", ["upper", "_S.a"]]],
    ):
        sql, interpreted = both(rules, data)
        assert sql.error == interpreted.error
        assert sql.bodies == interpreted.bodies
