"""Typed system configs (``systems/*.json``): parse, validate, substitute ``$ENV``/``$SECRET``.

Design notes
------------
* A file holds one system object or a list of them, in Sesam's ``system:rest`` shape: a base URL
  (``url_pattern`` with ``%s`` as Sesam spells it, or ``base_url``), authentication, headers, and
  named ``operations``. The full schema is documented in ``docs/decisions/connectors.md``.
* Substitution runs first over the raw JSON: ``$ENV(name)`` and ``$SECRET(name)`` may appear
  anywhere inside a string and be concatenated with text. The environment and the secrets are
  passed in explicitly; engine code never reads ``os.environ``.
* A string that contains a ``$SECRET(...)`` becomes a :class:`Secret` as a whole: a value built
  from a secret *is* a secret. Only credential-bearing fields (username, password, token, header
  and query parameter values) accept one; anywhere else it is a :class:`ConfigError`, so a secret
  cannot leak into a URL path, a JSON path expression or a request body template.
* Operation templates (URLs, params, headers, GraphQL variables) use ``{name}`` placeholders from a
  closed set (:data:`PLACEHOLDERS`). A string that is exactly ``"{payload}"`` is replaced by the
  value itself (any JSON), so a GraphQL ``input`` can be a whole object.
* This module is pure: apart from :func:`load_systems_dir` reading the config files, it does no
  I/O and never touches the network.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeAlias, cast, get_args

import jmespath
import jmespath.exceptions

from engine.config.substitution import Secret, substitute
from engine.errors import ConfigError, JsonPath, did_you_mean

__all__ = [
    "PLACEHOLDERS",
    "PLACEHOLDER_RE",
    "AuthKind",
    "GraphQLRequest",
    "HttpMethod",
    "Operation",
    "Pagination",
    "PaginationType",
    "RetryConfig",
    "Secret",
    "SystemConfig",
    "load_system_config",
    "load_systems",
    "load_systems_dir",
    "template_names",
]

AuthKind = Literal["none", "basic", "bearer"]
HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
PaginationType = Literal["none", "page", "cursor", "link"]
SystemType = Literal["system:rest"]
Template: TypeAlias = Any  # JSON with ``{name}`` placeholders inside strings

PLACEHOLDERS = ("id", "parent_id", "payload", "page", "page_size", "cursor", "since")
PLACEHOLDER_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_COMMON = ("comment", "description", "name", "metadata")
_SECRET_HOLDERS = "username, password, token, header and param values may hold secrets"


@dataclass(frozen=True, slots=True)
class RetryConfig:
    """How often and how patiently a request is retried (see ``engine.connectors.http``)."""

    max_attempts: int = 5
    backoff: float = 0.5  # first delay in seconds; doubles per attempt, with jitter
    max_backoff: float = 30.0
    max_retry_after: float = 120.0  # a server's Retry-After is honoured up to this many seconds


@dataclass(frozen=True, slots=True)
class Pagination:
    """How a list operation pages: by page number, by cursor, by Link header, or not at all.

    ``page_param``/``size_param``/``cursor_param`` name query parameters for REST operations and
    variables for GraphQL operations.
    """

    type: PaginationType = "none"
    page_param: str = "page"
    size_param: str | None = None
    page_size: int | None = None
    first_page: int = 1
    total_header: str | None = None  # e.g. X-Total-Count: the number of records in all pages
    total_expression: str | None = None  # jmespath to the same number in the body
    total_pages_expression: str | None = None  # jmespath, e.g. ...pageInfo.totalPages
    cursor_param: str = "cursor"
    cursor_expression: str | None = None  # jmespath to the next cursor in the body


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    """The ``payload`` of a GraphQL operation: query text plus a variables template."""

    query: str
    variables: Mapping[str, Template] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Operation:
    """One named operation of a system: a request template and how to read its response."""

    name: str
    method: HttpMethod = "GET"
    url: str = ""
    params: Mapping[str, str | Secret] = field(default_factory=dict)
    headers: Mapping[str, str | Secret] = field(default_factory=dict)
    payload_property: str | None = None
    id_expression: str | None = None
    updated_expression: str | None = None
    since_param: str | None = None
    pagination: Pagination = field(default_factory=Pagination)
    graphql: GraphQLRequest | None = None
    mutation_result: str | None = None  # jmespath to {didSucceed, inputErrors}
    idempotent: bool = True  # False: never retried once the request may have been processed


@dataclass(frozen=True, slots=True)
class SystemConfig:
    """A validated ``system:rest`` config; credentials are :class:`Secret` values."""

    id: str
    type: SystemType
    url_pattern: str  # contains one %s, replaced by the operation's rendered url
    operations: Mapping[str, Operation]
    authentication: AuthKind = "none"
    username: str | Secret | None = None
    password: str | Secret | None = None
    token: str | Secret | None = None
    headers: Mapping[str, str | Secret] = field(default_factory=dict)
    timeout: float = 30.0
    verify_ssl: bool = True
    retries: RetryConfig = field(default_factory=RetryConfig)
    file: str | None = None

    def secret_values(self) -> tuple[str, ...]:
        """Every non-empty secret value this system holds, for redaction of texts."""
        found: list[Secret] = [
            v for v in (self.username, self.password, self.token) if isinstance(v, Secret)
        ]
        found += [v for v in self.headers.values() if isinstance(v, Secret)]
        for op in self.operations.values():
            found += [
                v for v in (*op.params.values(), *op.headers.values()) if isinstance(v, Secret)
            ]
        return tuple(sorted({s.reveal() for s in found if s.reveal()}, key=len, reverse=True))


def template_names(template: Template) -> frozenset[str]:
    """The placeholder names used anywhere in a template.

    >>> sorted(template_names({"a": "{id}/x/{parent_id}", "b": ["{page}"]}))
    ['id', 'page', 'parent_id']
    """
    if isinstance(template, str):
        return frozenset(PLACEHOLDER_RE.findall(template))
    if isinstance(template, Mapping):
        return frozenset().union(*(template_names(v) for v in template.values()))
    if isinstance(template, list):
        return frozenset().union(*(template_names(v) for v in template))
    return frozenset()


# --------------------------------------------------------------------------- field readers


class _Fields:
    """Typed access to one JSON object's keys, reporting errors at their JSON path."""

    def __init__(self, raw: Any, allowed: tuple[str, ...], what: str, file: str, path: JsonPath):
        self.raw, self.file, self.path = cast(dict[str, Any], raw), file, path
        if not isinstance(raw, dict):
            raise self.fail(f"expected {what} to be an object, got {_kind(raw)}")
        for key in raw:
            if key not in allowed and key not in _COMMON:
                hint = f"{did_you_mean(key, allowed)}; known: {', '.join(allowed)}"
                raise self.fail(f"unknown key {key!r} in {what}{hint}", key)

    def fail(self, message: str, *keys: str) -> ConfigError:
        """A ConfigError located at this object (or at ``keys`` below it)."""
        return ConfigError(message, file=self.file, path=JsonPath((*self.path.parts, *keys)))

    def error(self, key: str, expected: str) -> ConfigError:
        return self.fail(f"expected {key!r} to be {expected}, got {_kind(self.raw[key])}", key)

    def text(self, key: str, default: str | None = None, *, secret: bool = False) -> Any:
        value = self.raw.get(key, default)
        if isinstance(value, str) or value is None or (secret and isinstance(value, Secret)):
            return value
        if isinstance(value, Secret):
            raise self.fail(f"$SECRET(...) is not allowed in {key!r}; only {_SECRET_HOLDERS}", key)
        raise self.error(key, "a string")

    def choice(self, key: str, options: tuple[str, ...], default: str | None) -> Any:
        value = self.text(key, default)
        if value is None:
            raise self.fail(f"missing required key {key!r}")
        if value not in options:
            hint = did_you_mean(value, options)
            raise self.fail(
                f"expected {key!r} to be one of {', '.join(options)}, got {value!r}{hint}", key
            )
        return value

    def number(self, key: str, default: float, *, integer: bool = False, minimum: float = 0) -> Any:
        value = self.raw.get(key, default)
        ok = isinstance(value, int) if integer else isinstance(value, int | float)
        if not ok or isinstance(value, bool) or value < minimum:
            raise self.error(key, f"{'an integer' if integer else 'a number'} >= {minimum}")
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.raw.get(key, default)
        if not isinstance(value, bool):
            raise self.error(key, "true or false")
        return value

    def jmespath(self, key: str) -> str | None:
        expression = self.text(key)
        if expression is not None:
            try:
                jmespath.compile(expression)
            except jmespath.exceptions.JMESPathError as e:
                raise self.fail(f"{key!r} is not a valid JMESPath expression: {e}", key) from e
        return cast("str | None", expression)

    def strings(self, key: str, *, placeholders: bool = True) -> dict[str, str | Secret]:
        value = self.raw.get(key, {})
        if not isinstance(value, dict):
            raise self.error(key, "an object of strings")
        out: dict[str, str | Secret] = {}
        for name, item in value.items():
            if isinstance(item, bool) or not isinstance(item, str | int | float | Secret):
                raise self.fail(
                    f"expected {key}.{name} to be a string, got {_kind(item)}", key, name
                )
            out[name] = item if isinstance(item, str | Secret) else str(item)
            if placeholders:
                _check_placeholders(item, self.file, self.path / key / name)
        return out


