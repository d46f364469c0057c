"""``hops``: joins from the current entity into other datasets (sesam-hub.md §5.7).

Design notes
------------
* A HOPS_SPEC is compiled once into a :class:`HopsPlan`. The ``where`` expressions are parsed
  with the dataset aliases as variables (``"o.cust_id"``). An ``eq`` whose two sides each
  reference exactly one *different* scope (an alias, or the context ``_S``) is a **join**; every
  other expression is a **filter**.
* The plan binds aliases one join at a time, starting from ``_S``: the bound side is evaluated
  per row, and the other alias is fetched through ``DatasetLookup.find`` with an
  :class:`~engine.dtl.env.IndexKey` over the alias side. Equal alias-side expressions share an
  index because the key name is the canonical JSON of the expression with the alias written
  ``"_"``. An alias that no join reaches from ``_S`` is a compile error.
* A join matches when the value sets overlap (1-1, 1-n, n-n); nulls and deleted entities never
  match. Joins not used for fetching and filters run as soon as their scopes are bound.
* Results are deterministic: rows expand in ``_id`` order per alias; the default return is the
  distinct entities of the last alias ordered by ``_id``.
* Each fetch is reported to ``ctx.dependencies`` unless ``track-dependencies`` is false, so the
  runner can re-emit the source entity when a hopped entity changes.
* Evaluation lives in :mod:`engine.dtl.joins`; this module only compiles specs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.dtl.env import Env
from engine.dtl.nodes import Call, Literal, Node, PathRef, Seq
from engine.dtl.registry import Evaluator
from engine.dtl.values import order_key, truthy
from engine.entity import canonical_json
from engine.errors import DtlSyntaxError, EntityError, JsonPath, did_you_mean

if TYPE_CHECKING:
    from engine.dtl.compiler import Compiler

__all__ = ["Fetch", "HopsPlan", "compile_hops_specs", "flat_values"]

_SPEC_KEYS = (
    "datasets",
    "where",
    "return",
    "recurse",
    "exclude_root",
    "max_depth",
    "track-dependencies",
    "trace",
    "subsets",
)
_CONTEXT = "_S"  # the scope of every non-alias variable
_CONTEXT_VARIABLES = frozenset({"_S", "_T", "_P", "_R", "_B"})


@dataclass(slots=True)
class Fetch:
    """Bind ``alias`` by looking up ``dataset`` on ``key_name`` with values of ``bound``."""

    alias: str
    dataset: str
    bound: Evaluator
    alias_side: Evaluator
    key_name: str
    checks: list[Evaluator] = field(default_factory=list)


@dataclass(slots=True)
class HopsPlan:
    """One compiled HOPS_SPEC."""

    fetches: list[Fetch]
    pre_checks: list[Evaluator]
    return_aliases: tuple[str, ...] | None
    return_expr: Evaluator | None
    return_template: dict[str, Evaluator] | None
    recurse: bool
    exclude_root: bool
    max_depth: int | None
    track: bool
    subsets: dict[str, Evaluator]
    datasets: dict[str, str]


def _scopes(node: Node) -> set[str]:
    """The aliases (and ``_S`` for context variables) an expression reads."""
    if isinstance(node, PathRef):
        if node.variable in _CONTEXT_VARIABLES:
            return {_CONTEXT}
        return set() if node.variable == "_" else {node.variable}
    if isinstance(node, Call):
        if node.name in ("literal", "comment"):
            return set()
        return set().union(*(_scopes(a) for a in node.args)) if node.args else set()
    if isinstance(node, Seq):
        return set().union(*(_scopes(a) for a in node.items)) if node.items else set()
    return set()


def _normalise(raw: Any, alias: str) -> Any:
    """The alias-side expression with the alias written ``"_"`` (the index name)."""
    if isinstance(raw, str):
        if raw == alias:
            return "_"
        if raw.startswith(alias + "."):
            return "_" + raw[len(alias) :]
        return raw
    if isinstance(raw, list):
        return [_normalise(r, alias) for r in raw]
    if isinstance(raw, dict):
        return {k: _normalise(v, alias) for k, v in raw.items()}
    return raw


def _key_name(raw: Any, alias: str) -> str:
    try:
        return canonical_json(_normalise(raw, alias))
    except (EntityError, TypeError, ValueError):
        return repr(_normalise(raw, alias))


def flat_values(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return [v for v in value if v is not None]
    return [value]


class _SpecCompiler:
    def __init__(self, compiler: Compiler, raw: dict[str, Any], path: JsonPath) -> None:
        self.c = compiler
        self.raw = raw
        self.path = path
        self.ok = True

    def error(self, message: str, path: JsonPath, snippet: Any) -> None:
        self.ok = False
        self.c.fail(DtlSyntaxError(message, path=path, snippet=snippet))

    def datasets(self) -> dict[str, str]:
        present = "datasets" in self.raw
        raw = self.raw.get("datasets")
        path = self.path / "datasets" if present else self.path
        if not isinstance(raw, list) or not raw:
            self.error(
                "hops 'datasets' must be a non-empty list of 'dataset alias'",
                path,
                raw if present else self.raw,
            )
            return {}
        out: dict[str, str] = {}
        for i, item in enumerate(raw):
            parts = item.split() if isinstance(item, str) else []
            if len(parts) not in (1, 2):
                self.error("expected 'dataset alias'", path / i, item)
                continue
            dataset, alias = parts[0], parts[-1]
            if alias in out or alias in _CONTEXT_VARIABLES or alias == "_" or "." in alias:
                self.error(f"alias {alias!r} is reserved or used twice", path / i, item)
                continue
            out[alias] = dataset
        return out

    def where(self, aliases: frozenset[str]) -> list[Node]:
        raw = self.raw.get("where")
        path = self.path / "where"
        if raw is None:
            return []
        if isinstance(raw, list) and raw and isinstance(raw[0], str):
            return [self.c.parse(raw, path, aliases)]
        if isinstance(raw, list):
            return [self.c.parse(r, path / i, aliases) for i, r in enumerate(raw)]
        self.error("hops 'where' must be an expression or a list of expressions", path, raw)
        return []

    def compile(self, last: bool) -> HopsPlan | None:
        unknown = [k for k in self.raw if k not in _SPEC_KEYS]
        for key in unknown:
            self.error(
                f"unknown hops key {key!r}{did_you_mean(key, _SPEC_KEYS)}",
                self.path / key,
                self.raw[key],
            )
        datasets = self.datasets()
        aliases = frozenset(datasets)
        nodes = self.where(aliases)
        joins: list[tuple[Call, str, str]] = []
        filters: list[Node] = []
        for node in nodes:
            if isinstance(node, Call) and node.name == "eq" and len(node.args) == 2:
                left, right = (_scopes(a) for a in node.args)
                if len(left) == 1 and len(right) == 1 and left != right:
                    joins.append((node, next(iter(left)), next(iter(right))))
                    continue
            filters.append(node)
        plan_fetches: list[Fetch] = []
        bound = {_CONTEXT}
        pending = list(joins)
        checks: list[tuple[set[str], Evaluator]] = []
        progress = True
        while progress:
            progress = False
            for join in list(pending):
                node, ls, rs = join
                if (ls in bound) == (rs in bound):
                    continue
                bound_i, alias = (0, rs) if ls in bound else (1, ls)
                alias_node = node.args[1 - bound_i]
                plan_fetches.append(
                    Fetch(
                        alias=alias,
                        dataset=datasets[alias],
                        bound=self.c.expr(node.args[bound_i]),
                        alias_side=self.c.expr(alias_node),
                        key_name=_key_name(alias_node.raw, alias),
                    )
                )
                bound.add(alias)
                pending.remove(join)
                progress = True
        for alias in datasets:
            if alias not in bound:
                has_where = "where" in self.raw
                self.error(
                    f"alias {alias!r} is not joined to _S by any 'eq' in 'where'",
                    self.path / "where" if has_where else self.path,
                    self.raw.get("where") if has_where else self.raw,
                )
        for node, ls, rs in pending:
            checks.append(
                ({ls, rs}, _overlap(self.c.expr(node.args[0]), self.c.expr(node.args[1])))
            )
        for node in filters:
            unknown_scopes = _scopes(node) - bound
            if unknown_scopes:
                self.error(
                    f"'where' refers to unknown aliases {sorted(unknown_scopes)}",
                    node.path,
                    node.raw,
                )
                continue
            checks.append((_scopes(node), _truth(self.c.expr(node))))
        pre_checks: list[Evaluator] = []
        for scopes, check in checks:
            if scopes <= {_CONTEXT}:  # reads only _S: decide once, before any lookup
                pre_checks.append(check)
                continue
            placed = False
            for fetch_index, fetch in enumerate(plan_fetches):
                bound_now = {_CONTEXT} | {f.alias for f in plan_fetches[: fetch_index + 1]}
                if scopes <= bound_now:
                    fetch.checks.append(check)
                    placed = True
                    break
            if not placed:
                pre_checks.append(check)
        return self._finish(datasets, plan_fetches, pre_checks, aliases, last)

    def _finish(
        self,
        datasets: dict[str, str],
        fetches: list[Fetch],
        pre_checks: list[Evaluator],
        aliases: frozenset[str],
        last: bool,
    ) -> HopsPlan | None:
        recurse = self.raw.get("recurse", False) is True
        max_depth = self.raw.get("max_depth", 10)
        if max_depth is not None and (
            not isinstance(max_depth, int) or isinstance(max_depth, bool)
        ):
            self.error(
                "hops 'max_depth' must be an integer or null", self.path / "max_depth", max_depth
            )
            max_depth = 10
        return_aliases: tuple[str, ...] | None = None
        return_expr: Evaluator | None = None
        template: dict[str, Evaluator] | None = None
        if "return" in self.raw:
            raw_return = self.raw["return"]
            rpath = self.path / "return"
            if not last:
                self.error("'return' is only allowed on the last hops spec", rpath, raw_return)
            elif recurse:
                self.error("'return' cannot be combined with 'recurse'", rpath, raw_return)
            elif (
                isinstance(raw_return, str)
                and raw_return
                and all(part.strip() in aliases for part in raw_return.split(","))
            ):
                return_aliases = tuple(part.strip() for part in raw_return.split(","))
            elif isinstance(raw_return, dict):
                template = {
                    k: self.c.expr(self.c.parse(v, rpath / k, aliases))
                    for k, v in raw_return.items()
                }
            else:
                return_expr = self.c.expr(self.c.parse(raw_return, rpath, aliases))
        subsets: dict[str, Evaluator] = {}
        raw_subsets = self.raw.get("subsets") or {}
        if not isinstance(raw_subsets, dict):
            self.error(
                "hops 'subsets' must map alias -> expression", self.path / "subsets", raw_subsets
            )
            raw_subsets = {}
        for alias, expr in raw_subsets.items():
            if alias not in aliases:
                self.error(
                    f"subset for unknown alias {alias!r}", self.path / "subsets" / alias, expr
                )
                continue
            subsets[alias] = self.c.expr(self.c.parse(expr, self.path / "subsets" / alias))
        if not self.ok:
            return None
        if return_aliases is None and return_expr is None and template is None and datasets:
            return_aliases = (list(datasets)[-1],)
        return HopsPlan(
            fetches=fetches,
            pre_checks=pre_checks,
            return_aliases=return_aliases,
            return_expr=return_expr,
            return_template=template,
            recurse=recurse,
            exclude_root=self.raw.get("exclude_root", False) is True,
            max_depth=max_depth,
            track=self.raw.get("track-dependencies", True) is not False,
            subsets=subsets,
            datasets=datasets,
        )


def _overlap(left: Evaluator, right: Evaluator) -> Evaluator:
    def check(env: Env) -> bool:
        keys = {order_key(v) for v in flat_values(left(env))}
        return any(order_key(v) in keys for v in flat_values(right(env)))

    return check


def _truth(expr: Evaluator) -> Evaluator:
    return lambda env: truthy(expr(env))


def compile_hops_specs(call: Call, compiler: Compiler, first: int) -> list[HopsPlan]:
    """Compile the HOPS_SPEC arguments ``call.args[first:]`` (syntax errors at their paths)."""
    plans: list[HopsPlan] = []
    specs = call.args[first:]
    for i, node in enumerate(specs):
        if not (isinstance(node, Literal) and isinstance(node.raw, dict)):
            compiler.fail(
                DtlSyntaxError(
                    "a hops spec must be a dict {datasets, where, ...}",
                    path=node.path,
                    snippet=node.raw,
                )
            )
            continue
        plan = _SpecCompiler(compiler, node.raw, node.path).compile(last=i == len(specs) - 1)
        if plan is not None:
            plans.append(plan)
            compiler.uses_hops = True
            compiler.hopped_datasets.update(plan.datasets.values())
            if plan.track:
                compiler.hops_datasets.update(plan.datasets.values())
    return plans
