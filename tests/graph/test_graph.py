"""The pipe graph: edges from sources, merges, hops and lookups; a stable order with cycles."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config.project import load_project
from engine.errors import ConfigError
from engine.graph import Edge, EdgeKind, PipeGraph, PipeNode, build_graph
from tests.helpers import embedded, from_dataset, write_project


def graph_of(root: Path, pipes: list[dict[str, Any]]) -> PipeGraph:
    return build_graph(load_project(write_project(root, pipes)))


def hops_to(dataset: str, tracked: bool = True) -> list[Any]:
    spec: dict[str, Any] = {"datasets": [f"{dataset} h"], "where": [["eq", "_S._id", "h._id"]]}
    if not tracked:
        spec["track-dependencies"] = False
    return [["copy", "*"], ["add", "linked", ["hops", spec]]]


def talk_flow() -> list[dict[str, Any]]:
    """A Talk-shaped flow: collect (hops to its share dataset) → enrich → global → share."""
    return [
        {
            "_id": "wave-customer-collect",
            "source": {"type": "system", "system": "wave", "datatype": "customer"},
            "transform": {"type": "dtl", "rules": {"default": hops_to("wave-customer-share")}},
        },
        from_dataset("wave-customer-enrich", "wave-customer-collect"),
        embedded("crm-customer", [{"_id": "1"}]),
        {
            "_id": "global-customer",
            "source": {
                "type": "merge",
                "datasets": ["wave-customer-enrich w", "crm-customer c"],
                "equality": [["eq", "w.email", "c.email"]],
            },
        },
        from_dataset(
            "wave-customer-transform",
            "global-customer",
            [["copy", "*"], ["add", "crm", ["lookup-entity", "crm-customer", "_S._id"]]],
        ),
        {
            "_id": "wave-customer-share",
            "source": {"type": "dataset", "dataset": "wave-customer-transform"},
            "sink": {"type": "system", "system": "wave", "datatype": "customer"},
        },
    ]


def test_chain_runs_upstream_first_regardless_of_ids(tmp_path: Path) -> None:
    g = graph_of(
        tmp_path,
        [
            embedded("z-source", []),
            from_dataset("b-middle", "z-source"),
            from_dataset("a-end", "b-middle"),
        ],
    )
    assert g.order() == ["z-source", "b-middle", "a-end"]
    assert g.upstream("a-end") == ["b-middle"]
    assert g.downstream("z-source") == ["b-middle"]
    assert [g.level(p) for p in g.order()] == [0, 1, 2]
    assert g.cycles() == []


def test_independent_pipes_are_ordered_by_id(tmp_path: Path) -> None:
    g = graph_of(tmp_path, [embedded("c", []), embedded("a", []), embedded("b", [])])
    assert g.order() == ["a", "b", "c"]
    assert g.order(["c", "a"]) == ["a", "c"]


def test_merge_and_union_sources_strip_aliases(tmp_path: Path) -> None:
    g = graph_of(
        tmp_path,
        [
            embedded("left", []),
            embedded("right", []),
            {"_id": "merged", "source": {"type": "merge", "datasets": ["left l", "right r"]}},
            {
                "_id": "unioned",
                "source": {"type": "union_datasets", "datasets": ["merged", "left"]},
            },
        ],
    )
    assert g.upstream("merged") == ["left", "right"]
    assert g.upstream("unioned") == ["left", "merged"]
    assert g.order().index("merged") < g.order().index("unioned")


def conditional(condition: str) -> dict[str, Any]:
    return {
        "type": "conditional",
        "condition": condition,
        "alternatives": {
            "test": {"type": "dataset", "dataset": "a"},
            "prod": {"type": "merge_datasets", "datasets": ["b x"]},
        },
    }


def test_conditional_uses_the_chosen_alternative(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        [embedded("a", []), embedded("b", []), {"_id": "c", "source": conditional("$ENV(mode)")}],
    )
    for mode, expected in [("test", ["a"]), ("prod", ["b"])]:
        g = build_graph(load_project(tmp_path, env={"mode": mode}))
        assert g.upstream("c") == expected


def test_conditional_without_a_chosen_alternative_reads_them_all(tmp_path: Path) -> None:
    g = graph_of(
        tmp_path, [embedded("a", []), embedded("b", []), {"_id": "c", "source": conditional("x")}]
    )
    assert g.upstream("c") == ["a", "b"]


def test_hops_untracked_hops_and_lookups_are_edges(tmp_path: Path) -> None:
    g = graph_of(
        tmp_path,
        [
            embedded("base", []),
            embedded("tracked", []),
            embedded("untracked", []),
            embedded("looked", []),
            from_dataset("reader", "base", hops_to("tracked")),
            from_dataset("reader2", "base", hops_to("untracked", tracked=False)),
            from_dataset("reader3", "base", [["add", "x", ["lookup-entity", "looked", "_S._id"]]]),
        ],
    )
    kinds = {(e.upstream, e.downstream): e.kind for e in g.edges}
    assert kinds[("tracked", "reader")] == "hops"
    assert kinds[("untracked", "reader2")] == "hops"
    assert kinds[("looked", "reader3")] == "lookup"
    assert kinds[("base", "reader")] == "source"
    for reader, dep in [("reader", "tracked"), ("reader2", "untracked"), ("reader3", "looked")]:
        assert g.order().index(dep) < g.order().index(reader)


def test_system_source_has_no_upstream_and_share_cycle_is_ordered_by_source_edges(
    tmp_path: Path,
) -> None:
    g = graph_of(tmp_path, talk_flow())
    assert g.cycles() == [
        [
            "wave-customer-collect",
            "wave-customer-enrich",
            "global-customer",
            "wave-customer-transform",
            "wave-customer-share",
        ]
    ]
    # The collect only depends on the share dataset through hops (a back edge of the cycle).
    assert g.upstream("wave-customer-collect") == ["wave-customer-share"]
    assert g.order()[0] == "crm-customer"
    assert g.order()[1:] == g.cycles()[0]
    assert ("wave-customer-share", "wave", "wave-customer-collect") in g.system_edges()
    text = g.to_text()
    assert "cycle 1" in text
    assert "system:wave" in text


def test_source_only_cycle_still_gets_a_total_order(tmp_path: Path) -> None:
    g = graph_of(tmp_path, [from_dataset("b", "a"), from_dataset("a", "b"), from_dataset("c", "a")])
    assert g.cycles() == [["a", "b"]]
    assert g.order() == ["a", "b", "c"]


def test_self_hop_is_an_edge_but_not_a_cycle(tmp_path: Path) -> None:
    g = graph_of(tmp_path, [embedded("s", []), from_dataset("p", "s", hops_to("p"))])
    assert g.upstream("p") == ["p", "s"]
    assert g.cycles() == []
    assert g.order() == ["s", "p"]


def test_unknown_pipe_is_a_config_error_with_suggestion(tmp_path: Path) -> None:
    g = graph_of(tmp_path, [embedded("people", [])])
    with pytest.raises(ConfigError, match="did you mean 'people'"):
        g.upstream("peeple")


def test_text_has_one_line_per_pipe_in_order_indented_by_level(tmp_path: Path) -> None:
    g = graph_of(tmp_path, [embedded("src", []), from_dataset("dst", "src")])
    lines = g.to_text().splitlines()
    assert lines[0].startswith("2 pipes, 1 edge, 0 cycles")
    assert lines[1].startswith("src ") and "<- (embedded)" in lines[1] and "-> src" in lines[1]
    assert lines[2].startswith("  dst ") and "<- src" in lines[2] and "-> dst" in lines[2]


_NODE = re.compile(r'^\s*("(?:[^"\\]|\\.)*")\s*\[.*\];$')
_EDGE = re.compile(r'^\s*("(?:[^"\\]|\\.)*")\s*->\s*("(?:[^"\\]|\\.)*")\s*(\[.*\])?;$')


def parse_dot(dot: str) -> tuple[set[str], set[tuple[str, str]]]:
    """A minimal structural parse of our dot output: node ids and edges."""
    import json

    lines = dot.strip().splitlines()
    assert lines[0] == "digraph pipes {" and lines[-1] == "}"
    nodes: set[str] = set()
    edges: set[tuple[str, str]] = set()
    for line in lines[1:-1]:
        if m := _EDGE.match(line):
            edges.add((json.loads(m.group(1)), json.loads(m.group(2))))
        elif m := _NODE.match(line):
            nodes.add(json.loads(m.group(1)))
        else:
            assert re.match(r"^\s*(rankdir|node)\b.*;$", line), line
    return nodes, edges


def test_dot_has_every_pipe_and_edge(tmp_path: Path) -> None:
    g = graph_of(tmp_path, talk_flow())
    nodes, edges = parse_dot(g.to_dot())
    assert set(g.nodes) <= nodes
    assert {(e.upstream, e.downstream) for e in g.edges} <= edges
    assert ("system:wave", "wave-customer-collect") in edges
    assert all(a in nodes and b in nodes for a, b in edges)


def test_to_dict_is_consistent_with_queries(tmp_path: Path) -> None:
    g = graph_of(tmp_path, talk_flow())
    data = g.to_dict()
    assert data["order"] == g.order()
    assert data["pipes"]["global-customer"]["upstream"] == g.upstream("global-customer")
    assert len(data["edges"]) == len(g.edges)


KINDS: tuple[EdgeKind, ...] = ("source", "hops", "lookup")


@st.composite
def random_graphs(draw: st.DrawFn) -> PipeGraph:
    n = draw(st.integers(1, 8))
    ids = [f"p{i}" for i in range(n)]
    nodes = []
    for pid in ids:
        reads = draw(st.lists(st.sampled_from(ids), max_size=3, unique=True))
        kinds = [draw(st.sampled_from(KINDS)) for _ in reads]
        nodes.append(PipeNode(pid, tuple(zip(reads, kinds, strict=True)), pid, "dataset"))
    return PipeGraph(draw(st.permutations(nodes)))


@settings(max_examples=50, deadline=None)
@given(random_graphs())
def test_order_is_a_permutation_respecting_every_edge_outside_cycles(g: PipeGraph) -> None:
    order = g.order()
    assert sorted(order) == sorted(g.nodes)
    position = {p: i for i, p in enumerate(order)}
    in_cycle = {p: i for i, c in enumerate(g.cycles()) for p in c}
    for e in g.edges:
        same = e.upstream in in_cycle and in_cycle.get(e.upstream) == in_cycle.get(e.downstream)
        if not same and e.upstream != e.downstream:
            assert position[e.upstream] < position[e.downstream], e
    for cycle in g.cycles():
        # Members of one cycle are contiguous in the order ...
        spots = sorted(position[p] for p in cycle)
        assert spots == list(range(spots[0], spots[0] + len(cycle)))
        # ... and follow the cycle's source edges whenever those alone have no cycle.
        inner = {
            (e.upstream, e.downstream)
            for e in g.edges
            if e.kind == "source" and {e.upstream, e.downstream} <= set(cycle)
        }
        if _acyclic(inner):
            assert all(position[a] < position[b] for a, b in inner if a != b)


def _acyclic(edges: set[tuple[str, str]]) -> bool:
    remaining = {(a, b) for a, b in edges}
    while remaining:
        targets = {b for _, b in remaining}
        free = {a for a, _ in remaining if a not in targets}
        if not free:
            return False
        remaining = {(a, b) for a, b in remaining if a not in free}
    return True


@settings(max_examples=30, deadline=None)
@given(random_graphs(), st.randoms(use_true_random=False))
def test_order_does_not_depend_on_input_order(g: PipeGraph, rnd: Any) -> None:
    nodes = list(g.nodes.values())
    rnd.shuffle(nodes)
    assert PipeGraph(nodes).order() == g.order()


def test_edges_from_every_producer_of_a_shared_dataset() -> None:
    g = PipeGraph(
        [
            PipeNode("w1", (), "shared", "embedded"),
            PipeNode("w2", (), "shared", "embedded"),
            PipeNode("r", (("shared", "source"),), "r", "dataset"),
        ]
    )
    assert set(g.edges) == {
        Edge("w1", "r", "shared", "source"),
        Edge("w2", "r", "shared", "source"),
    }


def test_broken_dtl_still_gives_edges_and_null_sinks_have_no_output(tmp_path: Path) -> None:
    rules = [["no-such-function"], *hops_to("third")[1:]]
    g = graph_of(
        tmp_path,
        [
            embedded("other", []),
            embedded("third", []),
            from_dataset("broken", "other", rules, sink={"type": "null"}),
        ],
    )
    assert g.nodes["broken"].output is None
    assert g.nodes["broken"].inputs == (("other", "source"), ("third", "hops"))
    assert g.upstream("broken") == ["other", "third"]
    assert g.to_text().splitlines()[-1].endswith("-> -")
