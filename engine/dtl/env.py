"""The evaluation environment of DTL: variables of one context plus the pipe-run context.

An :class:`Env` is what every compiled evaluator receives. It holds the DTL variables of the
current context (``_S``, ``_T``, ``_P``, ``_R``, ``_B`` and ``_``), the hops aliases bound while a
``hops`` expression runs, and a shared :class:`RunContext` for things that belong to the pipe run
(namespaces, dataset lookups for hops, the clock, the dependency recorder).

Envs are cheap: :meth:`Env.bind` makes a copy with ``_`` bound, which function-expressions use
per element; it is written out by hand (not ``dataclasses.replace``) because it runs per element.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from engine.entity import Entity

__all__ = ["DatasetLookup", "DependencyRecorder", "Env", "IndexKey", "RunContext"]


@dataclass(frozen=True, slots=True)
class IndexKey:
    """A functional index over a dataset, as used by one side of a hops/merge join.

    ``name`` is a stable text for the expression (canonical JSON of the alias-side expression
    with the alias normalised to ``"_"``, plus the namespace context when namespaced identifiers
    are on), so equal expressions share an index. ``values`` computes the key values of one
    entity (a flat list; nulls are never indexed).
    """

    name: str
    values: Callable[[Entity], list[Any]]


class DatasetLookup(Protocol):
    """What DTL needs from the dataset store: indexed lookups, never scans.

    The store implements it over DuckDB; ``engine.dtl`` ships an in-memory one for tests and
    notebooks (``datasets={"name": [entities]}``).
    """

    def exists(self, dataset: str) -> bool: ...

    def get(self, dataset: str, entity_id: str) -> Entity | None:
        """The latest version of one entity (deleted ones included), or ``None``."""
        ...

    def find(self, dataset: str, key: IndexKey, values: Sequence[Any]) -> list[Entity]:
        """Latest, non-deleted entities whose key values overlap ``values``, ordered by ``_id``."""
        ...


class DependencyRecorder(Protocol):
    """Receives the hops a source entity made, so the runner can re-emit it when they change."""

    def record(self, dataset: str, key: IndexKey, values: Sequence[Any]) -> None: ...


@dataclass(slots=True)
class RunContext:
    """Per pipe-run settings and services shared by every Env of that run."""

    pipe_id: str | None = None
    namespaced_identifiers: bool = False
    identity_namespace: str | None = None
    property_namespace: str | None = None
    sink_is_dataset: bool = True
    datasets: DatasetLookup | None = None
    dependencies: DependencyRecorder | None = None
    now: Callable[[], _dt.datetime] = field(default=lambda: _dt.datetime.now(_dt.UTC))
    previous: Callable[[str], Entity | None] | None = None
    """Previous version of a source entity by ``_id`` (for ``is-changed``), if the source has one."""
    file: str | None = None

    @property
    def identity_ns(self) -> str:
        """The identity namespace: ``namespaces.identity``, defaulting to the pipe id."""
        return self.identity_namespace or self.pipe_id or ""

    @property
    def property_ns(self) -> str:
        """The property namespace: ``namespaces.property``, defaulting to the pipe id."""
        return self.property_namespace or self.pipe_id or ""

    @classmethod
    def from_pipe(cls, pipe: dict[str, Any] | None, **services: Any) -> RunContext:
        """The context a pipe config sets: id, namespaces and whether its sink is a dataset.

        A pipe without ``sink`` (or with ``"type": "dataset"``) has a dataset sink, as in Sesam.
        """
        if not pipe:
            return cls(**services)
        namespaces = pipe.get("namespaces") or {}
        sink = pipe.get("sink")
        sink_type = sink.get("type", "dataset") if isinstance(sink, dict) else "dataset"
        pipe_id = pipe.get("_id")
        return cls(
            pipe_id=pipe_id if isinstance(pipe_id, str) else None,
            namespaced_identifiers=pipe.get("namespaced_identifiers") is True,
            identity_namespace=namespaces.get("identity"),
            property_namespace=namespaces.get("property"),
            sink_is_dataset=sink_type == "dataset",
            **services,
        )


@dataclass(slots=True)
class Env:
    """Variables of one DTL context; see the module docstring."""

    S: Any
    T: dict[str, Any]
    ctx: RunContext
    P: Env | None = None
    R: Env | None = None
    B: Any = None
    current: Any = None
    created: list[Entity] = field(default_factory=list)
    rules: dict[str, Any] = field(default_factory=dict)
    """Compiled named rules of the transform (for ``apply``/``apply-hops``)."""
    stopped: str | None = None
    """Set by ``filter``/``discard`` (``"filter"`` or ``"discard"``) to stop the rule."""
    aliases: dict[str, Any] | None = None
    """Hops aliases bound to entities while a ``hops`` where/return expression runs."""
    id_required: bool = False
    """The DTL transform's ``id_required``: ``create``/``create-child`` fail on non-entities."""

    def bind(self, value: Any) -> Env:
        """A copy with ``_`` bound to ``value`` (for function-expressions)."""
        return Env(
            self.S,
            self.T,
            self.ctx,
            self.P,
            self.R,
            self.B,
            value,
            self.created,
            self.rules,
            None,
            self.aliases,
            self.id_required,
        )

    def rebind(self, value: Any) -> Env:
        """This Env with ``_`` set to ``value``: for an Env from :meth:`bind` that a loop reuses.

        Function-expressions only read their Env while they run (a child context of ``apply``
        or a hops alias Env is a new object), so one bound Env can serve every element; that
        saves an allocation per element in ``filter``/``any``/``all``.
        """
        self.current = value
        return self

    def with_aliases(self, aliases: dict[str, Any], source: Any = None) -> Env:
        """A copy with hops aliases bound (and ``_S`` replaced when ``source`` is given)."""
        return Env(
            self.S if source is None else source,
            self.T,
            self.ctx,
            self.P,
            self.R,
            self.B,
            self.current,
            self.created,
            self.rules,
            None,
            aliases,
            self.id_required,
        )

    def with_source(self, source: Any) -> Env:
        """A copy reading another ``_S`` (``is-changed`` reads the previous version)."""
        return Env(
            source,
            self.T,
            self.ctx,
            self.P,
            self.R,
            self.B,
            self.current,
            self.created,
            self.rules,
            None,
            self.aliases,
            self.id_required,
        )

    def child(self, source: Any) -> Env:
        """A fresh context for ``apply``: ``_S`` = source, new ``_T``, ``_P`` = this env."""
        return Env(
            S=source,
            T={},
            ctx=self.ctx,
            P=self,
            R=self.R if self.R is not None else self,
            B=self.B,
            created=self.created,
            rules=self.rules,
            id_required=self.id_required,
        )

    def as_dict(self) -> dict[str, Any]:
        """The ``_P``/``_R`` view of this context: ``{"_S", "_T", "_P"?}`` (never ``_R``)."""
        out: dict[str, Any] = {"_S": self.S, "_T": self.T}
        if self.P is not None:
            out["_P"] = self.P.as_dict()
        return out