def _kind(value: Any) -> str:
    if isinstance(value, Secret):
        return "a secret"
    names = {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }
    return names.get(type(value), type(value).__name__)


def _check_placeholders(template: Any, file: str, path: JsonPath) -> None:
    if isinstance(template, Secret):
        return  # secrets are sent verbatim, never templated
    for name in sorted(template_names(template)):
        if name not in PLACEHOLDERS:
            raise ConfigError(
                f"unknown placeholder {{{name}}}{did_you_mean(name, PLACEHOLDERS)}; "
                f"known: {', '.join(PLACEHOLDERS)}",
                file=file,
                path=path,
            )


# --------------------------------------------------------------------------- parsers

_PAGINATION_KEYS = tuple(Pagination.__dataclass_fields__)
# Config keys are the dataclass fields, in Sesam spelling where it differs (`_id`, `payload`).
_OPERATION_KEYS = (
    "payload",
    *(k for k in Operation.__dataclass_fields__ if k not in ("name", "graphql")),
)
_SYSTEM_KEYS = (
    "_id",
    "base_url",
    *(k for k in SystemConfig.__dataclass_fields__ if k not in ("id", "file")),
)


def _pagination(raw: Any, file: str, path: JsonPath) -> Pagination:
    f = _Fields(raw, _PAGINATION_KEYS, "pagination", file, path)
    kind = f.choice("type", get_args(PaginationType), None)
    size = f.raw.get("page_size")
    pagination = Pagination(
        type=kind,
        page_param=f.text("page_param", "page"),
        size_param=f.text("size_param"),
        page_size=None if size is None else f.number("page_size", 1, integer=True, minimum=1),
        first_page=f.number("first_page", 1, integer=True),
        total_header=f.text("total_header"),
        total_expression=f.jmespath("total_expression"),
        total_pages_expression=f.jmespath("total_pages_expression"),
        cursor_param=f.text("cursor_param", "cursor"),
        cursor_expression=f.jmespath("cursor_expression"),
    )
    if kind == "cursor" and pagination.cursor_expression is None:
        raise f.fail("cursor pagination needs 'cursor_expression' (JMESPath to the next cursor)")
    if (pagination.size_param is None) != (pagination.page_size is None):
        raise f.fail("'size_param' and 'page_size' go together; got only one")
    return pagination


