"""The public DTL API: compile once, apply per entity, errors with locations, dependency tracking."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from engine.dtl import (
    ROOT,
    DtlTripError,
    Env,
    IndexKey,
    MemoryDatasets,
    RunContext,
    compile_expression,
    compile_transform,
    evaluate,
    transform,
    validate_rules,
)
from engine.errors import (
    DtlArityError,
    DtlEvalError,
    DtlSyntaxError,
    DtlUnknownFunction,
)

PIPE_PATH = ROOT / "transform" / 0 / "rules"


class Recorder:
    """A DependencyRecorder that keeps what it is told."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, list[Any]]] = []

    def record(self, dataset: str, key: IndexKey, values: Sequence[Any]) -> None:
        self.calls.append((dataset, key.name, list(values)))


def test_compile_once_apply_many() -> None:
    compiled = compile_transform({"default": [["copy", "_id"], ["add", "n", ["upper", "_S.n"]]]})
    ctx = RunContext()
    out = [compiled.apply({"_id": str(i), "n": f"x{i}"}, ctx) for i in range(3)]
    assert out == [[{"_id": "0", "n": "X0"}], [{"_id": "1", "n": "X1"}], [{"_id": "2", "n": "X2"}]]
    assert compiled.uses_hops is False
    assert compiled.hops_datasets == frozenset()


def test_apply_does_not_change_the_source() -> None:
    source = {"_id": "1", "a": {"b": 1}}
    transform({"default": [["copy", "*"], ["add", "x", 1], ["remove", "a"]]}, source)
    assert source == {"_id": "1", "a": {"b": 1}}


def test_literal_dicts_are_not_shared_between_entities() -> None:
    compiled = compile_transform({"default": [["add", "d", {"a": []}], ["merge-union", {"x": 1}]]})
    first = compiled.apply({"_id": "1"}, RunContext())[0]
    first["d"]["a"].append(99)
    second = compiled.apply({"_id": "2"}, RunContext())[0]
    assert second["d"] == {"a": []}


def test_compile_error_path_is_prefixed_with_the_callers_path() -> None:
    with pytest.raises(DtlArityError) as info:
        compile_transform(
            {"default": [["add", "name", ["concat"]]]}, file="pipes/p.conf.json", path=PIPE_PATH
        )
    assert str(info.value.path) == "$.transform[0].rules.default[0][2]"
    assert info.value.file == "pipes/p.conf.json"
    assert info.value.snippet == ["concat"]
    assert "pipes/p.conf.json: $.transform[0].rules.default[0][2]" in str(info.value)


def test_unknown_function_suggests_close_names() -> None:
    with pytest.raises(DtlUnknownFunction, match="did you mean 'is-null'"):
        compile_transform({"default": [["add", "x", ["is-nul", 1]]]})


def test_transform_name_in_expression_position_says_so() -> None:
    with pytest.raises(DtlUnknownFunction, match="is a transform function"):
        evaluate(["copy", "*"], {"_id": "1"})


def test_eval_error_names_entity_and_expression() -> None:
    compiled = compile_transform(
        {"default": [["add", "x", ["fail!", "boom"]]]}, file="p.json", path=PIPE_PATH
    )
    with pytest.raises(DtlEvalError) as info:
        compiled.apply({"_id": "e-42"}, RunContext(file="p.json"))
    assert info.value.entity_id == "e-42"
    assert str(info.value.path) == "$.transform[0].rules.default[0][2]"
    assert "boom" in str(info.value)


def test_validate_rules_collects_every_error() -> None:
    rules = {
        "default": [
            ["add", "a", ["concat"]],
            ["ad", "b", 1],
            ["add", "c", [1, 2]],
            ["copy", "*"],
        ],
        "other": [["add", "d", ["apply", "missing", "_S.x"]]],
    }
    errors = validate_rules(rules, path=PIPE_PATH)
    kinds = [(type(e), str(e.path)) for e in errors]
    assert kinds == [
        (DtlArityError, "$.transform[0].rules.default[0][2]"),
        (DtlUnknownFunction, "$.transform[0].rules.default[1]"),
        (DtlSyntaxError, "$.transform[0].rules.default[2][2]"),
        (DtlSyntaxError, "$.transform[0].rules.other[0][2][1]"),
    ]


def test_validate_rules_of_good_rules_is_empty() -> None:
    assert validate_rules({"default": [["copy", "*"], ["add", "x", ["upper", "_S.a"]]]}) == []


def test_hops_datasets_and_dependency_records() -> None:
    rules = {
        "default": [
            ["add", "o", ["hops", {"datasets": ["orders o"], "where": ["eq", "_S._id", "o.cust"]}]],
            [
                "add",
                "p",
                [
                    "hops",
                    {
                        "datasets": ["products p"],
                        "where": ["eq", "_S.pid", "p._id"],
                        "track-dependencies": False,
                    },
                ],
            ],
        ]
    }
    compiled = compile_transform(rules)
    assert compiled.uses_hops is True
    assert compiled.hops_datasets == frozenset({"orders"})
    assert compiled.hopped_datasets == frozenset({"orders", "products"})
    recorder = Recorder()
    store = MemoryDatasets({"orders": [{"_id": "o1", "cust": "c1"}], "products": []})
    ctx = RunContext(datasets=store, dependencies=recorder)
    out = compiled.apply({"_id": "c1", "pid": "x"}, ctx)
    assert out[0]["o"] == [{"_id": "o1", "cust": "c1"}]
    assert recorder.calls == [("orders", '"_.cust"', ["c1"])]


