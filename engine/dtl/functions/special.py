"""DTL special expression forms: conditionals, logic, ``literal``, ``path``, ``apply``, ``hops``.

These are the expression functions that need more than evaluated arguments: lazy evaluation
(``if``, ``and``, ``coalesce-args`` short-circuit), the raw argument (``literal``), the compiled
rules (``apply``), dataset lookups (``hops``, ``lookup-entity``) or the previous version of the
source entity (``is-changed``). The plain expression library lives in the sibling modules.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from engine.dtl.compiler import RuleBody, run_rule
from engine.dtl.env import Env
from engine.dtl.hops import HopsPlan, compile_hops_specs
from engine.dtl.joins import run_hops
from engine.dtl.namespaces import NamespaceConfig, add_namespaces
from engine.dtl.nodes import Call, Literal
from engine.dtl.paths import walk
from engine.dtl.registry import Evaluator, SpecCollector
from engine.dtl.values import as_list, dtl_eq, truthy, values_equal
from engine.entity import decode, is_deleted
from engine.errors import DtlEvalError, DtlSyntaxError, did_you_mean

if TYPE_CHECKING:
    from engine.dtl.compiler import Compiler

__all__ = ["FUNCTIONS"]

FUNCTIONS = SpecCollector()


# -- conditionals and logic -----------------------------------------------------------------


@FUNCTIONS.expression("if", min_args=2, max_args=3, lazy=True)
def if_(env: Env, condition: Evaluator, then: Evaluator, otherwise: Evaluator | None = None) -> Any:
    """THEN if CONDITION is true, else ELSE (``null`` without ELSE); only one branch runs."""
    if truthy(condition(env)):
        return then(env)
    return otherwise(env) if otherwise is not None else None


@FUNCTIONS.expression("case", min_args=2, max_args=None, lazy=True)
def case(env: Env, *args: Evaluator) -> Any:
    """``["case", C1, X1, C2, X2, ..., ELSE?]``: the X of the first true C, else ELSE or null."""
    for i in range(0, len(args) - 1, 2):
        if truthy(args[i](env)):
            return args[i + 1](env)
    return args[-1](env) if len(args) % 2 else None


@FUNCTIONS.expression("case-eq", min_args=3, max_args=None, lazy=True)
def case_eq(env: Env, value: Evaluator, *args: Evaluator) -> Any:
    """``["case-eq", V, V1, X1, ..., ELSE?]``: the X of the first Vn equal to V (``eq``)."""
    actual = value(env)
    for i in range(0, len(args) - 1, 2):
        if dtl_eq(actual, args[i](env)):
            return args[i + 1](env)
    return args[-1](env) if len(args) % 2 else None


@FUNCTIONS.expression("and", min_args=1, max_args=None, lazy=True)
def and_(env: Env, *args: Evaluator) -> bool:
    """True if every argument is truthy; stops at the first false one."""
    return all(truthy(arg(env)) for arg in args)


@FUNCTIONS.expression("or", min_args=1, max_args=None, lazy=True)
def or_(env: Env, *args: Evaluator) -> bool:
    """True if any argument is truthy; stops at the first true one."""
    return any(truthy(arg(env)) for arg in args)


@FUNCTIONS.expression("not", min_args=1, max_args=None, lazy=True)
def not_(env: Env, *args: Evaluator) -> bool:
    """The negation of ``and`` over the arguments: ``["not", false]`` is true."""
    return not all(truthy(arg(env)) for arg in args)


@FUNCTIONS.expression("coalesce-args", min_args=1, max_args=None, lazy=True)
def coalesce_args(env: Env, *args: Evaluator) -> Any:
    """The first argument that is not ``null``, evaluated left to right; ``[]`` counts as a value."""
    for arg in args:
        value = arg(env)
        if value is not None:
            return value
    return None


def _compile_literal(call: Call, compiler: Compiler) -> tuple[Any, ...]:
    return (decode(call.args[0].raw),)


@FUNCTIONS.expression("literal", min_args=1, max_args=1, lazy=True, compile_args=_compile_literal)
def literal(env: Env, value: Any) -> Any:
    """The argument unevaluated: ``["literal", "_S.foo"]`` is the string ``"_S.foo"``."""
    # Copied per use: a transform may hand the value to _T, which is mutable.
    return copy.deepcopy(value) if isinstance(value, dict | list) else value


@FUNCTIONS.expression("fail!", min_args=1, max_args=1)
def fail(message: Any) -> Any:
    """Stop the pipe with an error carrying MESSAGE (and the entity ``_id``)."""
    raise DtlEvalError(f"fail!: {message}")


# -- paths and namespaces -------------------------------------------------------------------


@FUNCTIONS.expression("path", min_args=2, max_args=2, lazy=True)
def path(env: Env, paths: Evaluator, values: Evaluator) -> Any:
    """Follow property names into VALUES: one name, or a list of names for a nested path.

    ``["path", "age", [{"age": 23}, {"age": 24}]]`` is ``[23, 24]``;
    ``["path", ["list", "a", "b"], V]`` walks ``a`` then ``b``; lists are flattened, missing is
    null, and with namespaced identifiers on an unqualified name matches every namespace.
    """
    steps = as_list(paths(env))
    for step in steps:
        if not isinstance(step, str):
            raise DtlEvalError(f"path elements must be strings, got {type(step).__name__} {step!r}")
    return walk(values(env), steps, env.ctx)


@FUNCTIONS.expression("apply-ns", min_args=2, max_args=2)
def apply_ns(config: Any, values: Any) -> Any:
    """Add namespaces to dicts like ``add_namespaces``: keys get ``P:``, the ``_id`` value ``I:``.

    CONFIG is a namespace string, or a dict with ``property_namespace``, ``identity_namespace``,
    ``skip_underscore`` (true), ``skip_dollar`` (true) and ``recursive`` (true).
    ``["apply-ns", "ns", {"_id": "1", "a": 1, "$b": {"c": 2}}]`` is
    ``{"_id": "ns:1", "ns:a": 1, "$b": {"c": 2}}``. Non-dicts are dropped.
    """
    cfg = _ns_config(config)
    if isinstance(values, list):
        return [add_namespaces(v, "", "", config=cfg) for v in values if isinstance(v, dict)]
    if isinstance(values, dict):
        return add_namespaces(values, "", "", config=cfg)
    return None


def _ns_config(config: Any) -> NamespaceConfig:
    if isinstance(config, str):
        return NamespaceConfig(identity=config, property=config)
    if isinstance(config, dict):
        prop = config.get("property_namespace")
        ident = config.get("identity_namespace")
        prop = prop if isinstance(prop, str) else ident
        ident = ident if isinstance(ident, str) else prop
        if isinstance(prop, str) and isinstance(ident, str):
            return NamespaceConfig(
                identity=ident,
                property=prop,
                skip_underscore=config.get("skip_underscore", True) is not False,
                skip_dollar=config.get("skip_dollar", True) is not False,
                recursive=config.get("recursive", True) is not False,
            )
    raise DtlEvalError(
        "apply-ns needs a namespace string or a dict with 'property_namespace'/"
        f"'identity_namespace', got {config!r}"
    )


# -- rules and hops -------------------------------------------------------------------------


def _rule_name(call: Call, compiler: Compiler, *, allow_hops: bool) -> str:
    node = call.args[0]
    if not (isinstance(node, Literal) and isinstance(node.value, str)):
        compiler.fail(
            DtlSyntaxError(
                "the rule of apply must be a rule name string", path=node.path, snippet=node.raw
            )
        )
        return ""
    name: str = node.value
    if name not in compiler.rule_names:
        compiler.fail(
            DtlSyntaxError(
                f"unknown rule {name!r}{did_you_mean(name, set(compiler.rule_names))}",
                path=node.path,
                snippet=node.raw,
            )
        )
    elif not allow_hops and name in compiler.rules_with_hops:
        compiler.fail(
            DtlSyntaxError(
                f"rule {name!r} uses hops and cannot be run by 'apply'; use 'apply-hops'",
                path=call.path,
                snippet=call.raw,
            )
        )
    return name


def _apply_rule(env: Env, name: str, source: Any) -> dict[str, Any] | None:
    body: RuleBody = env.rules.get(name, ())
    child = env.child(source)
    run_rule(body, child)
    return None if child.stopped is not None else child.T


def _compile_apply(call: Call, compiler: Compiler) -> tuple[Any, ...]:
    return _rule_name(call, compiler, allow_hops=False), compiler.expr(call.args[1])


@FUNCTIONS.expression("apply", min_args=2, max_args=2, lazy=True, compile_args=_compile_apply)
def apply(env: Env, rule: str, values: Evaluator) -> Any:
    """Run the named RULE on each dict of VALUES and return the resulting ``_T``s.

    Each element is ``_S`` of a new context with ``_T = {}`` and ``_P`` the calling context.
    One dict gives one result, a list gives a list; elements stopped by ``filter``/``discard``
    and non-dicts are left out. A rule that uses hops cannot be applied (use ``apply-hops``).
    """
    value = values(env)
    if isinstance(value, dict):
        return _apply_rule(env, rule, value)
    out = []
    for element in as_list(value):
        if isinstance(element, dict):
            result = _apply_rule(env, rule, element)
            if result is not None:
                out.append(result)
    return out


def _compile_hops(call: Call, compiler: Compiler) -> tuple[Any, ...]:
    return (compile_hops_specs(call, compiler, 0),)


@FUNCTIONS.expression("hops", min_args=1, max_args=None, lazy=True, compile_args=_compile_hops)
def hops(env: Env, plans: list[HopsPlan]) -> list[Any]:
    """Join from ``_S`` into other datasets and return the matching entities (always a list).

    ``["hops", {"datasets": ["orders o"], "where": [["eq", "_S._id", "o.cust_id"]]}]``.
    SPEC keys: ``datasets`` (``"dataset alias"``), ``where`` (``eq`` between two scopes is a
    join, matching on any overlap; anything else filters), ``return`` (aliases ``"a,b"``, an
    expression or a template dict; default the last alias), ``recurse``, ``exclude_root``,
    ``max_depth`` (10), ``track-dependencies`` (true), ``subsets``. Several specs chain.
    Deleted entities and nulls never match; results are ordered by ``_id``.
    """
    return run_hops(plans, env)


def _compile_apply_hops(call: Call, compiler: Compiler) -> tuple[Any, ...]:
    return _rule_name(call, compiler, allow_hops=True), compile_hops_specs(call, compiler, 1)


@FUNCTIONS.expression(
    "apply-hops", min_args=2, max_args=None, lazy=True, compile_args=_compile_apply_hops
)
def apply_hops(env: Env, rule: str, plans: list[HopsPlan]) -> list[Any]:
    """``hops`` with SPECs, then ``apply`` RULE to every entity found; returns the ``_T``s."""
    out = []
    for entity in run_hops(plans, env):
        if isinstance(entity, dict):
            result = _apply_rule(env, rule, entity)
            if result is not None:
                out.append(result)
    return out


@FUNCTIONS.expression("lookup-entity", min_args=2, max_args=2, lazy=True)
def lookup_entity(env: Env, dataset: Evaluator, ids: Evaluator) -> Any:
    """The latest entity with ID in DATASET, or ``null`` (also when deleted); a list of IDs maps.

    No dependency tracking: a later change of the looked-up entity does not re-emit ``_S``.
    """
    name = dataset(env)
    if not isinstance(name, str):
        raise DtlEvalError(f"lookup-entity needs a dataset name string, got {name!r}")
    store = env.ctx.datasets
    value = ids(env)

    def one(entity_id: Any) -> Any:
        if store is None or not isinstance(entity_id, str):
            return None
        found = store.get(name, entity_id)
        return None if found is None or is_deleted(found) else found

    if isinstance(value, list):
        return [e for e in (one(v) for v in value) if e is not None]
    return one(value)


@FUNCTIONS.expression("is-changed", min_args=1, max_args=1, lazy=True)
def is_changed(env: Env, expression: Evaluator) -> Any:
    """Whether FUNCTION differs between the current and the previous version of ``_S``.

    FUNCTION is evaluated with ``_`` (and ``_S``) bound to each version:
    ``["is-changed", "_.name"]``. ``null`` without a previous version (or outside a dataset
    source); ``true`` if either version is deleted.
    """
    source = env.S
    previous_of = env.ctx.previous
    if (
        previous_of is None
        or not isinstance(source, dict)
        or not isinstance(source.get("_id"), str)
    ):
        return None
    previous = previous_of(source["_id"])
    if previous is None:
        return None
    if is_deleted(source) or is_deleted(previous):
        return True
    current = expression(env.with_source(source).bind(source))
    return not values_equal(current, expression(env.with_source(previous).bind(previous)))