def _graphql(raw: Any, file: str, path: JsonPath) -> GraphQLRequest:
    f = _Fields(raw, ("query", "variables"), "a GraphQL payload", file, path)
    query = f.text("query")
    if not query:
        raise f.fail("a GraphQL payload needs a non-empty 'query'")
    variables = f.raw.get("variables", {})
    if not isinstance(variables, dict):
        raise f.error("variables", "an object")
    _reject_secrets(variables, file, path / "variables")
    _check_placeholders(variables, file, path / "variables")
    return GraphQLRequest(query=query, variables=variables)


def _reject_secrets(node: Any, file: str, path: JsonPath) -> None:
    if isinstance(node, Secret):
        raise ConfigError(
            f"$SECRET(...) is not allowed in a body template; only {_SECRET_HOLDERS}",
            file=file,
            path=path,
        )
    if isinstance(node, dict | list):
        for key, value in node.items() if isinstance(node, dict) else enumerate(node):
            _reject_secrets(value, file, path / key)


def _operation(name: str, raw: Any, file: str, path: JsonPath) -> Operation:
    f = _Fields(raw, _OPERATION_KEYS, f"operation {name!r}", file, path)
    graphql = _graphql(f.raw["payload"], file, path / "payload") if "payload" in f.raw else None
    method = f.choice("method", get_args(HttpMethod), "POST" if graphql else "GET")
    url = f.text("url", "")
    _check_placeholders(url, file, path / "url")
    is_mutation = graphql is not None and graphql.query.lstrip().startswith("mutation")
    default_idempotent = not is_mutation if graphql else method not in ("POST", "PATCH")
    pagination = Pagination()
    if "pagination" in f.raw:
        pagination = _pagination(f.raw["pagination"], file, path / "pagination")
    return Operation(
        name=name,
        method=method,
        url=url,
        params=f.strings("params"),
        headers=f.strings("headers"),
        payload_property=f.jmespath("payload_property"),
        id_expression=f.jmespath("id_expression"),
        updated_expression=f.jmespath("updated_expression"),
        since_param=f.text("since_param"),
        pagination=pagination,
        graphql=graphql,
        mutation_result=f.jmespath("mutation_result"),
        idempotent=f.flag("idempotent", default_idempotent),
    )


