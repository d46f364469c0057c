"""Small helpers for tests that build project folders on disk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_project(
    root: Path, pipes: list[dict[str, Any]], systems: list[dict[str, Any]] | None = None
) -> Path:
    """Write ``pipes/*.json`` (one file per pipe) and optional ``systems/*.json`` under ``root``."""
    (root / "pipes").mkdir(parents=True, exist_ok=True)
    for pipe in pipes:
        (root / "pipes" / f"{pipe['_id']}.json").write_text(json.dumps(pipe, indent=2))
    if systems:
        (root / "systems").mkdir(exist_ok=True)
        for system in systems:
            (root / "systems" / f"{system['_id']}.json").write_text(json.dumps(system, indent=2))
    return root


def embedded(pipe_id: str, entities: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "_id": pipe_id,
        "type": "pipe",
        "source": {"type": "embedded", "entities": entities},
        **extra,
    }


def from_dataset(
    pipe_id: str, dataset: str, rules: list[Any] | None = None, **extra: Any
) -> dict[str, Any]:
    pipe: dict[str, Any] = {
        "_id": pipe_id,
        "type": "pipe",
        "source": {"type": "dataset", "dataset": dataset},
    }
    if rules is not None:
        pipe["transform"] = {"type": "dtl", "rules": {"default": rules}}
    pipe.update(extra)
    return pipe
