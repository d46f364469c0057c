"""Decide per pipe whether it runs as compiled SQL, and say why not when it cannot.

A pipe takes the SQL path when it is ``dataset`` source → one ``dtl`` transform → ``dataset``
sink, without ``add_namespaces``/``remove_namespaces`` and without source options that change
which versions are read (namespaced identifiers are compiled: :mod:`engine.sqlc.names`), and every transform and expression of its ``default`` rule is in the compiled subset
(:mod:`engine.sqlc.rules`, :mod:`engine.sqlc.expressions`). Otherwise :func:`plan_pipe` returns a
:class:`Refusal` naming the reason and the JSON path of the offending part of the config, and the
runner uses the interpreter. The rules are first compiled by the interpreter's own compiler, so a
config error is reported exactly as on the interpreter path.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.config.pipes import PipeConfig
from engine.dtl import RunContext, compile_transform
from engine.dtl.nodes import Node
from engine.dtl.parser import parse
from engine.errors import DtlError, JsonPath
from engine.sqlc.frame import NotCompilable
from engine.sqlc.names import PLAIN, Naming
from engine.sqlc.rules import CompiledQuery, compile_default_rule

if TYPE_CHECKING:
    from engine.sqlc.executor import Mode, SqlBatch
    from engine.store import Store

__all__ = ["Refusal", "SqlPlan", "plan_pipe"]

_SOURCE_OPTIONS = ("include_previous_versions", "subset")


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a pipe runs on the interpreter: a reason and where in the pipe config."""

    reason: str
    path: JsonPath | None = None
    file: str | None = None

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path is not None else ""
        return f"{where}{self.reason}"


@dataclass(frozen=True, slots=True)
class SqlPlan:
    """A pipe compiled to SQL. ``sql`` is the query for the keys the rules name."""

    pipe: PipeConfig
    rules: Mapping[str, Any]
    rule: Node
    id_required: bool
    source: str
    sink: str
    query: CompiledQuery
    naming: Naming = PLAIN
    """The pipe's namespaced identifiers, as the rules are compiled with them."""

    @property
    def sql(self) -> str:
        return self.query.sql

    @property
    def tracked_hops(self) -> list[str]:
        """Datasets hopped with dependency tracking on; the runner interprets such pipes, because
        the compiled path does not record ``hub_deps`` rows (``track-dependencies: false`` opts
        out of tracking and into SQL)."""
        return sorted({h.dataset for h in self.query.hops if h.track})

    def compile_for(
        self,
        universe: list[str],
        *,
        complete: bool = True,
        fast: bool = True,
        unique_hops: bool = False,
    ) -> CompiledQuery:
        """The query for a discovered set of source keys (wildcard ``copy`` patterns).

        ``complete=False`` (keys from a sample) adds the per-row check that a body holds no
        other key; such rows fall back to the interpreter. ``fast=False``: the general query,
        which dispatches on value types per row instead of flagging unusual ones.
        ``unique_hops``: the hopped keys are unique this run (plain LEFT JOINs).
        """
        if not self.query.wildcard and fast and not (unique_hops and self.query.hops):
            return self.query
        return compile_default_rule(
            self.rule,
            universe,
            verify_keys=not complete,
            fast=fast,
            unique_hops=unique_hops,
            naming=self.naming,
        )

    def execute(
        self,
        store: Store,
        since: int | None,
        *,
        until: int | None = None,
        chunk_size: int = 250_000,
        sample_rows: int = 20_000,
        mode: Mode = "adaptive",
    ) -> Iterator[SqlBatch]:
        """Run over the source versions after ``since``; see :func:`engine.sqlc.executor.run`."""
        from engine.sqlc.executor import run

        return run(
            self,
            store,
            since,
            until=until,
            chunk_size=chunk_size,
            sample_rows=sample_rows,
            mode=mode,
        )


def plan_pipe(pipe: PipeConfig) -> SqlPlan | Refusal:
    """The SQL plan of a pipe, or why it takes the interpreter path."""
    if pipe.source.type != "dataset":
        return Refusal(
            f"source type {pipe.source.type!r} is not compiled",
            pipe.source.path / "type",
            pipe.file,
        )
    for option in _SOURCE_OPTIONS:
        if pipe.source.raw.get(option) not in (None, False):
            return Refusal(
                f"source option {option!r} is not compiled", pipe.source.path / option, pipe.file
            )
    if pipe.source.raw.get("include_replaced", True) is not True:
        return Refusal(
            "source option 'include_replaced' is not compiled",
            pipe.source.path / "include_replaced",
            pipe.file,
        )
    if pipe.sink.type != "dataset" or not pipe.sink_dataset:
        return Refusal(
            f"sink type {pipe.sink.type!r} is not compiled", pipe.sink.path / "type", pipe.file
        )
    if pipe.sink_dataset == pipe.source.raw.get("dataset"):
        return Refusal(
            "a pipe writing its own source dataset is not compiled", pipe.sink.path, pipe.file
        )
    for flag in ("add_namespaces", "remove_namespaces"):
        if pipe.namespaced_identifiers and getattr(pipe, flag):
            return Refusal(f"{flag!r} is not compiled", JsonPath() / flag, pipe.file)
    if len(pipe.transforms) != 1 or pipe.transforms[0].type != "dtl":
        where = pipe.transforms[1].path if len(pipe.transforms) > 1 else JsonPath() / "transform"
        return Refusal("only a pipe with exactly one dtl transform is compiled", where, pipe.file)
    transform = pipe.transforms[0]
    rules = transform.raw["rules"]
    rules_path = transform.path / "rules"
    id_required = transform.raw.get("id_required", True) is not False
    try:
        compile_transform(rules, file=pipe.file, path=rules_path, id_required=id_required)
    except DtlError as e:
        return Refusal(f"the rules do not compile: {e.message}", e.path, pipe.file)
    rule = parse(rules["default"], rules_path / "default")
    naming = Naming.of(
        RunContext(
            pipe_id=pipe.id,
            namespaced_identifiers=pipe.namespaced_identifiers,
            identity_namespace=pipe.identity_namespace,
            property_namespace=pipe.property_namespace,
        )
    )
    try:
        query = compile_default_rule(rule, naming=naming)
    except NotCompilable as e:
        return Refusal(_message(e), e.path, pipe.file)
    return SqlPlan(
        pipe=pipe,
        rules=rules,
        rule=rule,
        id_required=id_required,
        source=str(pipe.source.raw["dataset"]),
        sink=pipe.sink_dataset,
        query=query,
        naming=naming,
    )


def _message(error: NotCompilable) -> str:
    return str(error.args[0]) if error.args else str(error)
