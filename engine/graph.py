"""The pipe dependency graph of a project: who feeds whom, in which order pipes run.

Design notes
------------
* **Nodes are pipes, edges are datasets.** An edge ``producer -> consumer`` exists for every
  dataset that ``producer``'s sink writes and ``consumer`` reads. A pipe reads a dataset as its
  *source* (``dataset``; ``merge``/``union_datasets``/``merge_datasets``/``diff_datasets``
  ``datasets`` entries ``"<name> <alias>"``; the chosen alternative of a ``conditional`` source,
  or all of them when ``condition`` names none), through DTL *hops* (``hops``/``apply-hops``,
  tracked or not) or through *lookup* (``lookup-entity`` with a literal dataset name). Datasets nobody in the project writes (``system:*`` logs, data loaded
  from elsewhere) are inputs without an edge. A ``system`` source has no upstream pipe: the system
  is outside the graph, so a share → system → collect round trip is shown (``system_edges``) but
  never orders anything.
* **Cycles are normal.** A Talk collect pipe hops to its share pipe's dataset to pick up
  ``$origin`` of the records the hub created, which closes collect → enrich → global → share →
  collect. The order is therefore computed over strongly connected components (Tarjan): the
  components are sorted topologically (Kahn; ties broken by the smallest pipe id in the
  component), and inside a component the pipes are sorted by their *source* edges only (hops and
  lookups inside a cycle read what the previous pass wrote, which is what reconcile's repeated
  passes are for). If the source edges alone still form a cycle, the pipe with the fewest
  unsatisfied source inputs, then the smallest id, goes first. The result is deterministic and
  independent of dict order.
* The graph is pure (config + DTL compile, no store), so ``pipe graph`` works on an empty hub.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from engine.config.pipes import PipeConfig
from engine.config.project import Project
from engine.errors import ConfigError, DtlError, did_you_mean

__all__ = ["DATASET_SOURCES", "Edge", "EdgeKind", "PipeGraph", "PipeNode", "build_graph"]

EdgeKind = Literal["source", "hops", "lookup"]

#: Source types that read datasets of the hub (Sesam's "dataset → dataset" pipes).
DATASET_SOURCES = frozenset(
    {"dataset", "merge", "union_datasets", "merge_datasets", "diff_datasets"}
)

_HOPS_NAMES = frozenset({"hops", "apply-hops"})


@dataclass(frozen=True, slots=True)
class Edge:
    """``upstream``'s sink writes ``dataset``, which ``downstream`` reads as ``kind``."""

    upstream: str
    downstream: str
    dataset: str
    kind: EdgeKind


@dataclass(frozen=True, slots=True)
class PipeNode:
    """One pipe as the graph sees it: what it reads and what it writes."""

    id: str
    inputs: tuple[tuple[str, EdgeKind], ...]
    output: str | None
    source_type: str
    source_system: str | None = None
    sink_system: str | None = None


def _source_datasets(raw: Mapping[str, Any]) -> Iterator[str]:
    """Dataset names a source config reads (aliases stripped, conditionals expanded)."""
    kind = raw.get("type")
    if kind == "dataset" and isinstance(raw.get("dataset"), str):
        yield raw["dataset"]
    elif kind == "conditional":
        for alternative in _alternatives(raw):
            yield from _source_datasets(alternative)
    elif isinstance(raw.get("datasets"), list):
        for entry in raw["datasets"]:
            if isinstance(entry, str) and entry.split():
                yield entry.split()[0]


def _source_system(raw: Mapping[str, Any]) -> str | None:
    if raw.get("type") == "system" and isinstance(raw.get("system"), str):
        return str(raw["system"])
    if raw.get("type") == "conditional":
        for alternative in _alternatives(raw):
            if found := _source_system(alternative):
                return found
    return None


