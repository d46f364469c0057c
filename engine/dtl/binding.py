"""Bind a function's implementation to its compiled arguments: the evaluator of one call.

Split from :mod:`engine.dtl.compiler` because this is the per-evaluation hot path and has its own
concern: every DTL call runs through one of these closures, so they are specialised by shape
(docs/decisions/dtl-speed.md):

* eager calls of one or two arguments unpack nothing (``run1``/``run2``);
* a two-argument eager call with one *scalar* literal (``["eq", "_.ns", "crm"]``,
  ``["*", x, 100]``) binds the constant instead of calling an evaluator for it; scalars are
  immutable, so sharing the one object is what the literal evaluator returned anyway;
* lazy calls of one or two evaluators pass them positionally.

Runtime failures are wrapped once, at the innermost call, into :class:`DtlEvalError` carrying
that call's path (Python exceptions an implementation leaks on odd input included).
"""

from __future__ import annotations

from typing import Any

from engine.dtl.env import Env
from engine.dtl.nodes import Call, Literal
from engine.dtl.registry import Evaluator, FunctionSpec
from engine.errors import DtlError, DtlEvalError, HubError

__all__ = ["bind_eager", "bind_lazy"]

# Python exceptions a function implementation may leak on odd input; they become DtlEvalError.
_FOREIGN = (
    ArithmeticError,
    AttributeError,
    LookupError,
    TypeError,
    ValueError,
    RecursionError,
    HubError,
)


_CAUGHT = (DtlError, *_FOREIGN)


def _locate(e: BaseException, name: str, node: Call) -> None:
    """Give a DTL error this call's path if it has none, or raise a leaked one as DTL's own.

    Called only on the failure path of every closure below, so the success path pays nothing
    for the shared handling; the closure re-raises ``e`` itself when this returns.
    """
    if isinstance(e, DtlError):
        if e.path is None:
            e.path = node.path
        return
    raise DtlEvalError(
        f"function {name!r} failed: {type(e).__name__}: {e}", path=node.path, snippet=node.raw
    ) from e


def bind_lazy(spec: FunctionSpec, node: Call, args: tuple[Any, ...]) -> Evaluator:
    impl, name = spec.impl, spec.name
    if len(args) == 1:  # filter/integer/first-style calls: no argument tuple to unpack
        (only,) = args

        def run_one(env: Env) -> Any:
            try:
                return impl(env, only)
            except _CAUGHT as e:
                _locate(e, name, node)
                raise

        return run_one
    if len(args) == 2:  # add/filter/path: the same, for two arguments
        first, second = args

        def run_two(env: Env) -> Any:
            try:
                return impl(env, first, second)
            except _CAUGHT as e:
                _locate(e, name, node)
                raise

        return run_two

    def run(env: Env) -> Any:
        try:
            return impl(env, *args)
        except _CAUGHT as e:
            _locate(e, name, node)
            raise

    return run


def bind_eager(spec: FunctionSpec, node: Call, args: tuple[Evaluator, ...]) -> Evaluator:
    impl, name = spec.impl, spec.name
    if len(args) == 1:
        (a,) = args

        def run1(env: Env) -> Any:
            value = a(env)
            try:
                return impl(value)
            except _CAUGHT as e:
                _locate(e, name, node)
                raise

        return run1
    if len(args) == 2:
        a, b = args
        constant = _constant_arg(node)
        if constant is not None:
            return _bind_eager_constant(spec, node, args, *constant)

        def run2(env: Env) -> Any:
            x, y = a(env), b(env)
            try:
                return impl(x, y)
            except _CAUGHT as e:
                _locate(e, name, node)
                raise

        return run2

    def run(env: Env) -> Any:
        values = [arg(env) for arg in args]
        try:
            return impl(*values)
        except _CAUGHT as e:
            _locate(e, name, node)
            raise

    return run


def _constant_arg(node: Call) -> tuple[int, Any] | None:
    """``(index, value)`` of the one scalar literal among two arguments (``["eq", "_.x", "a"]``).

    A scalar literal cannot be mutated, so it is bound once instead of called per evaluation.
    """
    left, right = node.args
    for index, arg in ((1, right), (0, left)):
        other = left if index else right
        if (
            isinstance(arg, Literal)
            and not isinstance(arg.value, dict | list)
            and not isinstance(other, Literal)
        ):
            return index, arg.value
    return None


def _bind_eager_constant(
    spec: FunctionSpec, node: Call, args: tuple[Evaluator, ...], index: int, constant: Any
) -> Evaluator:
    impl, name = spec.impl, spec.name
    other = args[1 - index]

    def run_left(env: Env) -> Any:
        x = other(env)
        try:
            return impl(x, constant)
        except _CAUGHT as e:
            _locate(e, name, node)
            raise

    def run_right(env: Env) -> Any:
        y = other(env)
        try:
            return impl(constant, y)
        except _CAUGHT as e:
            _locate(e, name, node)
            raise

    return run_left if index == 1 else run_right
