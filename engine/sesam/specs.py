"""sesam-py's test specs: ``expected/<name>.test.json`` and the expected outputs they name.

A spec file is a JSON object; every key is optional and the defaults are sesam-py's:

======================  ============================  ==========================================
key                     default                       meaning
======================  ============================  ==========================================
``pipe``                the file name without         the pipe whose output is compared
                        ``.test.json`` (last part)
``file``                ``<name>.json``               the expected output, inside ``expected/``
``endpoint``            ``"json"``                    ``json`` (entities) or ``csv`` (bytes of a
                                                      ``csv_endpoint``); ``excel`` = ``json``
``stage``               the sink                      ``source``, ``before-transform``,
                                                      ``after-transform`` or ``sink``
``ignore_deletes``      ``true``                      drop deleted entities the expected file
                                                      does not list as deleted
``ignore``              ``false``                     skip this spec
``blacklist``           none                          property paths left out (``a.b``,
                                                      ``list[].field``, ``*`` wildcards)
``whitelist``           none                          (extension) keep only these paths
``fields_to_sort_by``   ``["_id"]``                   sort order before comparing
``parameters``          none                          request parameters of the endpoint
======================  ============================  ==========================================

For ``pipe verify`` an ``expected/<pipe>.json`` without a spec file gets an implicit spec (all
defaults), unless another spec names it as its ``file``. Unknown keys are errors: a misspelt
``blacklsit`` would otherwise silently compare too much.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import ConfigError, JsonPath, did_you_mean

__all__ = ["ENDPOINTS", "STAGES", "TestSpec", "load_specs"]

EXPECTED_DIR = "expected"
SPEC_SUFFIX = ".test.json"
ENDPOINTS = frozenset({"json", "excel", "csv"})
STAGES = frozenset({"source", "before-transform", "after-transform", "sink"})
_KEYS = frozenset(
    {
        "_id",
        "name",
        "description",
        "comment",
        "pipe",
        "file",
        "endpoint",
        "stage",
        "ignore_deletes",
        "ignore",
        "blacklist",
        "whitelist",
        "fields_to_sort_by",
        "parameters",
    }
)


@dataclass(frozen=True, slots=True)
class TestSpec:
    """One comparison of a pipe's output with an expected file."""

    __test__ = False  # not a pytest test class

    name: str
    spec_file: str | None
    pipe: str
    file: str
    endpoint: str = "json"
    stage: str | None = None
    ignore_deletes: bool = True
    ignore: bool = False
    blacklist: tuple[str, ...] = ()
    whitelist: tuple[str, ...] | None = None
    fields_to_sort_by: tuple[str, ...] = ("_id",)
    parameters: Mapping[str, Any] = field(default_factory=dict)

    @property
    def expected_path(self) -> str:
        """The expected file relative to the project root."""
        return f"{EXPECTED_DIR}/{self.file}"


def _strings(value: Any, key: str, file: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(
            f"expected a list of strings for {key!r}", file=file, path=JsonPath() / key
        )
    return tuple(value)


def _flag(raw: Mapping[str, Any], key: str, default: bool, file: str) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(
            f"expected true or false for {key!r}, found {value!r}", file=file, path=JsonPath() / key
        )
    return value


def parse_spec(raw: Any, *, name: str, file: str) -> TestSpec:
    """Validate one spec object read from ``file`` (``name`` is its path without the suffix)."""
    if not isinstance(raw, dict):
        raise ConfigError("expected a test spec object", file=file, path=JsonPath())
    for key in raw:
        if key not in _KEYS:
            raise ConfigError(
                f"unknown key {key!r} in a test spec{did_you_mean(key, _KEYS)}; "
                f"known: {', '.join(sorted(_KEYS))}",
                file=file,
                path=JsonPath() / key,
            )
    pipe = raw.get("pipe", name.rsplit("/", 1)[-1])
    expected = raw.get("file", f"{name}.json")
    for key, value in (("pipe", pipe), ("file", expected)):
        if not isinstance(value, str) or not value:
            raise ConfigError(
                f"expected a non-empty string for {key!r}", file=file, path=JsonPath() / key
            )
    endpoint = raw.get("endpoint", "json")
    if endpoint not in ENDPOINTS:
        raise ConfigError(
            f"endpoint {endpoint!r} is not supported by this hub; supported: "
            f"{', '.join(sorted(ENDPOINTS))}",
            file=file,
            path=JsonPath() / "endpoint",
        )
    stage = raw.get("stage")
    if stage is not None and stage not in STAGES:
        raise ConfigError(
            f"expected one of {', '.join(sorted(STAGES))} for 'stage', found {stage!r}",
            file=file,
            path=JsonPath() / "stage",
        )
    parameters = raw.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise ConfigError(
            "expected an object for 'parameters'", file=file, path=JsonPath() / "parameters"
        )
    whitelist = raw.get("whitelist")
    return TestSpec(
        name=name,
        spec_file=file,
        pipe=pipe,
        file=expected.removeprefix(f"{EXPECTED_DIR}/"),
        endpoint=endpoint,
        stage=stage,
        ignore_deletes=_flag(raw, "ignore_deletes", True, file),
        ignore=_flag(raw, "ignore", False, file),
        blacklist=_strings(raw.get("blacklist", []), "blacklist", file),
        whitelist=None if whitelist is None else _strings(whitelist, "whitelist", file),
        fields_to_sort_by=_strings(
            raw.get("fields_to_sort_by", ["_id"]), "fields_to_sort_by", file
        ),
        parameters=parameters,
    )


def load_specs(root: Path, *, implicit: bool = True) -> list[TestSpec]:
    """Every spec under ``root/expected`` in name order (implicit ones included by default).

    Raises:
        ConfigError: a spec file that is not valid JSON or not a valid spec.
    """
    folder = root / EXPECTED_DIR
    if not folder.is_dir():
        return []
    specs: list[TestSpec] = []
    for path in sorted(folder.rglob(f"*{SPEC_SUFFIX}")):
        rel = path.relative_to(root).as_posix()
        name = path.relative_to(folder).as_posix()[: -len(SPEC_SUFFIX)]
        try:
            raw = json.loads(path.read_text(encoding="utf-8-sig"))
        except json.JSONDecodeError as e:
            raise ConfigError(
                f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}", file=rel
            ) from e
        specs.append(parse_spec(raw, name=name, file=rel))
    if implicit:
        specs += _implicit_specs(folder, specs)
    return sorted(specs, key=lambda s: s.name)


def _implicit_specs(folder: Path, specs: Sequence[TestSpec]) -> list[TestSpec]:
    named = {s.file for s in specs} | {s.name for s in specs}
    out = []
    for path in sorted(folder.rglob("*.json")):
        if path.name.endswith(SPEC_SUFFIX):
            continue
        rel = path.relative_to(folder).as_posix()
        name = rel[: -len(".json")]
        if rel in named or name in named:
            continue
        out.append(TestSpec(name=name, spec_file=None, pipe=name.rsplit("/", 1)[-1], file=rel))
    return out
