"""The parser: node shapes, variable detection and quoted path elements."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.dtl.nodes import Call, Invalid, Literal, PathRef, Seq
from engine.dtl.parser import parse, parse_path_steps
from engine.entity import NI
from engine.errors import JsonPath


def quote(step: str) -> str:
    return "'" + step.replace("'", "''") + "'"


def test_shapes() -> None:
    node = parse(["add", "x", ["upper", "_S.a.b"]], JsonPath() / "default" / 0)
    assert isinstance(node, Call) and node.name == "add"
    inner = node.args[1]
    assert isinstance(inner, Call) and str(inner.path) == "$.default[0][2]"
    ref = inner.args[0]
    assert isinstance(ref, PathRef) and (ref.variable, ref.steps) == ("_S", ("a", "b"))
    assert str(ref.path) == "$.default[0][2][1]"


def test_lists_not_starting_with_a_name_are_sequences() -> None:
    assert isinstance(parse([]), Seq)
    assert isinstance(parse([["copy", "*"]]), Seq)
    assert isinstance(parse([1, "a"]), Seq)


def test_variables_and_literals() -> None:
    for text, variable in [
        ("_S", "_S"),
        ("_", "_"),
        ("_.", "_"),
        ("_P._S.x", "_P"),
        ("_B.q", "_B"),
    ]:
        node = parse(text)
        assert isinstance(node, PathRef) and node.variable == variable, text
    for text in ["_Sx", "S.a", "x._S", "", "_ S"]:
        node = parse(text)
        assert isinstance(node, Literal) and node.value == text
    assert parse("~:a:b").value == NI("a", "b")  # type: ignore[union-attr]
    assert parse({"a": "~:a:b"}).value == {"a": NI("a", "b")}  # type: ignore[union-attr]


def test_aliases_are_variables_only_when_given() -> None:
    assert isinstance(parse("o.id"), Literal)
    node = parse("o.id", aliases=frozenset({"o"}))
    assert isinstance(node, PathRef) and node.variable == "o" and node.steps == ("id",)


def test_bad_paths_become_invalid_nodes() -> None:
    for text in ["_S.'abc", "_S.a..b", "_S.a.", "_S.'a'b"]:
        assert isinstance(parse(text), Invalid), text


@settings(max_examples=150)
@given(st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=4))
def test_quoted_steps_round_trip(steps: list[str]) -> None:
    text = ".".join(quote(s) for s in steps)
    assert parse_path_steps(text) == tuple(steps)
