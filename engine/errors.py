"""One root error for the hub; every error says *where* (file, JSON path, pipe, entity) and *what*.

Only subclasses of :class:`HubError` cross package boundaries. Foreign exceptions (``duckdb.Error``,
``OSError``, ``json.JSONDecodeError``) are translated at one seam with ``raise ... from e``. The CLI
is the only place that turns them into text and exit codes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "CircuitBreakerTripped",
    "ConfigError",
    "ConnectorError",
    "DatasetError",
    "DtlArityError",
    "DtlError",
    "DtlEvalError",
    "DtlSyntaxError",
    "DtlUnknownFunction",
    "EntityError",
    "HubError",
    "JsonPath",
    "PipeRunError",
    "Stage",
    "did_you_mean",
]

Stage = Literal["source", "transform", "sink"]


@dataclass(frozen=True, slots=True)
class JsonPath:
    """A location inside a JSON document, rendered as ``$.transform[0].rules.default[2][1]``.

    >>> str(JsonPath() / "transform" / 0 / "rules" / "a.b")
    "$.transform[0].rules['a.b']"
    """

    parts: tuple[str | int, ...] = ()

    def __truediv__(self, part: str | int) -> JsonPath:
        return JsonPath((*self.parts, part))

    def __str__(self) -> str:
        out = ["$"]
        for part in self.parts:
            if isinstance(part, int):
                out.append(f"[{part}]")
            elif part.replace("_", "a").replace("-", "a").replace("$", "a").isalnum():
                out.append(f".{part}")
            else:
                out.append(f"[{part!r}]")
        return "".join(out)

    def resolve(self, doc: Any) -> Any:
        """Return the value this path points at inside ``doc`` (tests use it to check locations)."""
        node = doc
        for part in self.parts:
            node = node[part]
        return node


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """A ``" (did you mean 'x'?)"`` suffix, or ``""`` when nothing is close."""
    import difflib

    close = difflib.get_close_matches(word, sorted(candidates), n=3, cutoff=0.6)
    if not close:
        return ""
    return " (did you mean " + " or ".join(repr(c) for c in close) + "?)"


class HubError(Exception):
    """Root of every error the hub raises on purpose.

    Attributes name the location so tools (``pipe validate --json``) can read them without
    parsing text: ``file``, ``path`` (a :class:`JsonPath`), ``pipe``, ``entity_id``, ``snippet``.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        path: JsonPath | None = None,
        pipe: str | None = None,
        entity_id: str | None = None,
        snippet: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.path = path
        self.pipe = pipe
        self.entity_id = entity_id
        self.snippet = snippet

    def located(self, **where: Any) -> HubError:
        """Fill in location fields that are still unknown (used as the error leaves a layer)."""
        for key, value in where.items():
            if value is not None and getattr(self, key, None) is None:
                setattr(self, key, value)
        return self

    def where(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file)
        if self.path is not None and self.path.parts:
            parts.append(str(self.path))
        if self.pipe and not self.file:
            parts.append(f"pipe {self.pipe!r}")
        if self.entity_id is not None:
            parts.append(f"entity {self.entity_id!r}")
        return ": ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        text = f"{where}: {self.message}" if where else self.message
        if self.snippet is not None:
            try:
                snippet = json.dumps(self.snippet, ensure_ascii=False, default=str)
            except (TypeError, ValueError):
                snippet = repr(self.snippet)
            if len(snippet) > 200:
                snippet = snippet[:197] + "..."
            text += f"\n    {snippet}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": type(self).__name__,
            "message": self.message,
            "file": self.file,
            "path": str(self.path) if self.path is not None else None,
            "pipe": self.pipe,
            "entity_id": self.entity_id,
            "snippet": self.snippet,
        }


class EntityError(HubError):
    """A value that cannot be represented in Sesam's entity model (e.g. NaN, a non-string _id)."""


class ConfigError(HubError):
    """A pipe or system config that is malformed: bad JSON, unknown key or type, wrong shape."""


class DtlError(HubError):
    """Any DTL problem; subclasses say whether it was found at compile time or run time."""


class DtlSyntaxError(DtlError):
    """A malformed expression shape (e.g. an expression list that does not start with a name)."""


class DtlUnknownFunction(DtlError):
    """A function name the registry does not know."""


class DtlArityError(DtlError):
    """A function called with too few or too many arguments."""


class DtlEvalError(DtlError):
    """A failure while evaluating DTL on one entity (``fail!`` included)."""


class DatasetError(HubError):
    """A failure in the dataset store (wraps ``duckdb.Error``)."""


class ConnectorError(HubError):
    """A failure talking to a system: HTTP errors after retries, bad responses."""


class CircuitBreakerTripped(HubError):
    """A run would have written more changes than the sink's circuit breaker allows."""


class PipeRunError(HubError):
    """A pipe run failed in one stage; ``cause`` is the underlying error."""

    def __init__(self, pipe: str, stage: Stage, cause: BaseException) -> None:
        inner = str(cause)
        super().__init__(f"pipe {pipe!r} failed in {stage}: {inner}", pipe=pipe)
        self.stage = stage
        self.cause = cause
        if isinstance(cause, HubError):
            self.file = cause.file
            self.path = cause.path
            self.entity_id = cause.entity_id

    def __str__(self) -> str:
        return self.message
