"""Properties of the DTL compiler and runtime, checked with Hypothesis.

(a) Compiling arbitrary JSON as rules either succeeds or raises a ``DtlError``; nothing else.
(b) Well-formed rules (built from the registry's declared arities over simple leaves) run on
    arbitrary entities either return a list of entities or raise a ``DtlError``.
(c) Every compile error points (``JsonPath.resolve``) at the offending snippet in the rules.
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.dtl import BUILTINS, RunContext, compile_transform, validate_rules
from engine.errors import DtlError

NAMES = BUILTINS.names()
# DTL_PROPERTY_EXAMPLES raises the example count for a local soak run.
SETTINGS = settings(
    max_examples=int(os.environ.get("DTL_PROPERTY_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Functions whose arguments are not plain expressions; (b) leaves them out because random
# arguments would only ever exercise their compile errors, which (a) already covers.
SHAPED = {"hops", "apply", "apply-hops", "now", "uuid", "sleep!"}
EXPRESSION_SPECS = [s for s in BUILTINS.specs() if s.kind == "expression" and s.name not in SHAPED]
TRANSFORM_SPECS = [s for s in BUILTINS.specs() if s.kind == "transform"]

# How many leading arguments of a transform are property names or patterns.
NAME_ARGS = {"add": 1, "add-if": 1, "default": 1, "copy": 2, "remove": 1, "rename": 2, "make-ni": 3}
names = st.sampled_from(["a", "b", "c", "x:a", "*", "_id", "::a", ":a", "a*", "?"])
strings = st.sampled_from(
    ["_S.a", "_S.b", "_S.a.b", "_T.a", "_.", "_", "a", "b", "", "x:y", "~:ns:1", "*", "_S", *NAMES]
) | st.text(max_size=5)
leaves = st.none() | st.booleans() | st.integers(-3, 5) | st.sampled_from([0.5, -1.5]) | strings
json_values = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=25,
)
entities = st.fixed_dictionaries(
    {"_id": st.text(min_size=1, max_size=4)},
    optional={
        "a": json_values,
        "b": json_values,
        "c": st.lists(st.dictionaries(st.sampled_from(["a", "b"]), leaves, max_size=2), max_size=3),
    },
)


@st.composite
def expressions(draw: st.DrawFn, depth: int = 2) -> Any:
    if depth == 0 or draw(st.booleans()):
        return draw(leaves)
    spec = draw(st.sampled_from(EXPRESSION_SPECS))
    high = spec.min_args + 2 if spec.max_args is None else min(spec.max_args, spec.min_args + 2)
    count = draw(st.integers(spec.min_args, high))
    return [spec.name, *(draw(expressions(depth - 1)) for _ in range(count))]


@st.composite
def transforms(draw: st.DrawFn, depth: int = 2) -> Any:
    spec = draw(st.sampled_from(TRANSFORM_SPECS))
    nested = depth > 0
    if spec.name == "if" and nested:
        return ["if", draw(expressions()), draw(transforms(depth - 1)), [draw(transforms(0))]]
    if spec.name == "case" and nested:
        return ["case", draw(expressions()), draw(transforms(depth - 1)), draw(transforms(0))]
    if spec.name == "case-eq" and nested:
        return ["case-eq", draw(expressions()), draw(leaves), draw(transforms(depth - 1))]
    if spec.name in ("if", "case", "case-eq"):
        return ["add", draw(strings), draw(expressions())]
    high = spec.min_args + 2 if spec.max_args is None else min(spec.max_args, spec.min_args + 2)
    count = draw(st.integers(spec.min_args, high))
    named = NAME_ARGS.get(spec.name, 0)
    return [
        spec.name,
        *(draw(names if i < named else expressions()) for i in range(count)),
    ]


rules_strategy = st.dictionaries(
    st.sampled_from(["default", "r"]), st.lists(transforms(), max_size=4), min_size=1
).map(lambda r: {"default": [], **r})

arbitrary_rules = (
    st.dictionaries(st.sampled_from(["default", "r", "x"]), json_values, max_size=3)
    | json_values
    | rules_strategy
)


@SETTINGS
@given(arbitrary_rules)
def test_compile_only_raises_dtl_errors(rules: Any) -> None:
    try:
        compiled = compile_transform(rules)
    except DtlError as e:
        assert e.message
    else:
        assert "default" in compiled.rules


@SETTINGS
@given(rules_strategy, entities, st.booleans())
def test_well_formed_rules_give_entities_or_dtl_errors(
    rules: dict[str, Any], entity: dict[str, Any], namespaced: bool
) -> None:
    ctx = RunContext(pipe_id="p", namespaced_identifiers=namespaced)
    try:
        compiled = compile_transform(rules)
        out = compiled.apply(entity, ctx)
    except DtlError:
        return
    assert isinstance(out, list)
    assert all(isinstance(e, dict) for e in out)


@SETTINGS
@given(arbitrary_rules)
def test_compile_error_paths_point_at_the_snippet(rules: Any) -> None:
    for error in validate_rules(rules):
        assert error.path is not None
        assert error.path.resolve(rules) == error.snippet, str(error)


@SETTINGS
@given(arbitrary_rules)
def test_validate_agrees_with_compile(rules: Any) -> None:
    errors = validate_rules(rules)
    try:
        compile_transform(rules)
    except DtlError as e:
        assert errors, "compile failed but validate found nothing"
        assert str(e.path) == str(errors[0].path)
    else:
        assert errors == []


hops_specs = st.dictionaries(
    st.sampled_from(["datasets", "where", "return", "recurse", "max_depth", "subsets", "bogus"]),
    st.one_of(
        st.lists(st.sampled_from(["d d", "e e", "d", "x y z", ""]), max_size=3),
        st.sampled_from(
            [["eq", "_S.a", "d.a"], ["eq", "d.b", "e.b"], ["gt", "d.a", 1], "d", "d,e"]
        ),
        st.lists(
            st.sampled_from([["eq", "_S.a", "d.a"], ["eq", "d.b", "e.b"], ["nope"]]), max_size=3
        ),
        st.dictionaries(st.sampled_from(["d", "q"]), st.just(["eq", "_S.t", 1]), max_size=2),
        leaves,
    ),
    max_size=5,
)


@SETTINGS
@given(st.lists(hops_specs, min_size=1, max_size=2), st.sampled_from(["hops", "apply-hops"]))
def test_hops_spec_errors_point_at_the_spec(specs: list[Any], name: str) -> None:
    call: list[Any] = [name, *(["r"] if name == "apply-hops" else []), *specs]
    rules = {"default": [["add", "x", call]], "r": []}
    for error in validate_rules(rules):
        assert error.path is not None
        assert error.path.resolve(rules) == error.snippet, str(error)
    store = {"d": [{"_id": "1", "a": 1, "b": 2}], "e": [{"_id": "2", "b": 2}]}
    try:
        compiled = compile_transform(rules)
    except DtlError:
        return
    from engine.dtl import MemoryDatasets

    out = compiled.apply({"_id": "s", "a": 1}, RunContext(datasets=MemoryDatasets(store)))
    assert isinstance(out[0].get("x"), list)
