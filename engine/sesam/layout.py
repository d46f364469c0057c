"""A Sesam node configuration folder (sesam-py's layout) loaded as a hub project.

The layout::

    node-metadata.conf.json     service metadata: node-wide pipe defaults (optional)
    pipes/*.conf.json           one pipe each (a list of pipes is accepted too)
    systems/*.conf.json         systems
    <profile>-env.json          variables for $ENV(...) (test-env.json for the test profile)
    expected/                   sesam-py test specs and expected outputs (see ``specs``)

Loading order per pipe: ``$ENV``/``$SECRET`` substitution (a string that is exactly
``"$ENV(x)"`` takes the variable's JSON value, so numbers and booleans keep their type), then
conditional transforms are resolved, then the node defaults are applied, then the ordinary pipe
parser validates it. The result is a plain :class:`engine.config.Project`, so everything else in
the hub runs it unchanged.

Systems are validated too, but a system the hub cannot load (a ``system:mysql`` of the production
profile, a secret that only exists on the real node) is only an error when a pipe that runs
actually reaches it through its source; otherwise it is listed in ``unreached_systems``. Sinks
that only publish or send (``json``, ``sql``, ...) never reach their system here: the emulator
captures what they would send.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.config.pipes import PipeConfig, parse_pipe
from engine.config.project import Project, read_config_file
from engine.config.substitution import has_references, substitute
from engine.errors import ConfigError, JsonPath
from engine.sesam.conditional import resolve_conditional_transforms
from engine.sesam.metadata import (
    METADATA_FILE,
    NodeMetadata,
    apply_node_defaults,
    parse_node_metadata,
)

__all__ = ["NodeProject", "load_node_project", "read_profile_env"]

_WHOLE_ENV = re.compile(r"^\$ENV\(([^()]*)\)$")


@dataclass(frozen=True)
class NodeProject:
    """A node configuration loaded for one profile."""

    project: Project
    metadata: NodeMetadata
    profile: str | None
    env: Mapping[str, Any] = field(default_factory=dict)
    unreached_systems: Mapping[str, ConfigError] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        return self.project.root


def read_profile_env(root: Path, profile: str, *, required: bool) -> dict[str, Any]:
    """The variables of ``<profile>-env.json`` (an object); ``{}`` when absent and not required.

    Raises:
        ConfigError: the file is missing (when required), not JSON, or not an object.
    """
    name = f"{profile}-env.json"
    path = root / name
    if not path.is_file():
        if required:
            raise ConfigError(
                f"profile {profile!r} needs the variables file {name!r} in {str(root)!r}",
                file=name,
            )
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as e:
        raise ConfigError(
            f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}", file=name
        ) from e
    if not isinstance(data, dict):
        raise ConfigError("expected an object of variable names to values", file=name)
    return data


def _typed_env(node: Any, env: Mapping[str, Any]) -> Any:
    """Replace strings that are exactly ``$ENV(x)`` by x's JSON value when it is not a string."""
    if isinstance(node, dict):
        return {k: _typed_env(v, env) for k, v in node.items()}
    if isinstance(node, list):
        return [_typed_env(v, env) for v in node]
    if isinstance(node, str):
        match = _WHOLE_ENV.match(node)
        if match and match.group(1) in env and not isinstance(env[match.group(1)], str):
            return env[match.group(1)]
    return node


def _substitute(
    raw: Any,
    env: Mapping[str, Any],
    secrets: Mapping[str, str],
    file: str,
    path: JsonPath,
) -> Any:
    if not has_references(raw):
        return raw
    raw = _typed_env(raw, env)
    text_env = {k: v if isinstance(v, str) else json.dumps(v) for k, v in env.items()}
    return substitute(raw, text_env, secrets, file, path)


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix == ".json" and p.is_file())


def _load_metadata(root: Path) -> NodeMetadata:
    path = root / METADATA_FILE
    if not path.is_file():
        return NodeMetadata()
    items = read_config_file(path, root)
    if len(items) != 1:
        raise ConfigError("expected one service metadata object", file=METADATA_FILE)
    return parse_node_metadata(items[0][0])


def load_node_project(
    root: str | Path,
    *,
    profile: str | None = "test",
    env: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str] | None = None,
    profile_required: bool = False,
) -> NodeProject:
    """Load a node configuration folder for ``profile`` into a runnable project.

    Args:
        root: the folder.
        profile: reads ``<profile>-env.json``; ``None`` reads no file.
        env: variables used when there is no profile file, and overridden by it.
        secrets: values for ``$SECRET(...)`` (never printed; errors name only the key).
        profile_required: a missing profile file is an error (an explicit ``--profile``).

    Raises:
        ConfigError: the first problem, naming the file, the JSON path and what was expected.
    """
    root = Path(root)
    if not root.is_dir():
        raise ConfigError(f"project folder {str(root)!r} does not exist")
    variables: dict[str, Any] = dict(env or {})
    if profile is not None:
        variables.update(read_profile_env(root, profile, required=profile_required))
    secret_values = dict(secrets or {})
    metadata = _load_metadata(root)
    seen: dict[str, str] = {}

    def remember(obj_id: str, file: str, path: JsonPath) -> None:
        if obj_id in seen:
            raise ConfigError(
                f"duplicate _id {obj_id!r} (also defined in {seen[obj_id]})",
                file=file,
                path=path / "_id",
            )
        seen[obj_id] = file

    pipes: dict[str, PipeConfig] = {}
    for file in _files(root / "pipes"):
        rel = str(file.relative_to(root))
        for raw, path in read_config_file(file, root):
            raw = _substitute(raw, variables, secret_values, rel, path)
            if isinstance(raw, dict):
                raw = resolve_conditional_transforms(raw, file=rel, path=path)
                raw = apply_node_defaults(raw, metadata)
                _check_merge_version(raw, rel, path)
                _check_declared_namespaces(raw, rel, path)
            pipe = parse_pipe(raw, file=rel, path=path)
            if pipe is not None:
                remember(pipe.id, rel, path)
                pipes[pipe.id] = pipe

    systems, unreached = _load_systems(root, variables, secret_values, remember)
    for pipe in pipes.values():
        _check_reached_systems(pipe, unreached)
    project = Project(root=root, pipes=pipes, systems=systems)
    return NodeProject(project, metadata, profile, variables, unreached)


