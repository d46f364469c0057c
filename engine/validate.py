"""``pipe validate``: every config and DTL error of a project, collected instead of raised."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from engine.config.project import load_project
from engine.errors import HubError

__all__ = ["validate_project"]


def validate_project(
    root: Path, *, env: Mapping[str, str] | None = None
) -> tuple[list[HubError], int]:
    """Return ``(errors, number of pipes)``; the DTL of every pipe is compiled in collect mode."""
    from engine.dtl import validate_rules

    project = load_project(root, env=env, secrets=env, collect_errors=True)
    errors: list[HubError] = list(project.errors)
    for pipe in project.pipes.values():
        for t in pipe.transforms:
            if t.type == "dtl":
                for error in validate_rules(t.raw["rules"], file=pipe.file, path=t.path / "rules"):
                    errors.append(error.located(pipe=pipe.id))
    return errors, len(project.pipes)