def _alternatives(raw: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The chosen alternative of a conditional source, or all of them if none is chosen.

    ``$ENV(...)`` is substituted at load time, so ``condition`` is usually the chosen key.
    """
    alternatives = raw.get("alternatives")
    if not isinstance(alternatives, Mapping):
        return []
    chosen = (
        alternatives.get(raw.get("condition")) if isinstance(raw.get("condition"), str) else None
    )
    if isinstance(chosen, Mapping):
        return [chosen]
    return [a for _, a in sorted(alternatives.items()) if isinstance(a, Mapping)]


def _scan_rules(raw: Any, hops: set[str], lookups: set[str]) -> None:
    """Collect hops datasets and literal ``lookup-entity`` datasets from raw DTL.

    The scan complements the compiler's ``hops_datasets`` (which leaves out hops with
    ``track-dependencies: false``): for ordering, every read counts, tracked or not.
    """
    if isinstance(raw, Mapping):
        for value in raw.values():
            _scan_rules(value, hops, lookups)
        return
    if not isinstance(raw, list) or not raw:
        return
    head = raw[0] if isinstance(raw[0], str) else None
    if head in ("comment", "literal"):
        return
    if head in _HOPS_NAMES:
        for spec in raw[1:]:
            if isinstance(spec, Mapping) and isinstance(spec.get("datasets"), list):
                hops.update(
                    d.split()[0] for d in spec["datasets"] if isinstance(d, str) and d.split()
                )
    if head == "lookup-entity" and len(raw) > 1:
        name = raw[1]
        if isinstance(name, list) and len(name) == 2 and name[0] == "literal":
            name = name[1]
        if isinstance(name, str) and not name.startswith(("_", "$")):
            lookups.add(name)
    for item in raw[1:] if head is not None else raw:
        _scan_rules(item, hops, lookups)


def _transform_reads(pipe: PipeConfig) -> tuple[set[str], set[str]]:
    """(hops datasets, lookup datasets) of the pipe's DTL transforms."""
    from engine.dtl import compile_transform

    hops: set[str] = set()
    lookups: set[str] = set()
    for transform in pipe.transforms:
        if transform.type != "dtl":
            continue
        rules = transform.raw.get("rules")
        _scan_rules(rules, hops, lookups)
        if isinstance(rules, dict):
            try:
                compiled = compile_transform(rules, file=pipe.file, path=transform.path / "rules")
            except DtlError:
                continue  # `pipe validate` reports it; the raw scan still gives the edges
            hops.update(compiled.hops_datasets)
    return hops, lookups - hops


def _node_of(pipe: PipeConfig) -> PipeNode:
    inputs: dict[str, EdgeKind] = {}
    for name in _source_datasets(pipe.source.raw):
        inputs.setdefault(name, "source")
    hops, lookups = _transform_reads(pipe)
    for name in sorted(hops):
        inputs.setdefault(name, "hops")
    for name in sorted(lookups):
        inputs.setdefault(name, "lookup")
    sink_system = pipe.sink.raw.get("system") if pipe.sink.type == "system" else None
    return PipeNode(
        id=pipe.id,
        inputs=tuple(inputs.items()),
        output=pipe.sink_dataset,
        source_type=pipe.source.type,
        source_system=_source_system(pipe.source.raw),
        sink_system=str(sink_system) if sink_system is not None else None,
    )


def build_graph(project: Project) -> PipeGraph:
    """The dependency graph of every pipe in ``project``."""
    return PipeGraph([_node_of(p) for p in project.pipes.values()])


