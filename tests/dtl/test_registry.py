"""The registry self-test: every built-in has documentation and is exercised by a case file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.dtl import BUILTINS
from engine.dtl.registry import FunctionRegistry, FunctionSpec, SpecCollector

CASES_DIR = Path(__file__).parent / "cases"


def _called_names(value: Any, out: set[str]) -> None:
    if isinstance(value, list):
        if value and isinstance(value[0], str):
            out.add(value[0])
        for item in value:
            _called_names(item, out)
    elif isinstance(value, dict):
        for item in value.values():
            _called_names(item, out)


def names_in_cases() -> set[str]:
    found: set[str] = set()
    for file in CASES_DIR.glob("*.json"):
        for case in json.loads(file.read_text(encoding="utf-8")):
            _called_names(case.get("expression"), found)
            _called_names(case.get("rules"), found)
    return found


def test_every_function_has_a_docstring() -> None:
    missing = [f"{s.kind} {s.name}" for s in BUILTINS.specs() if not s.doc]
    assert missing == []


def test_every_function_has_a_case() -> None:
    used = names_in_cases()
    missing = sorted({s.name for s in BUILTINS.specs()} - used)
    assert missing == [], f"functions without a case in tests/dtl/cases: {missing}"


def test_arity_declarations_are_valid() -> None:
    for spec in BUILTINS.specs():
        assert spec.min_args >= 0
        assert spec.max_args is None or spec.max_args >= spec.min_args, spec.name


def test_names_used_both_ways_exist_in_both_positions() -> None:
    for name in ("filter", "if", "case", "case-eq", "fail!"):
        assert ("transform", name) in BUILTINS
        assert ("expression", name) in BUILTINS


def test_duplicate_declarations_fail_at_assembly() -> None:
    one, two = SpecCollector(), SpecCollector()

    @one.expression("twice", min_args=0, max_args=0)
    def first() -> None:
        """First."""

    @two.expression("twice", min_args=0, max_args=0)
    def second() -> None:
        """Second."""

    with pytest.raises(ValueError, match="twice"):
        FunctionRegistry.of(one, two)


def test_extended_returns_a_new_registry() -> None:
    def shout(value: Any) -> Any:
        """Shout."""
        return value

    spec = FunctionSpec("shout", "expression", shout, 1, 1)
    bigger = BUILTINS.extended(spec)
    assert ("expression", "shout") in bigger
    assert ("expression", "shout") not in BUILTINS
    assert len(bigger) == len(BUILTINS) + 1
