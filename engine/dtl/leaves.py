"""Compile the leaves of DTL expressions: literals and variable paths (``"_S.a.b"``, ``"_P._T.x"``).

Split from :mod:`engine.dtl.compiler`: these evaluators run for every property read, so the
common shapes get their own closures (docs/decisions/dtl-speed.md), each equal to the general
:func:`~engine.dtl.paths.walk` over the variable's value (``tests/dtl/test_path_fast_paths.py``):

* ``_S.x`` and one-step paths of other variables are one dict lookup without namespaced
  identifiers (and one :func:`~engine.dtl.paths.lookup` with them);
* ``_P``/``_R`` paths follow their leading ``_S``/``_T``/``_P`` steps on the Envs instead of
  building the nested ``as_dict`` views per read.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from engine.dtl.env import Env
from engine.dtl.paths import lookup, walk
from engine.dtl.registry import Evaluator

__all__ = ["compile_literal", "compile_path"]


def compile_literal(value: Any) -> Evaluator:
    if isinstance(value, dict | list):
        # Literal dicts are copied per use: a transform may hand them to _T, which is mutable.
        return lambda env: copy.deepcopy(value)
    return lambda env: value


def _variable_getter(variable: str) -> Callable[[Env], Any]:
    if variable == "_S":
        return lambda env: env.S
    if variable == "_T":
        return lambda env: env.T
    if variable == "_":
        return lambda env: env.current
    if variable == "_B":
        return lambda env: env.B
    if variable == "_P":
        return lambda env: env.P.as_dict() if env.P is not None else None
    if variable == "_R":
        return lambda env: (env.R if env.R is not None else env).as_dict()

    def alias(env: Env) -> Any:
        return env.aliases.get(variable) if env.aliases is not None else None

    return alias


def compile_path(variable: str, steps: tuple[str, ...]) -> Evaluator:
    """An evaluator for ``variable.steps``; ``_S`` and hops aliases see the dynamic ``$ids``."""
    root = _variable_getter(variable)
    if not steps:
        return root
    entity_root = variable not in ("_T", "_", "_B", "_P", "_R")
    if variable == "_S" and len(steps) == 1:
        (step,) = steps

        dynamic = step == "$ids"

        def source_property(env: Env) -> Any:
            value = env.S
            if type(value) is dict:
                ctx = env.ctx
                if not ctx.namespaced_identifiers:
                    return value.get(step)
                if not dynamic:  # what walk does for one step, without its loop
                    return lookup(value, step, ctx)
            return walk(value, steps, env.ctx, True)

        return source_property

    if len(steps) == 1 and variable not in ("_P", "_R"):
        (step,) = steps

        def one_step(env: Env) -> Any:
            # "_.line", "g.$ids": one dict lookup unless namespaces make the walk dynamic
            value = root(env)
            if type(value) is dict and not env.ctx.namespaced_identifiers:
                return value.get(step)
            return walk(value, steps, env.ctx, entity_root)

        return one_step

    if variable in ("_P", "_R") and steps[0] in _CONTEXT_KEYS:
        return _context_path(variable, steps)

    def follow(env: Env) -> Any:
        return walk(root(env), steps, env.ctx, entity_root)

    return follow


_CONTEXT_KEYS = frozenset({"_S", "_T", "_P"})


def _context_path(variable: str, steps: tuple[str, ...]) -> Evaluator:
    """``_P._S.x``, ``_P._P._T.y`` ... without building the ``as_dict`` views per access.

    ``_P``/``_R`` read as ``{"_S", "_T", "_P"?}`` dicts; ``enrich``/``share`` line rules read
    ``_P._S.<lines>`` once per line, and building the nested views was a measurable share of
    the transform. The leading ``_S``/``_T``/``_P`` steps are followed on the Envs themselves
    (these names resolve exactly with or without namespaced identifiers, see
    :func:`~engine.dtl.paths.resolve_name`); the rest is the ordinary walk. Equal to
    ``walk(env.P.as_dict(), steps, ...)`` by construction (``test_path_fast_paths.py``).
    """
    lead: list[str] = []
    for step in steps:
        if step not in _CONTEXT_KEYS or (lead and lead[-1] != "_P"):
            break
        lead.append(step)
    rest = steps[len(lead) :]

    def context_path(env: Env) -> Any:
        ctx: Env | None = env.P if variable == "_P" else (env.R if env.R is not None else env)
        value: Any = None
        for step in lead:
            if ctx is None:
                return None
            if step == "_S":
                value = ctx.S
            elif step == "_T":
                value = ctx.T
            else:
                ctx = ctx.P
                value = ctx
        if isinstance(value, Env):
            value = value.as_dict()
        if not rest:
            return value
        return walk(value, rest, env.ctx, False)

    return context_path
