"""Compile parsed DTL into closures, once per pipe run; evaluate them per entity.

Design notes
------------
* Every node becomes an :data:`~engine.dtl.registry.Evaluator` (``Callable[[Env], Any]``).
  Function lookup, arity and the shape of special arguments are checked here, at compile time,
  with the JSON path of the offending sub-expression, so one bad rule fails ``pipe validate``
  before any entity is read.
* The position decides the kind: an element of a rule list (or of an ``if``/``case`` branch) is
  looked up among the *transform* functions, every argument among the *expression* functions.
  ``filter``, ``if``, ``case``, ``merge`` ... exist as both.
* Eager functions get evaluated arguments (``impl(*values)``), lazy ones get evaluators
  (``impl(env, *evaluators)``), and functions with a ``compile_args`` hook get whatever the hook
  built from the raw nodes (``impl(env, *built)``). The hook is called as
  ``compile_args(call, compiler)`` and may use :meth:`Compiler.expr`,
  :meth:`Compiler.transforms`, :meth:`Compiler.fail` and :meth:`Compiler.parse`.
* Evaluators of calls are built in :mod:`engine.dtl.binding`, of literals and variable paths in
  :mod:`engine.dtl.leaves` (both specialised by shape: they are the per-entity hot path).
* Runtime failures are wrapped once, at the innermost call, into :class:`DtlEvalError` carrying
  that call's path; :class:`CompiledTransform` adds the entity ``_id`` on the way out.
* In *collect* mode (``validate_rules``) errors are appended instead of raised and compilation
  carries on with a placeholder, so every problem of a config is reported at once.
"""

from __future__ import annotations

from typing import Any

from engine.dtl.binding import bind_eager, bind_lazy
from engine.dtl.env import Env, RunContext
from engine.dtl.leaves import compile_literal, compile_path
from engine.dtl.nodes import Call, Literal, Node, PathRef, Seq
from engine.dtl.parser import parse
from engine.dtl.registry import Evaluator, FunctionKind, FunctionRegistry
from engine.entity import Entity
from engine.errors import DtlError, DtlEvalError, DtlSyntaxError, JsonPath

__all__ = ["CompiledTransform", "Compiler", "run_rule"]

RuleBody = tuple[Evaluator, ...]

_HOPS_NAMES = frozenset({"hops", "apply-hops"})


def _null(env: Env) -> Any:
    return None


def run_rule(body: RuleBody, env: Env) -> None:
    """Run the transforms of one rule in order until one of them stops the rule."""
    for transform in body:
        transform(env)
        if env.stopped is not None:
            return


def contains_hops(raw: Any) -> bool:
    """Whether a raw rule calls ``hops``/``apply-hops`` anywhere (``comment`` excluded)."""
    stack = [raw]  # iterative: a config may nest deeper than Python's recursion limit
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            if item and isinstance(item[0], str):
                if item[0] in _HOPS_NAMES:
                    return True
                if item[0] in ("comment", "literal"):
                    continue
            stack.extend(item)
    return False


class Compiler:
    """Turns nodes into evaluators against one function registry; see the module notes."""

    def __init__(
        self,
        functions: FunctionRegistry,
        *,
        file: str | None = None,
        collect: bool = False,
        rule_names: frozenset[str] = frozenset(),
        rules_with_hops: frozenset[str] = frozenset(),
    ) -> None:
        self.functions = functions
        self.file = file
        self.collect = collect
        self.errors: list[DtlError] = []
        self.rule_names = rule_names
        self.rules_with_hops = rules_with_hops
        self.hops_datasets: set[str] = set()
        """Datasets hopped to with dependency tracking on."""
        self.hopped_datasets: set[str] = set()
        """Every dataset named in a hops spec (tracked or not), for the pipe graph."""
        self.uses_hops = False

    # -- errors -------------------------------------------------------------------------------

    def fail(self, error: DtlError) -> None:
        """Raise ``error`` (immediate mode) or record it (collect mode)."""
        error.located(file=self.file)
        if not self.collect:
            raise error
        self.errors.append(error)

    def syntax_error(self, message: str, node: Node) -> Evaluator:
        self.fail(DtlSyntaxError(message, path=node.path, snippet=node.raw))
        return _null

    @staticmethod
    def parse(raw: Any, path: JsonPath, aliases: frozenset[str] = frozenset()) -> Node:
        return parse(raw, path, aliases)

    # -- expressions --------------------------------------------------------------------------

    def expr(self, node: Node) -> Evaluator:
        """Compile a node in expression position."""
        if isinstance(node, Literal):
            return compile_literal(node.value)
        if isinstance(node, PathRef):
            return compile_path(node.variable, node.steps)
        if isinstance(node, Call):
            return self.call(node, "expression")
        if isinstance(node, Seq):
            return self.syntax_error(
                "an expression list must start with a function name"
                ' (build a literal list with ["list", ...])',
                node,
            )
        return self.syntax_error(node.message, node)

    def exprs(self, nodes: tuple[Node, ...]) -> tuple[Evaluator, ...]:
        return tuple(self.expr(n) for n in nodes)

    # -- transforms ---------------------------------------------------------------------------

    def transforms(self, node: Node) -> RuleBody:
        """Compile one transform (``["add", ...]``) or a list of them (``[[...], ...]``)."""
        if isinstance(node, Call):
            return (self.call(node, "transform"),)
        if isinstance(node, Seq):
            out = []
            for item in node.items:
                if isinstance(item, Call):
                    out.append(self.call(item, "transform"))
                else:
                    self.syntax_error("expected a transform: a list starting with its name", item)
            return tuple(out)
        self.syntax_error("expected a transform or a list of transforms", node)
        return ()

    def rule(self, node: Node) -> RuleBody:
        """Compile a named rule: a list of transforms."""
        if not isinstance(node, Seq):
            self.syntax_error('a rule is a list of transforms, e.g. [["copy", "*"]]', node)
            return ()
        return self.transforms(node)

    # -- calls --------------------------------------------------------------------------------

    def call(self, node: Call, kind: FunctionKind) -> Evaluator:
        try:
            spec = self.functions.lookup(kind, node.name, node.path, node.raw)
            spec.check_arity(len(node.args), node.path, node.raw)
        except DtlError as e:
            # Arguments of an unknown or mis-called function are not compiled: their position
            # (expression, transform, pattern) is unknown, so errors there would be guesses.
            self.fail(e)
            return _null
        if spec.compile_args is not None:
            built = tuple(spec.compile_args(node, self))
            return bind_lazy(spec, node, built)
        args = self.exprs(node.args)
        if spec.lazy:
            return bind_lazy(spec, node, args)
        return bind_eager(spec, node, args)