def load_system_config(
    raw: dict[str, Any],
    *,
    file: str,
    path: JsonPath,
    env: Mapping[str, str],
    secrets: Mapping[str, str],
) -> SystemConfig:
    """Validate one system object (after ``$ENV``/``$SECRET`` substitution) into a config.

    Raises:
        ConfigError: naming ``file``, the JSON path and what was expected instead.
    """
    f = _Fields(substitute(raw, env, secrets, file, path), _SYSTEM_KEYS, "a system", file, path)
    system_id = f.text("_id")
    if not system_id or "/" in system_id:
        raise f.fail(
            "a system needs an '_id': a non-empty string without '/'",
            *(["_id"] if "_id" in f.raw else []),
        )
    kind = f.choice("type", get_args(SystemType), None)
    if ("base_url" in f.raw) == ("url_pattern" in f.raw):
        raise f.fail("a system needs exactly one of 'base_url' or 'url_pattern'")
    url_key = "url_pattern" if "url_pattern" in f.raw else "base_url"
    pattern = f.text(url_key)
    if url_key == "base_url":
        pattern = pattern.rstrip("/") + "/%s"
    elif pattern.count("%s") != 1:
        raise f.fail("'url_pattern' must contain '%s' exactly once", url_key)
    if not pattern.startswith(("http://", "https://")):
        raise f.fail(f"expected an http(s) URL, got {pattern.replace('%s', '')!r}", url_key)
    auth = f.choice("authentication", get_args(AuthKind), "none")
    for needed, key in (("basic", "username"), ("bearer", "token")):
        if auth == needed and f.raw.get(key) is None:
            raise f.fail(f"authentication {needed!r} needs {key!r}")
    retries = RetryConfig()
    if "retries" in f.raw:
        keys = tuple(RetryConfig.__dataclass_fields__)
        r = _Fields(f.raw["retries"], keys, "retries", file, path / "retries")
        retries = RetryConfig(
            r.number("max_attempts", 5, integer=True, minimum=1),
            r.number("backoff", 0.5),
            r.number("max_backoff", 30.0),
            r.number("max_retry_after", 120.0),
        )
    ops_raw = f.raw.get("operations", {})
    if not isinstance(ops_raw, dict):
        raise f.error("operations", "an object of named operations")
    operations = {n: _operation(n, op, file, path / "operations" / n) for n, op in ops_raw.items()}
    return SystemConfig(
        id=system_id,
        type=kind,
        url_pattern=pattern,
        operations=operations,
        authentication=auth,
        username=f.text("username", secret=True),
        password=f.text("password", secret=True),
        token=f.text("token", secret=True),
        headers=f.strings("headers", placeholders=False),
        timeout=f.number("timeout", 30.0, minimum=0.001),
        verify_ssl=f.flag("verify_ssl", True),
        retries=retries,
        file=file,
    )


def load_systems(
    doc: Any, *, file: str, env: Mapping[str, str], secrets: Mapping[str, str]
) -> list[SystemConfig]:
    """Validate the parsed JSON of one systems file: one system object or a list of them."""
    if isinstance(doc, dict):
        return [load_system_config(doc, file=file, path=JsonPath(), env=env, secrets=secrets)]
    if not isinstance(doc, list):
        raise ConfigError(
            f"expected a system object or a list of them, got {_kind(doc)}",
            file=file,
            path=JsonPath(),
        )
    out: list[SystemConfig] = []
    for i, item in enumerate(doc):
        if not isinstance(item, dict):
            raise ConfigError(
                f"expected a system object, got {_kind(item)}", file=file, path=JsonPath() / i
            )
        out.append(
            load_system_config(item, file=file, path=JsonPath() / i, env=env, secrets=secrets)
        )
    return out


def load_systems_dir(
    directory: Path, *, env: Mapping[str, str], secrets: Mapping[str, str]
) -> dict[str, SystemConfig]:
    """Load every ``*.json`` in a systems directory, keyed by ``_id`` (ids must be unique)."""
    systems: dict[str, SystemConfig] = {}
    for file_path in sorted(directory.glob("*.json")):
        file = f"{directory.name}/{file_path.name}"
        try:
            doc = json.loads(file_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise ConfigError(
                f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}", file=file
            ) from e
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"cannot read the file: {e}", file=file) from e
        for system in load_systems(doc, file=file, env=env, secrets=secrets):
            if system.id in systems:
                raise ConfigError(
                    f"duplicate system _id {system.id!r}, first defined in "
                    f"{systems[system.id].file}",
                    file=file,
                )
            systems[system.id] = system
    return systems
