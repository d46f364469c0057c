"""Load a project folder: ``pipes/*.json`` and ``systems/*.json`` (Sesam's config format).

A file may hold one object or a list of objects. ``*.conf.json`` (sesam-py's layout) works too.
Loading is pure apart from reading the files: environment variables and secrets are passed in by
the caller (the CLI reads the environment; engine code never does).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.config.pipes import PipeConfig, parse_pipe
from engine.config.substitution import has_references, substitute
from engine.errors import ConfigError, JsonPath
from engine.sesam.conditional import resolve_conditional_transforms
from engine.sesam.metadata import METADATA_FILE, apply_node_defaults, parse_node_metadata

__all__ = ["Project", "load_project", "read_config_file"]


@dataclass(frozen=True)
class Project:
    """Everything configured in a project folder."""

    root: Path
    pipes: Mapping[str, PipeConfig]
    systems: Mapping[str, Any] = field(default_factory=dict)
    errors: tuple[ConfigError, ...] = ()

    def pipe(self, pipe_id: str) -> PipeConfig:
        from engine.errors import did_you_mean

        try:
            return self.pipes[pipe_id]
        except KeyError:
            raise ConfigError(
                f"no pipe {pipe_id!r} in {self.root / 'pipes'}{did_you_mean(pipe_id, set(self.pipes))}"
            ) from None

    def producer_of(self, dataset: str) -> PipeConfig | None:
        """The pipe whose sink writes ``dataset``."""
        for pipe in self.pipes.values():
            if pipe.sink_dataset == dataset:
                return pipe
        return None


def read_config_file(path: Path, root: Path) -> list[tuple[Any, JsonPath]]:
    """The objects of one config file, each with its JSON path inside the file."""
    rel = _rel(path, root)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ConfigError(
            f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}", file=rel
        ) from e
    except OSError as e:
        raise ConfigError(f"cannot read the file: {e.strerror}", file=rel) from e
    if isinstance(data, list):
        return [(item, JsonPath((i,))) for i, item in enumerate(data)]
    return [(data, JsonPath())]


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _config_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix == ".json" and p.is_file())


def load_project(
    root: str | Path,
    *,
    env: Mapping[str, str] | None = None,
    secrets: Mapping[str, str] | None = None,
    collect_errors: bool = False,
) -> Project:
    """Load and validate every pipe and system config under ``root``.

    With ``collect_errors`` every problem is gathered into ``Project.errors`` (``pipe
    validate``); otherwise the first one is raised.
    """
    root = Path(root)
    errors: list[ConfigError] = []
    sink: list[ConfigError] | None = errors if collect_errors else None
    pipes: dict[str, PipeConfig] = {}
    seen: dict[str, str] = {}

    def remember(obj_id: str, file: str, path: JsonPath) -> bool:
        if obj_id in seen:
            err = ConfigError(
                f"duplicate _id {obj_id!r} (also defined in {seen[obj_id]})",
                file=file,
                path=path / "_id",
            )
            if sink is None:
                raise err
            sink.append(err)
            return False
        seen[obj_id] = file
        return True

    metadata = None
    metadata_file = root / METADATA_FILE
    if metadata_file.is_file():
        try:
            (raw_metadata, _), *_ = read_config_file(metadata_file, root)
            if has_references(raw_metadata):
                raw_metadata = substitute(
                    raw_metadata, env or {}, secrets or {}, METADATA_FILE, JsonPath()
                )
            metadata = parse_node_metadata(raw_metadata)
        except ConfigError as e:
            if sink is None:
                raise
            sink.append(e)

    for file in _config_files(root / "pipes"):
        rel = _rel(file, root)
        try:
            items = read_config_file(file, root)
        except ConfigError as e:
            if sink is None:
                raise
            sink.append(e)
            continue
        for raw, path in items:
            try:
                if has_references(raw):
                    raw = substitute(raw, env or {}, secrets or {}, rel, path)
                if isinstance(raw, dict):
                    raw = resolve_conditional_transforms(raw, file=rel, path=path)
                    if metadata is not None:
                        raw = apply_node_defaults(raw, metadata)
            except ConfigError as e:
                if sink is None:
                    raise
                sink.append(e)
                continue
            pipe = parse_pipe(raw, file=rel, path=path, errors=sink)
            if pipe is not None and remember(pipe.id, rel, path):
                pipes[pipe.id] = pipe

    systems: dict[str, Any] = {}
    system_files = _config_files(root / "systems")
    if system_files:
        from engine.config.systems import load_system_config

        for file in system_files:
            rel = _rel(file, root)
            try:
                items = read_config_file(file, root)
                for raw, path in items:
                    system = load_system_config(
                        raw, file=rel, path=path, env=env or {}, secrets=secrets or {}
                    )
                    if remember(system.id, rel, path):
                        systems[system.id] = system
            except ConfigError as e:
                if sink is None:
                    raise
                sink.append(e)
    return Project(root=root, pipes=pipes, systems=systems, errors=tuple(errors))
