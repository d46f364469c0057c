"""The DTL conformance suite: every case of every ``tests/dtl/cases/*.json`` file.

A case has a ``title`` and either an ``expression`` (run with :func:`engine.dtl.evaluate`) or
``rules`` (run with :func:`engine.dtl.transform`); optional ``source`` (default
``{"_id": "1"}``), ``target``, ``datasets`` and ``pipe``; and either ``result`` or ``error``
(``syntax``, ``unknown-function``, ``arity``, ``eval``) with an optional ``path``. Values are
Sesam JSON (transit strings), compared type-strictly after :func:`engine.entity.encode`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.dtl import evaluate, transform
from engine.entity import decode, encode
from engine.errors import (
    DtlArityError,
    DtlError,
    DtlEvalError,
    DtlSyntaxError,
    DtlUnknownFunction,
)

CASES_DIR = Path(__file__).parent / "cases"
ERRORS: dict[str, type[DtlError]] = {
    "syntax": DtlSyntaxError,
    "unknown-function": DtlUnknownFunction,
    "arity": DtlArityError,
    "eval": DtlEvalError,
}


def load_cases() -> list[Any]:
    params = []
    for file in sorted(CASES_DIR.glob("*.json")):
        for case in json.loads(file.read_text(encoding="utf-8")):
            params.append(pytest.param(case, id=f"{file.name}::{case.get('title', '?')}"))
    return params


def strict_equal(a: Any, b: Any) -> bool:
    """Equality that tells ``true`` from ``1`` and ``1`` from ``1.0`` (values are plain JSON)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(strict_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(strict_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def run_case(case: dict[str, Any]) -> Any:
    source = decode(case.get("source", {"_id": "1"}))
    target = decode(case["target"]) if "target" in case else None
    datasets = decode(case.get("datasets")) if "datasets" in case else None
    pipe = case.get("pipe")
    if "expression" in case:
        return evaluate(case["expression"], source, target, datasets=datasets, pipe=pipe)
    return transform(case["rules"], source, target=target, datasets=datasets, pipe=pipe)


@pytest.mark.parametrize("case", load_cases())
def test_case(case: dict[str, Any]) -> None:
    program = case.get("expression", case.get("rules"))
    context = f"\n  program: {json.dumps(program)}\n  source: {json.dumps(case.get('source'))}"
    if "error" in case:
        expected_error = ERRORS[case["error"]]
        with pytest.raises(DtlError) as info:
            run_case(case)
        assert isinstance(info.value, expected_error), (
            f"expected a {expected_error.__name__}, got {type(info.value).__name__}: "
            f"{info.value}{context}"
        )
        if "path" in case:
            assert str(info.value.path) == case["path"], (
                f"expected the error at {case['path']}, got {info.value.path}{context}"
            )
        return
    actual = encode(run_case(case))
    expected = case["result"]
    assert strict_equal(actual, expected), (
        f"\n  expected: {json.dumps(expected)}\n  actual:   {json.dumps(actual)}{context}"
    )
