"""Every DTL expression function of this library is declared once, documented, and has cases."""

from __future__ import annotations

import json
from pathlib import Path

from engine.dtl.functions import (
    compare,
    datetimes,
    dicts,
    encoding,
    lists,
    ni,
    nulls,
    numbers,
    phone,
    sets,
    strings,
    types,
)
from engine.dtl.registry import FunctionRegistry, FunctionSpec

MODULES = (
    compare,
    datetimes,
    dicts,
    encoding,
    lists,
    ni,
    nulls,
    numbers,
    phone,
    sets,
    strings,
    types,
)
CASES = Path(__file__).parent.parent / "cases"


def _specs() -> list[FunctionSpec]:
    return [spec for module in MODULES for spec in module.FUNCTIONS.specs]


def _called_names(node: object, out: set[str]) -> None:
    if isinstance(node, list):
        if node and isinstance(node[0], str):
            out.add(node[0])
        for child in node:
            _called_names(child, out)
    elif isinstance(node, dict):
        for child in node.values():
            _called_names(child, out)


def test_library_assembles_into_one_registry() -> None:
    registry = FunctionRegistry.of(*(m.FUNCTIONS for m in MODULES))
    assert len(registry) == len(_specs()) > 120


def test_every_function_has_a_docstring_and_a_sane_arity() -> None:
    for spec in _specs():
        assert spec.kind == "expression"
        assert spec.summary, f"{spec.name} has no docstring"
        assert spec.max_args is None or spec.max_args >= spec.min_args >= 0


def test_every_function_has_conformance_cases() -> None:
    called: set[str] = set()
    for file in CASES.glob("*.json"):
        for case in json.loads(file.read_text(encoding="utf-8")):
            _called_names(case.get("expression"), called)
    missing = sorted(spec.name for spec in _specs() if spec.name not in called)
    assert not missing, f"functions without a case in tests/dtl/cases: {missing}"