class CompiledTransform:
    """The compiled ``rules`` of one DTL transform; apply it to each source entity."""

    def __init__(
        self,
        rules: dict[str, RuleBody],
        *,
        uses_hops: bool,
        hops_datasets: set[str],
        hopped_datasets: set[str] | None = None,
        id_required: bool = False,
    ) -> None:
        self.rules = rules
        self.id_required = id_required
        """Sesam's ``id_required`` transform property: outputs must have a string ``_id``."""
        self.uses_hops = uses_hops
        self.hops_datasets = frozenset(hops_datasets)
        """Datasets to track dependencies on (hops with ``track-dependencies`` on)."""
        self.hopped_datasets = frozenset(hopped_datasets or hops_datasets)
        """Every dataset a hops spec reads, tracked or not."""

    def apply(
        self, entity: Entity, ctx: RunContext, *, target: dict[str, Any] | None = None
    ) -> list[Entity]:
        """Run the ``default`` rule on ``entity``: ``_T`` first (unless dropped), then creates.

        A ``filter`` that stops the rule emits ``_T`` with ``_filtered: true`` when the sink is a
        dataset (so the sink can delete a previous version); ``discard`` emits nothing.
        """
        env = Env(
            S=entity,
            T=dict(target) if target else {},
            ctx=ctx,
            rules=self.rules,
            id_required=self.id_required,
        )
        try:
            run_rule(self.rules["default"], env)
        except DtlError as e:
            entity_id = entity.get("_id") if isinstance(entity, dict) else None
            raise e.located(
                entity_id=entity_id if isinstance(entity_id, str) else None, file=ctx.file
            ) from None
        out: list[Entity] = []
        if env.stopped is None:
            if self.id_required and not isinstance(env.T.get("_id"), str):
                entity_id = entity.get("_id") if isinstance(entity, dict) else None
                raise DtlEvalError(
                    "the target entity needs a string _id (the transform has id_required);"
                    f" got {env.T.get('_id')!r}",
                    entity_id=entity_id if isinstance(entity_id, str) else None,
                    file=ctx.file,
                )
            out.append(env.T)
        elif env.stopped == "filter" and ctx.sink_is_dataset:
            if "_id" not in env.T and isinstance(entity, dict) and "_id" in entity:
                env.T["_id"] = entity["_id"]
            env.T["_filtered"] = True
            out.append(env.T)
        out.extend(env.created)
        return out


def compile_rules(compiler: Compiler, rules: Any, path: JsonPath) -> dict[str, RuleBody]:
    """Compile every named rule of a ``rules`` dict (``default`` is required)."""
    if not isinstance(rules, dict):
        compiler.fail(
            DtlSyntaxError(
                f"rules must be a dict of rule name -> list of transforms, got {type(rules).__name__}",
                path=path,
                snippet=rules,
            )
        )
        return {"default": ()}
    if "default" not in rules:
        compiler.fail(DtlSyntaxError("rules must have a 'default' rule", path=path, snippet=rules))
    compiled: dict[str, RuleBody] = {}
    for name, body in rules.items():
        try:
            compiled[name] = compiler.rule(parse(body, path / name))
        except RecursionError:
            compiler.fail(DtlSyntaxError("rule is nested too deeply", path=path / name))
            compiled[name] = ()
    compiled.setdefault("default", ())
    return compiled


def new_compiler(
    functions: FunctionRegistry, rules: Any, *, file: str | None, collect: bool
) -> Compiler:
    """A compiler that knows the rule names (for ``apply``) and which rules contain hops."""
    names = frozenset(rules) if isinstance(rules, dict) else frozenset()
    with_hops = (
        frozenset(n for n, body in rules.items() if contains_hops(body))
        if isinstance(rules, dict)
        else frozenset()
    )
    return Compiler(
        functions, file=file, collect=collect, rule_names=names, rules_with_hops=with_hops
    )
