"""Config: load and validate ``pipes/*.json`` and ``systems/*.json`` into typed objects (pure)."""

from __future__ import annotations

from engine.config.pipes import PipeConfig, SinkConfig, SourceConfig, TransformConfig, parse_pipe
from engine.config.project import Project, load_project

__all__ = [
    "PipeConfig",
    "Project",
    "SinkConfig",
    "SourceConfig",
    "TransformConfig",
    "load_project",
    "parse_pipe",
]