class PipeGraph:
    """Pipes, the dataset edges between them and a stable run order (see module notes)."""

    def __init__(self, nodes: Iterable[PipeNode]) -> None:
        self.nodes: dict[str, PipeNode] = {n.id: n for n in sorted(nodes, key=lambda n: n.id)}
        producers: dict[str, list[str]] = {}
        for node in self.nodes.values():
            if node.output is not None:
                producers.setdefault(node.output, []).append(node.id)
        self.producers: Mapping[str, tuple[str, ...]] = {k: tuple(v) for k, v in producers.items()}
        edges = [
            Edge(up, node.id, dataset, kind)
            for node in self.nodes.values()
            for dataset, kind in node.inputs
            for up in self.producers.get(dataset, ())
        ]
        self.edges: tuple[Edge, ...] = tuple(
            sorted(edges, key=lambda e: (e.upstream, e.downstream, e.dataset))
        )
        self._up: dict[str, set[str]] = {n: set() for n in self.nodes}
        self._down: dict[str, set[str]] = {n: set() for n in self.nodes}
        for e in self.edges:
            self._up[e.downstream].add(e.upstream)
            self._down[e.upstream].add(e.downstream)
        self._components = _ordered_components(self.nodes, self.edges)
        self._order = [pid for component in self._components for pid in component]
        self._position = {pid: i for i, pid in enumerate(self._order)}
        self._levels = self._compute_levels()

    # --- queries ------------------------------------------------------------------------------

    def _check(self, pipe_id: str) -> None:
        if pipe_id not in self.nodes:
            raise ConfigError(
                f"no pipe {pipe_id!r} in the graph{did_you_mean(pipe_id, self.nodes)}"
            )

    def order(self, pipe_ids: Iterable[str] | None = None) -> list[str]:
        """Pipe ids in run order (all of them, or the given ones in graph order)."""
        if pipe_ids is None:
            return list(self._order)
        wanted = set(pipe_ids)
        for pid in sorted(wanted):
            self._check(pid)
        return [pid for pid in self._order if pid in wanted]

    def upstream(self, pipe_id: str) -> list[str]:
        """Pipes writing a dataset that ``pipe_id`` reads (sorted; itself if it reads its own)."""
        self._check(pipe_id)
        return sorted(self._up[pipe_id])

    def downstream(self, pipe_id: str) -> list[str]:
        """Pipes reading the dataset ``pipe_id`` writes (sorted)."""
        self._check(pipe_id)
        return sorted(self._down[pipe_id])

    def cycles(self) -> list[list[str]]:
        """Strongly connected components of more than one pipe, each in run order."""
        return [list(c) for c in self._components if len(c) > 1]

    def level(self, pipe_id: str) -> int:
        """Longest chain of forward edges (in run order) leading to ``pipe_id``."""
        self._check(pipe_id)
        return self._levels[pipe_id]

    def system_edges(self) -> list[tuple[str, str, str]]:
        """``(share pipe, system, collect pipe)`` round trips through a system (not ordering)."""
        out = []
        for share in self.nodes.values():
            for collect in self.nodes.values():
                if share.sink_system and share.sink_system == collect.source_system:
                    out.append((share.id, share.sink_system, collect.id))
        return out

    def _compute_levels(self) -> dict[str, int]:
        levels: dict[str, int] = {}
        for pid in self._order:
            forward = [u for u in self._up[pid] if self._position[u] < self._position[pid]]
            levels[pid] = 1 + max((levels[u] for u in forward), default=-1)
        return levels

    # --- rendering ----------------------------------------------------------------------------

    def _cycle_numbers(self) -> dict[str, int]:
        return {pid: i for i, cycle in enumerate(self.cycles(), 1) for pid in cycle}

    def to_text(self) -> str:
        """One line per pipe in run order, indented by level: ``pipe  <- inputs  -> output``."""
        cycle_of = self._cycle_numbers()
        lines = [
            f"{_plural(len(self.nodes), 'pipe')}, {_plural(len(self.edges), 'edge')}, "
            f"{_plural(len(self.cycles()), 'cycle')} (run order; indent = dependency level)"
        ]
        width = max((2 * self._levels[p] + len(p) for p in self._order), default=0)
        for pid in self._order:
            node = self.nodes[pid]
            inputs = [
                (name if kind == "source" else f"{name} ({kind})")
                + ("" if name in self.producers else " [no producer]")
                for name, kind in node.inputs
            ]
            if node.source_system:
                inputs.insert(0, f"system:{node.source_system}")
            elif not inputs:
                inputs.append(f"({node.source_type})")
            output = node.output or "-"
            if node.sink_system:
                output = f"system:{node.sink_system} (dataset {output})"
            head = "  " * self._levels[pid] + pid
            mark = f"  [cycle {cycle_of[pid]}]" if pid in cycle_of else ""
            lines.append(f"{head.ljust(width)}  <- {', '.join(inputs)}  -> {output}{mark}")
        for number, cycle in enumerate(self.cycles(), 1):
            lines.append(f"cycle {number}: {' -> '.join(cycle)} (repeated until nothing changes)")
        return "\n".join(lines)

    def to_dot(self) -> str:
        """Graphviz dot: pipes as boxes, source edges solid, hops/lookups dashed, systems dotted."""
        cycle_of = self._cycle_numbers()
        lines = ["digraph pipes {", "  rankdir=LR;", "  node [shape=box, fontname=Helvetica];"]
        for pid in self._order:
            extra = ", color=firebrick" if pid in cycle_of else ""
            lines.append(f"  {_quote(pid)} [label={_quote(pid)}{extra}];")
        systems = sorted(
            {n.source_system for n in self.nodes.values() if n.source_system}
            | {n.sink_system for n in self.nodes.values() if n.sink_system}
        )
        for system in systems:
            lines.append(f"  {_quote('system:' + system)} [shape=cylinder];")
        for e in self.edges:
            style = "" if e.kind == "source" else ", style=dashed"
            label = e.dataset if e.kind == "source" else f"{e.dataset} ({e.kind})"
            lines.append(
                f"  {_quote(e.upstream)} -> {_quote(e.downstream)} [label={_quote(label)}{style}];"
            )
        for node in self.nodes.values():
            if node.source_system:
                lines.append(
                    f"  {_quote('system:' + node.source_system)} -> {_quote(node.id)} "
                    "[style=dotted];"
                )
            if node.sink_system:
                lines.append(
                    f"  {_quote(node.id)} -> {_quote('system:' + node.sink_system)} "
                    "[style=dotted, constraint=false];"
                )
        lines.append("}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The graph as JSON-ready data (``pipe graph --json``)."""
        return {
            "order": self.order(),
            "pipes": {
                pid: {
                    "level": self._levels[pid],
                    "inputs": [{"dataset": d, "kind": k} for d, k in self.nodes[pid].inputs],
                    "output": self.nodes[pid].output,
                    "source_system": self.nodes[pid].source_system,
                    "sink_system": self.nodes[pid].sink_system,
                    "upstream": self.upstream(pid),
                    "downstream": self.downstream(pid),
                }
                for pid in self._order
            },
            "edges": [
                {"from": e.upstream, "to": e.downstream, "dataset": e.dataset, "kind": e.kind}
                for e in self.edges
            ],
            "cycles": self.cycles(),
        }


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _quote(text: str) -> str:
    """A dot ID: a double-quoted string (JSON escaping is valid dot escaping for our names)."""
    return json.dumps(text, ensure_ascii=False)


def _strongly_connected(nodes: Iterable[str], succ: Mapping[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (no recursion limit on long chains)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    for root in nodes:
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(succ[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(succ[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                out.append(sorted(component))
    return out


def _ordered_components(nodes: Mapping[str, PipeNode], edges: Iterable[Edge]) -> list[list[str]]:
    """Components in topological order, each internally ordered (see module notes)."""
    edges = [e for e in edges if e.upstream != e.downstream]
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    for e in edges:
        succ[e.upstream].append(e.downstream)
    components = _strongly_connected(sorted(nodes), succ)
    component_of = {pid: i for i, c in enumerate(components) for pid in c}
    after: dict[int, set[int]] = {i: set() for i in range(len(components))}
    for e in edges:
        a, b = component_of[e.upstream], component_of[e.downstream]
        if a != b:
            after[a].add(b)
    waiting = {i: 0 for i in after}
    for targets in after.values():
        for b in targets:
            waiting[b] += 1
    ready = [(components[i][0], i) for i, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    ordered: list[list[str]] = []
    while ready:
        _, i = heapq.heappop(ready)
        ordered.append(_order_inside(components[i], edges))
        for b in after[i]:
            waiting[b] -= 1
            if waiting[b] == 0:
                heapq.heappush(ready, (components[b][0], b))
    return ordered


def _order_inside(component: list[str], edges: Iterable[Edge]) -> list[str]:
    """Order one component by its internal source edges; break source cycles by fewest inputs."""
    if len(component) == 1:
        return component
    members = set(component)
    preds: dict[str, set[str]] = {p: set() for p in component}
    succs: dict[str, set[str]] = {p: set() for p in component}
    for e in edges:
        if e.kind == "source" and e.upstream in members and e.downstream in members:
            preds[e.downstream].add(e.upstream)
            succs[e.upstream].add(e.downstream)
    waiting = {p: len(preds[p]) for p in component}
    out: list[str] = []
    while waiting:
        pick = min(waiting, key=lambda p: (waiting[p], p))
        out.append(pick)
        del waiting[pick]
        for b in succs[pick]:
            if b in waiting:
                waiting[b] -= 1
    return out
