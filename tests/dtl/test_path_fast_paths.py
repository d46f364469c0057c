"""Differential tests: the compiled fast paths equal the general evaluation they short-cut.

* one-step paths (``_S.a``, ``_.a``, ``_T.a``) and ``_P``/``_R`` paths followed on the Envs
  equal :func:`~engine.dtl.paths.walk` over the variable's value (``_P``'s ``as_dict`` view),
  with and without namespaced identifiers;
* the per-layout memo of unqualified names equals the suffix scan;
* a binary call with one scalar literal equals the same call with both sides from ``_S``;
* ``filter``/``any`` reusing one bound Env per call give the per-element results, also nested.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from engine.dtl import compile_expression, compile_transform
from engine.dtl.env import Env, RunContext
from engine.dtl.paths import matching_keys, walk
from engine.entity import NI

KEYS = ["a", "b", "x:a", "y:a", "$ids", "_id", "_S", "_T", "lines"]
leaf = st.none() | st.integers(-2, 3) | st.sampled_from(["a", "x:1", "", 1.5, True])
value = st.recursive(
    leaf | st.builds(NI, st.sampled_from(["", "x"]), st.sampled_from(["1", "2"])),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner),
    max_leaves=6,
)
entity = st.dictionaries(st.sampled_from(KEYS), value, max_size=6)
contexts = st.sampled_from(
    [
        RunContext(pipe_id="p"),
        RunContext(pipe_id="p", namespaced_identifiers=True),
        RunContext(pipe_id="p", namespaced_identifiers=True, property_namespace="x"),
    ]
)


@st.composite
def envs(draw: st.DrawFn) -> Env:
    """A chain of 0-2 ``apply`` contexts under a root, with ``_`` bound to some value."""
    ctx = draw(contexts)
    env = Env(S=draw(entity), T=draw(entity), ctx=ctx)
    for _ in range(draw(st.integers(0, 2))):
        env = env.child(draw(entity))
        env.T.update(draw(entity))
    return env.bind(draw(value))


STEPS = ["a", "x:a", ":a", "::a", "$ids", "_S", "_T", "_P", "lines"]


@given(
    envs(),
    st.sampled_from(["_S", "_T", "_", "_P", "_R"]),
    st.lists(st.sampled_from(STEPS), min_size=1, max_size=4),
)
def test_compiled_paths_equal_walking_the_variable(
    env: Env, variable: str, steps: list[str]
) -> None:
    roots = {
        "_S": env.S,
        "_T": env.T,
        "_": env.current,
        "_P": env.P.as_dict() if env.P is not None else None,
        "_R": (env.R if env.R is not None else env).as_dict(),
    }
    expected = walk(roots[variable], steps, env.ctx, variable == "_S")
    path = ".".join([variable, *steps]) if variable != "_" else "_." + ".".join(steps)
    assert compile_expression(path)(env) == expected


@given(
    st.dictionaries(st.sampled_from([*KEYS, "z:b", "b:a:a"]), st.integers()),
    st.sampled_from(["a", "b", "lines"]),
)
def test_memoised_key_matches_equal_the_suffix_scan(obj: dict[str, Any], name: str) -> None:
    expected = tuple(k for k in obj if k == name or k.endswith(":" + name))
    assert matching_keys(obj, name) == expected
    assert matching_keys(dict(obj), name) == expected  # served from the memo


literals = st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from([0.5, "a", "b", ""])


@given(
    st.sampled_from(["eq", "neq", "gt", "lte", "-", "/", "+", "in", "concat", "round"]),
    literals,
    value,
    st.booleans(),
)
def test_a_literal_argument_equals_the_same_value_read_from_source(
    name: str, literal: Any, other: Any, literal_first: bool
) -> None:
    source = {"lit": literal, "other": other}
    fast = [name, literal, "_S.other"] if literal_first else [name, "_S.other", literal]
    general = [name, "_S.lit", "_S.other"] if literal_first else [name, "_S.other", "_S.lit"]
    env = Env(S=source, T={}, ctx=RunContext())
    outcomes = []
    for expression in (fast, general):
        try:
            outcomes.append(("ok", compile_expression(expression)(env)))
        except Exception as e:  # the same error either way is part of "equal"
            outcomes.append(("error", type(e).__name__))
    assert outcomes[0] == outcomes[1]


@given(
    st.lists(
        st.fixed_dictionaries(
            {"name": st.sampled_from(["x", "y"]), "v": st.lists(st.integers(0, 2), max_size=3)}
        ),
        max_size=5,
    )
)
def test_filter_with_nested_function_expressions_binds_each_element(
    items: list[dict[str, Any]],
) -> None:
    expression = [
        "filter",
        [
            "and",
            ["any", ["eq", "_.", 1], "_.v"],
            ["eq", "_.name", "x"],
            ["all", ["gte", "_.", 0], "_.v"],
        ],
        "_S.items",
    ]
    env = Env(S={"items": items}, T={}, ctx=RunContext())
    expected = [i for i in items if 1 in i["v"] and i["name"] == "x"]
    assert compile_expression(expression)(env) == expected


def test_filter_inside_apply_reads_the_parent_per_element() -> None:
    rules = {
        "default": [["add", "lines", ["apply", "line", "_S.lines"]]],
        "line": [
            ["add", "id", "_S.id"],
            ["add", "match", ["path", "v", ["filter", ["eq", "_.id", "_S.id"], "_P._S.other"]]],
            ["add", "up", ["filter", ["in", "_.", ["list", "a", "b"]], "_P._P._S.tags"]],
        ],
    }
    source = {
        "_id": "1",
        "lines": [{"id": 1}, {"id": 2}],
        "other": [{"id": 2, "v": "two"}, {"id": 1, "v": "one"}, {"id": 1, "v": "uno"}],
    }
    (out,) = compile_transform(rules).apply(source, RunContext())
    assert out["lines"] == [
        {"id": 1, "match": ["one", "uno"], "up": []},
        {"id": 2, "match": ["two"], "up": []},
    ]