def test_equal_alias_expressions_share_an_index_name() -> None:
    recorder = Recorder()
    store = MemoryDatasets({"d": [{"_id": "a", "k": ["x", "y"]}]})
    ctx = RunContext(datasets=store, dependencies=recorder)
    for alias in ("a", "zz"):
        spec = {"datasets": [f"d {alias}"], "where": ["eq", ["lower", f"{alias}.k"], "_S.k"]}
        compiled = compile_transform({"default": [["add", "h", ["hops", spec]]]})
        assert compiled.apply({"_id": "1", "k": "y"}, ctx)[0]["h"] == [store.get("d", "a")]
    assert {name for _, name, _ in recorder.calls} == {'["lower","_.k"]'}


def test_memory_datasets_latest_version_and_index() -> None:
    store = MemoryDatasets(
        {"d": [{"_id": "b", "k": 1}, {"_id": "a", "k": 1}, {"_id": "b", "k": 2, "_deleted": True}]}
    )
    key = IndexKey("k", lambda e: [e.get("k")])
    assert store.exists("d") and not store.exists("e")
    assert store.get("d", "b") == {"_id": "b", "k": 2, "_deleted": True}
    assert store.find("d", key, [1, 2]) == [{"_id": "a", "k": 1}]
    assert store.find("d", key, [True]) == []
    assert [e["_id"] for e in store.entities("d")] == ["a", "b"]


def test_run_context_from_pipe() -> None:
    ctx = RunContext.from_pipe(
        {
            "_id": "p",
            "namespaced_identifiers": True,
            "namespaces": {"identity": "i"},
            "sink": {"type": "json"},
        }
    )
    assert (ctx.pipe_id, ctx.namespaced_identifiers, ctx.identity_ns, ctx.property_ns) == (
        "p",
        True,
        "i",
        "p",
    )
    assert ctx.sink_is_dataset is False
    assert RunContext.from_pipe({"_id": "q"}).sink_is_dataset is True
    assert RunContext.from_pipe(None).namespaced_identifiers is False


def test_compile_expression_with_aliases() -> None:
    evaluator = compile_expression(["concat", "a.x", "b.x"], aliases=frozenset({"a", "b"}))
    env = Env(S=None, T={}, ctx=RunContext(), aliases={"a": {"x": "1"}, "b": {"x": "2"}})
    assert evaluator(env) == "12"


def test_evaluate_error_carries_the_entity_id() -> None:
    with pytest.raises(DtlEvalError) as info:
        evaluate(["fail!", "x"], {"_id": "abc"})
    assert info.value.entity_id == "abc"


def test_created_entities_are_copies() -> None:
    source: dict[str, Any] = {"_id": "1", "child": {"_id": "c", "v": 1}}
    out = transform({"default": [["create", "_S.child"]]}, source)
    out[1]["v"] = 2
    assert source["child"]["v"] == 1


def test_deep_apply_recursion_is_an_eval_error() -> None:
    rules = {
        "default": [["add", "x", ["apply", "r", "_S."]]],
        "r": [["add", "x", ["apply", "r", "_S."]]],
    }
    with pytest.raises(DtlEvalError):
        transform(rules, {"_id": "1"})


def test_id_required_checks_outputs_and_created_values() -> None:
    lenient = compile_transform({"default": [["create", ["list", {"x": 1}, {"_id": "c"}]]]})
    assert lenient.apply({"_id": "1"}, RunContext()) == [{}, {"_id": "c"}]
    strict = compile_transform({"default": [["copy", "_id"]]}, id_required=True)
    assert strict.apply({"_id": "1"}, RunContext()) == [{"_id": "1"}]
    missing_id = compile_transform({"default": [["add", "x", 1]]}, id_required=True)
    with pytest.raises(DtlEvalError, match="string _id") as info:
        missing_id.apply({"_id": "2"}, RunContext())
    assert info.value.entity_id == "2"
    creating = compile_transform(
        {"default": [["copy", "_id"], ["create", {"x": 1}]]}, id_required=True
    )
    with pytest.raises(DtlEvalError, match="create expects entities"):
        creating.apply({"_id": "3"}, RunContext())
    filtered = compile_transform({"default": [["filter"]]}, id_required=True)
    assert filtered.apply({"_id": "4"}, RunContext()) == [{"_id": "4", "_filtered": True}]


def test_trip_raises_a_trip_error() -> None:
    with pytest.raises(DtlTripError, match="breaker"):
        transform({"default": [["trip!", "breaker"]]}, {"_id": "1"})