def _load_systems(
    root: Path,
    variables: Mapping[str, Any],
    secrets: Mapping[str, str],
    remember: Any,
) -> tuple[dict[str, Any], dict[str, ConfigError]]:
    from engine.config.systems import load_system_config

    systems: dict[str, Any] = {}
    unreached: dict[str, ConfigError] = {}
    text_env = {k: v if isinstance(v, str) else json.dumps(v) for k, v in variables.items()}
    for file in _files(root / "systems"):
        rel = str(file.relative_to(root))
        for raw, path in read_config_file(file, root):
            system_id = raw.get("_id") if isinstance(raw, dict) else None
            if not isinstance(system_id, str):
                raise ConfigError("a system needs a string '_id'", file=rel, path=path / "_id")
            remember(system_id, rel, path)
            try:
                systems[system_id] = load_system_config(
                    _typed_env(raw, variables), file=rel, path=path, env=text_env, secrets=secrets
                )
            except ConfigError as e:
                unreached[system_id] = e
    return systems, unreached


def _check_merge_version(raw: Mapping[str, Any], file: str, path: JsonPath) -> None:
    """Merge sources of version 1 (Sesam's default) and 2 run alike; any other is an error.

    Both versions produce the same groups, ids and properties for the configurations the hub
    runs; what differs on a node (v1 needs a reset after reordering ``datasets``) cannot arise in
    a run that starts from empty datasets. See docs/sesam-compatibility.md.
    """
    source = raw.get("source")
    if not isinstance(source, dict) or source.get("type") != "merge":
        return
    version = source.get("version", 1)
    if version not in (1, 2) or isinstance(version, bool):
        raise ConfigError(
            f"expected 1 or 2 for the merge source 'version', found {version!r}",
            file=file,
            path=path / "source" / "version",
        )


def _uri_namespace_call(node: Any, path: JsonPath) -> JsonPath | None:
    """The path of the first DTL call that reads the namespace map, if any."""
    if isinstance(node, list):
        head = node[0] if node else None
        if head in ("ni-collapse", "ni-expand") or (head == "ni" and len(node) == 2):
            return path
        for i, item in enumerate(node):
            found = _uri_namespace_call(item, path / i)
            if found is not None:
                return found
    elif isinstance(node, dict):
        for key, value in node.items():
            found = _uri_namespace_call(value, path / key)
            if found is not None:
                return found
    return None


def _check_declared_namespaces(raw: Mapping[str, Any], file: str, path: JsonPath) -> None:
    """Declared ``namespaces.default`` cannot reach DTL yet: fail where DTL would need them.

    The pipeline's run context does not carry the namespace map, so ``ni-collapse``,
    ``ni-expand`` and one-argument ``ni`` would silently use only the built-in prefixes.
    """
    namespaces = raw.get("namespaces")
    declared = namespaces.get("default") if isinstance(namespaces, dict) else None
    if not declared:
        return
    transform = raw.get("transform")
    where = _uri_namespace_call(transform, path / "transform")
    if where is not None:
        raise ConfigError(
            "this DTL call reads the namespace map, but the declared 'namespaces.default' "
            "(node metadata or pipe) is not passed to DTL by this hub yet",
            file=file,
            path=where,
        )


def _check_reached_systems(pipe: PipeConfig, unreached: Mapping[str, ConfigError]) -> None:
    """A pipe whose (chosen) source or share sink uses a system that failed to load fails here."""
    used: list[tuple[Any, JsonPath]] = []
    source: Any = pipe.source.raw
    path = pipe.source.path
    while isinstance(source, dict) and source.get("type") == "conditional":
        alternatives, key = source.get("alternatives"), str(source.get("condition"))
        if not isinstance(alternatives, dict) or key not in alternatives:
            break
        path = path / "alternatives" / key
        source = alternatives[key]
    if isinstance(source, dict) and "system" in source:
        used.append((source["system"], path / "system"))
    if pipe.sink.type == "system":
        used.append((pipe.sink.raw.get("system"), pipe.sink.path / "system"))
    for system_id, path in used:
        if isinstance(system_id, str) and system_id in unreached:
            cause = unreached[system_id]
            raise ConfigError(
                f"pipe {pipe.id!r} reaches system {system_id!r}, which cannot be used: "
                f"{cause.where()}: {cause.message}",
                file=pipe.file,
                path=path,
                pipe=pipe.id,
            )
