"""The DTL function registry: one table of functions with declared arity and laziness.

Every DTL function (expression or transform) is declared once with :class:`SpecCollector`::

    FUNCTIONS = SpecCollector()

    @FUNCTIONS.expression("upper", min_args=1, max_args=1)
    def upper(value: Json) -> Json:
        '''Upper-case strings; lists map element-wise, non-strings are dropped.'''

* ``lazy=False`` (the default for expressions): the compiler evaluates every argument first and
  calls ``impl(*values)``.
* ``lazy=True``: the compiler calls ``impl(env, *args)`` where each arg is an :data:`Evaluator`
  (``arg(env)`` evaluates it). Special forms (``if``, ``and``, ``coalesce-args``) and every
  function taking a *function-expression* (``map``, ``filter``, ``sorted`` ...) are lazy; a
  function-expression is evaluated per element with ``arg(env.bind(element))``.
* Transform functions (``add``, ``copy``, ``filter`` ...) are always lazy and mutate ``env.T``.
* ``compile_args``: optional hook run at compile time, for functions whose arguments are not
  ordinary expressions (``comment`` is never compiled, ``hops`` takes a spec dict, ``if`` as a
  transform takes transform lists, ``literal`` its raw argument). It is called as
  ``compile_args(call, compiler)`` with the :class:`~engine.dtl.nodes.Call` node and the
  :class:`~engine.dtl.compiler.Compiler` (``compiler.expr(node)``, ``compiler.transforms(node)``,
  ``compiler.fail(error)``, ``compiler.parse(raw, path, aliases)``), and returns a tuple; the
  function is then always called as ``impl(env, *that_tuple)``.

The docstring of each implementation is that function's user documentation (``pipe dtl
functions`` prints it). Registries are immutable once assembled: :meth:`FunctionRegistry.extended`
returns a new one.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from engine.errors import DtlArityError, DtlUnknownFunction, JsonPath, did_you_mean

if TYPE_CHECKING:
    from engine.dtl.env import Env

__all__ = ["Evaluator", "FunctionKind", "FunctionRegistry", "FunctionSpec", "SpecCollector"]

Evaluator: TypeAlias = "Callable[[Env], Any]"
FunctionKind = Literal["expression", "transform"]


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """The declaration of one DTL function."""

    name: str
    kind: FunctionKind
    impl: Callable[..., Any]
    min_args: int
    max_args: int | None
    lazy: bool = False
    deterministic: bool = True
    compile_args: Callable[..., Any] | None = None

    @property
    def doc(self) -> str:
        return inspect.cleandoc(self.impl.__doc__ or "")

    @property
    def summary(self) -> str:
        return self.doc.splitlines()[0] if self.doc else ""

    def arity_text(self) -> str:
        if self.max_args is None:
            return f"at least {self.min_args}"
        if self.max_args == self.min_args:
            return f"exactly {self.min_args}"
        return f"{self.min_args} to {self.max_args}"

    def check_arity(self, count: int, path: JsonPath, snippet: Any = None) -> None:
        """Raise :class:`DtlArityError` at compile time when ``count`` arguments do not fit."""
        if count < self.min_args or (self.max_args is not None and count > self.max_args):
            plural = "" if self.max_args == self.min_args == 1 else "s"
            raise DtlArityError(
                f"function {self.name!r} takes {self.arity_text()} argument{plural}, got {count}",
                path=path,
                snippet=snippet,
            )


@dataclass
class SpecCollector:
    """Collects the specs of one module with decorators; assembled into a registry explicitly."""

    specs: list[FunctionSpec] = field(default_factory=list)

    def expression(
        self,
        name: str,
        *,
        min_args: int,
        max_args: int | None,
        lazy: bool = False,
        deterministic: bool = True,
        compile_args: Callable[..., Any] | None = None,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self._define(
            name, "expression", min_args, max_args, lazy, deterministic, compile_args
        )

    def transform(
        self,
        name: str,
        *,
        min_args: int,
        max_args: int | None,
        compile_args: Callable[..., Any] | None = None,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self._define(name, "transform", min_args, max_args, True, True, compile_args)

    def _define(
        self,
        name: str,
        kind: FunctionKind,
        min_args: int,
        max_args: int | None,
        lazy: bool,
        deterministic: bool,
        compile_args: Callable[..., Any] | None,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def decorate(impl: Callable[..., Any]) -> Callable[..., Any]:
            self.specs.append(
                FunctionSpec(
                    name=name,
                    kind=kind,
                    impl=impl,
                    min_args=min_args,
                    max_args=max_args,
                    lazy=lazy,
                    deterministic=deterministic,
                    compile_args=compile_args,
                )
            )
            return impl

        return decorate


class FunctionRegistry:
    """An immutable map ``(kind, name) -> FunctionSpec``."""

    def __init__(self, specs: Iterable[FunctionSpec]) -> None:
        table: dict[tuple[FunctionKind, str], FunctionSpec] = {}
        for spec in specs:
            key = (spec.kind, spec.name)
            if key in table:
                raise ValueError(f"DTL {spec.kind} function {spec.name!r} is declared twice")
            table[key] = spec
        self._table: Mapping[tuple[FunctionKind, str], FunctionSpec] = table

    @classmethod
    def of(cls, *collectors: SpecCollector) -> FunctionRegistry:
        return cls(spec for collector in collectors for spec in collector.specs)

    def extended(self, *specs: FunctionSpec) -> FunctionRegistry:
        """A new registry with ``specs`` added (or replacing same-named ones)."""
        merged = dict(self._table)
        for spec in specs:
            merged[(spec.kind, spec.name)] = spec
        return FunctionRegistry(merged.values())

    def get(self, kind: FunctionKind, name: str) -> FunctionSpec | None:
        return self._table.get((kind, name))

    def lookup(
        self, kind: FunctionKind, name: str, path: JsonPath, snippet: Any = None
    ) -> FunctionSpec:
        """The spec, or :class:`DtlUnknownFunction` with a did-you-mean."""
        spec = self._table.get((kind, name))
        if spec is None:
            known = {n for (k, n) in self._table if k == kind}
            other = "transform" if kind == "expression" else "expression"
            hint = ""
            if (other, name) in self._table:
                hint = f" ({name!r} is a {other} function and cannot be used here)"
            raise DtlUnknownFunction(
                f"unknown DTL {kind} function {name!r}{hint or did_you_mean(name, known)}",
                path=path,
                snippet=snippet,
            )
        return spec

    def names(self, kind: FunctionKind | None = None) -> list[str]:
        return sorted({n for (k, n) in self._table if kind is None or k == kind})

    def specs(self) -> list[FunctionSpec]:
        return sorted(self._table.values(), key=lambda s: (s.name, s.kind))

    def __contains__(self, key: object) -> bool:
        return key in self._table

    def __len__(self) -> int:
        return len(self._table)
