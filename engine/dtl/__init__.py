"""DTL, Sesam's Data Transformation Language: parse → compile once → evaluate per entity.

Public API (tests, notebooks and the pipe runner rely on these names)::

    evaluate(["upper", "_S.name"], {"_id": "1", "name": "ann"})          # -> "ANN"
    transform({"default": [["copy", "*"]]}, entity, pipe={...})          # -> [entities]
    compiled = compile_transform(rules, file="pipes/p.conf.json",
                                 path=JsonPath() / "transform" / 0 / "rules")
    compiled.apply(entity, RunContext(...))                               # per entity
    validate_rules(rules)                                                 # -> [DtlError]

Values in and out are typed Python values of :mod:`engine.entity` (``engine.entity.dumps``
renders them as Sesam JSON). ``datasets`` maps a dataset name to a list of entities (a log: the
last version of an ``_id`` wins) for ``hops``/``lookup-entity``; ``pipe`` is a pipe config dict
(``_id``, ``namespaced_identifiers``, ``namespaces``, ``sink``, ``source``) that sets the
:class:`RunContext`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.dtl.compiler import CompiledTransform, Compiler, compile_rules, new_compiler
from engine.dtl.env import DatasetLookup, Env, IndexKey, RunContext
from engine.dtl.functions import BUILTINS
from engine.dtl.functions.transforms import DtlTripError
from engine.dtl.memory import MemoryDatasets
from engine.dtl.namespaces import add_namespaces, remove_namespaces
from engine.dtl.parser import parse
from engine.dtl.registry import Evaluator, FunctionRegistry
from engine.entity import Entity
from engine.errors import DtlError, JsonPath

ROOT = JsonPath()
"""The empty JSON path (``$``): the default location of rules passed in directly."""

__all__ = [
    "BUILTINS",
    "ROOT",
    "CompiledTransform",
    "DatasetLookup",
    "DtlTripError",
    "Env",
    "IndexKey",
    "MemoryDatasets",
    "RunContext",
    "compile_expression",
    "compile_transform",
    "context_for",
    "evaluate",
    "transform",
    "validate_rules",
]


def compile_transform(
    rules: dict[str, Any],
    *,
    functions: FunctionRegistry = BUILTINS,
    file: str | None = None,
    path: JsonPath = ROOT,
    id_required: bool = False,
) -> CompiledTransform:
    """Compile a ``rules`` dict once; raises the first :class:`DtlError` found.

    ``path`` is where the rules sit in their config (``$.transform[0].rules``); error paths are
    prefixed with it. ``id_required`` is the DTL transform's property of that name (Sesam's
    default for pipes is true): the main output must have a string ``_id`` and ``create`` /
    ``create-child`` fail on non-entities instead of ignoring them.
    """
    compiler = new_compiler(functions, rules, file=file, collect=False)
    compiled = compile_rules(compiler, rules, path)
    return CompiledTransform(
        compiled,
        uses_hops=compiler.uses_hops,
        hops_datasets=compiler.hops_datasets,
        hopped_datasets=compiler.hopped_datasets,
        id_required=id_required,
    )


def validate_rules(
    rules: Any,
    *,
    functions: FunctionRegistry = BUILTINS,
    file: str | None = None,
    path: JsonPath = ROOT,
) -> list[DtlError]:
    """Every compile error of a ``rules`` dict (empty when it compiles), for ``pipe validate``."""
    compiler = new_compiler(functions, rules, file=file, collect=True)
    compile_rules(compiler, rules, path)
    return compiler.errors


def compile_expression(
    expression: Any,
    *,
    functions: FunctionRegistry = BUILTINS,
    file: str | None = None,
    path: JsonPath = ROOT,
    aliases: frozenset[str] = frozenset(),
) -> Evaluator:
    """Compile one expression into an evaluator ``Callable[[Env], Any]``.

    ``aliases`` makes ``"<alias>.prop"`` strings variable paths read from ``env.aliases``
    (merge equality rules use this, as ``hops`` does).
    """
    return Compiler(functions, file=file).expr(parse(expression, path, aliases))


def context_for(
    pipe: Mapping[str, Any] | None = None,
    datasets: Mapping[str, Sequence[Entity]] | None = None,
) -> RunContext:
    """The run context of the convenience API: pipe settings plus in-memory datasets.

    When the pipe's source is a dataset present in ``datasets``, the entities listed there are
    the *earlier* versions of the source, so ``is-changed`` compares against the last of them.
    """
    store = MemoryDatasets(datasets or {})
    previous = None
    source = pipe.get("source") if pipe else None
    if isinstance(source, dict) and source.get("type", "dataset") == "dataset":
        name = source.get("dataset")
        if isinstance(name, str) and store.exists(name):

            def previous(entity_id: str) -> Entity | None:
                return store.get(name, entity_id)

    return RunContext.from_pipe(dict(pipe) if pipe else None, datasets=store, previous=previous)


def evaluate(
    expression: Any,
    source: Any,
    target: dict[str, Any] | None = None,
    *,
    datasets: Mapping[str, Sequence[Entity]] | None = None,
    pipe: Mapping[str, Any] | None = None,
    functions: FunctionRegistry = BUILTINS,
) -> Any:
    """Evaluate one DTL expression with ``_S`` = ``source`` and ``_T`` = ``target``."""
    evaluator = compile_expression(expression, functions=functions)
    env = Env(S=source, T=target if target is not None else {}, ctx=context_for(pipe, datasets))
    try:
        return evaluator(env)
    except DtlError as e:
        entity_id = source.get("_id") if isinstance(source, dict) else None
        raise e.located(entity_id=entity_id if isinstance(entity_id, str) else None) from None


def transform(
    rules: dict[str, Any],
    entity: Entity,
    *,
    target: dict[str, Any] | None = None,
    datasets: Mapping[str, Sequence[Entity]] | None = None,
    pipe: Mapping[str, Any] | None = None,
    functions: FunctionRegistry = BUILTINS,
) -> list[Entity]:
    """Run ``rules`` on one entity: the main ``_T`` first (unless dropped), then created ones.

    As in a pipe, ``"add_namespaces": true`` namespaces the entity before the first transform
    and ``"remove_namespaces": true`` strips the outputs after the last one.
    """
    compiled = compile_transform(rules, functions=functions)
    ctx = context_for(pipe, datasets)
    if pipe and pipe.get("add_namespaces") is True and isinstance(entity, dict):
        entity = add_namespaces(entity, ctx.identity_ns, ctx.property_ns)
    out = compiled.apply(entity, ctx, target=target)
    if pipe and pipe.get("remove_namespaces") is True:
        out = [remove_namespaces(e) for e in out]
    return out
