"""Explain one golden entity: its members, the rules that merged them, who won, where it went.

Design notes
------------
* **Nothing is recorded for this; everything is recomputed by the code that decided.** The
  equality links come from :meth:`MergeSource.matches` (the run's own side evaluators and join
  keys), the winners from :meth:`Survivorship.explain` (the transform's own decision code), the
  payloads from the share pipe's compiled DTL. An explanation therefore cannot drift from the
  behaviour, and a golden value that no longer matches the decision is flagged ``stale`` (the
  global pipe has not run since a member changed) instead of being explained wrongly.
* **Read-only.** Nothing here writes to the hub: the merge key index is read without being
  created, the share DTL runs without a tracker, and no system is contacted.
* **Which id.** A golden id (a merge pipe's output), a share dataset's id (the share datasets are
  keyed by golden id, so this also finds golden entities whose share outlived them), or a member
  id (``customerp-customer:42``, ``~:`` optional), resolved through the merge key index to the
  group it is in now.
* **The way in** is walked upstream from each member's dataset along source edges of the graph
  (enrich ← collect), translating the id through the pipe's identity namespace at each step;
  **the way out** is every pipe reading the golden dataset as its source; for shares see
  :mod:`engine.why.shares`.
"""

from __future__ import annotations

import itertools

from engine.clock import micros_to_datetime
from engine.config.pipes import PipeConfig
from engine.config.project import Project
from engine.entity import ID, NI, TS, Entity, canonical_json, format_datetime, is_deleted
from engine.errors import HubError, did_you_mean
from engine.graph import PipeGraph, build_graph
from engine.sources.merge import MergeSource
from engine.store import Store
from engine.survivorship import Decision, build_survivorship, last_modified_micros
from engine.why.model import Claim, Link, PipeStep, SourceRecord, Why
from engine.why.shares import explain_share

__all__ = ["WhyError", "explain_entity"]

LINK_MEMBERS = 200
"""Members whose pairwise links are listed (pairs grow quadratically; the rest are left out)."""
SUGGEST_LIMIT = 20_000
"""Ids per dataset offered to the did-you-mean of an unknown id (difflib is linear)."""


class WhyError(HubError):
    """The id names no golden, share or member entity of the project."""


def explain_entity(
    store: Store, project: Project, entity_id: str, *, graph: PipeGraph | None = None
) -> Why:
    """Explain ``entity_id`` (golden, share or member id); see the module notes.

    Raises:
        WhyError: the id is unknown (with a did-you-mean or a hint of what to pass).
    """
    graph = graph or build_graph(project)
    asked = entity_id.strip().removeprefix("~:")
    pipe, dataset, golden_id = _resolve(store, project, graph, asked)
    latest = store.dataset(dataset).latest(golden_id) or {ID: golden_id}
    live = _last_live(store, dataset, golden_id, latest)
    merge = MergeSource(store, pipe) if pipe is not None and pipe.source.type == "merge" else None
    members = _members(store, merge, live) if merge is not None else []
    namespaces = {NI.parse(m[2]).namespace for m in members}
    sources: list[SourceRecord] = []
    steps: list[PipeStep] = []
    for _, name, member_id, entity in members:
        record, chain = _way_in(store, project, graph, name, member_id, entity)
        sources.append(record)
        steps.extend(s for s in chain if s.pipe not in {x.pipe for x in steps})
    links = _links(merge, members) if merge is not None else []
    claims = _claims(store, pipe, live) if pipe is not None and members else []
    if pipe is not None:
        node = graph.nodes[pipe.id]
        steps.append(
            PipeStep(
                pipe.id, _role(pipe), tuple(d for d, _ in node.inputs), dataset, None, golden_id
            )
        )
    shares = []
    for downstream in _readers(graph, pipe.id if pipe is not None else None, dataset):
        share_pipe = project.pipes[downstream]
        if share_pipe.sink.type == "system":
            share = explain_share(store, project, share_pipe, golden_id, latest)
            shares.append(share)
            passed = golden_id if share.status is not None or share.payload is not None else None
        else:
            out = share_pipe.sink_dataset
            passed = golden_id if out is not None and _has(store, out, golden_id) else None
        node = graph.nodes[downstream]
        steps.append(
            PipeStep(
                downstream,
                _role(share_pipe),
                (dataset,),
                share_pipe.sink_dataset,
                node.sink_system,
                passed,
            )
        )
    return Why(
        asked=asked,
        entity_id=golden_id,
        pipe=pipe.id if pipe is not None else None,
        dataset=dataset,
        deleted=is_deleted(latest),
        replaced_by=_replaced_by(merge, members, golden_id) if is_deleted(latest) else (),
        golden={
            k: v
            for k, v in live.items()
            if not k.startswith("_") and k != "$claims" and k.split(":", 1)[0] not in namespaces
        },
        sources=tuple(sources),
        links=tuple(links),
        claims=tuple(claims),
        pipes=tuple(steps),
        shares=tuple(shares),
    )


# --- which entity -------------------------------------------------------------------------------


def _merge_pipes(project: Project) -> list[PipeConfig]:
    return sorted(
        (p for p in project.pipes.values() if p.source.type == "merge" and p.sink_dataset),
        key=lambda p: p.id,
    )


def _share_pipes(project: Project) -> list[PipeConfig]:
    return sorted(
        (p for p in project.pipes.values() if p.sink.type == "system" and p.sink_dataset),
        key=lambda p: p.id,
    )


def _has(store: Store, dataset: str, entity_id: str) -> bool:
    handle = store.dataset(dataset)
    return bool(handle.exists and handle.latest(entity_id) is not None)


def _resolve(
    store: Store, project: Project, graph: PipeGraph, asked: str
) -> tuple[PipeConfig | None, str, str]:
    """(golden pipe, golden dataset, golden id) for a golden, member or share id."""
    merges = _merge_pipes(project)
    for pipe in merges:
        assert pipe.sink_dataset is not None
        if _has(store, pipe.sink_dataset, asked):
            return pipe, pipe.sink_dataset, asked
    for pipe in merges:
        assert pipe.sink_dataset is not None
        source = MergeSource(store, pipe)
        for position, name in enumerate(source.datasets):
            if _has(store, name, asked):
                group = source.group_of(position, asked)
                if group is not None and _has(store, pipe.sink_dataset, group):
                    return pipe, pipe.sink_dataset, group
    for share in _share_pipes(project):
        assert share.sink_dataset is not None
        source_dataset = share.source.raw.get("dataset")
        if isinstance(source_dataset, str) and _has(store, share.sink_dataset, asked):
            producer = graph.producers.get(source_dataset, ())
            golden = project.pipes[producer[0]] if producer else None
            return golden, source_dataset, asked
    raise WhyError(_not_found(store, project, asked))


def _not_found(store: Store, project: Project, asked: str) -> str:
    known: set[str] = set()
    for pipe in _merge_pipes(project) + _share_pipes(project):
        assert pipe.sink_dataset is not None
        handle = store.dataset(pipe.sink_dataset)
        if handle.exists:
            _, cur = handle.table_names()
            rows = store.fetchall(f"SELECT _id FROM {cur} LIMIT {SUGGEST_LIMIT}")
            known.update(str(r[0]) for r in rows)
    hint = did_you_mean(asked, known)
    if not hint:
        example = min(known) if known else "customerp-customer:42"
        hint = (
            f"; give a global id (pipe show global-organisation), a share id or a member id "
            f"such as {example!r}"
        )
    return f"no global, share or member entity {asked!r}{hint}"


def _last_live(store: Store, dataset: str, golden_id: str, latest: Entity) -> Entity:
    """The newest version with members (a deleted or ``$replaced`` golden keeps none)."""
    if not is_deleted(latest) and isinstance(latest.get("$ids"), list):
        return latest
    handle = store.dataset(dataset)
    for version in reversed(handle.history(golden_id) if handle.exists else []):
        if not is_deleted(version) and isinstance(version.get("$ids"), list):
            return version
    return latest


# --- members, links, claims -------------------------------------------------------------------


def _member_ids(entity: Entity) -> list[str]:
    ids = entity.get("$ids")
    out: list[str] = []
    for value in ids if isinstance(ids, list) else [entity.get(ID)]:
        text = value.text if isinstance(value, NI) else str(value).removeprefix("~:")
        if text not in out:
            out.append(text)
    return out


def _members(
    store: Store, merge: MergeSource, golden: Entity
) -> list[tuple[int, str, str, Entity]]:
    """(dataset position, dataset, member id, latest version) of every member found."""
    found = []
    for member_id in _member_ids(golden):
        for position, name in enumerate(merge.datasets):
            handle = store.dataset(name)
            entity = handle.latest(member_id) if handle.exists else None
            if entity is not None:
                found.append((position, name, member_id, entity))
                break
    return found


def _links(merge: MergeSource, members: list[tuple[int, str, str, Entity]]) -> list[Link]:
    live = [m for m in members if not is_deleted(m[3])][:LINK_MEMBERS]
    links = []
    for a, b in itertools.combinations(live, 2):
        for match in merge.matches((a[0], a[3]), (b[0], b[3])):
            where = str(match.where) if match.where is not None else None
            links.append(Link(a[2], b[2], match.text, where, match.values))
    return links


def _replaced_by(
    merge: MergeSource | None, members: list[tuple[int, str, str, Entity]], golden_id: str
) -> tuple[str, ...]:
    if merge is None:
        return ()
    groups = {merge.group_of(position, member_id) for position, _, member_id, _ in members}
    return tuple(sorted(g for g in groups if g is not None and g != golden_id))


def _claims(store: Store, pipe: PipeConfig, golden: Entity) -> list[Claim]:
    claims: list[Claim] = []
    for transform in pipe.transforms:
        if transform.type != "survivorship":
            continue
        survivorship = build_survivorship(store, transform, pipe)
        priority = survivorship.config.priority
        for decision in survivorship.explain(golden):
            winner = decision.winner
            value = winner.value if winner is not None else None
            stored = golden.get(decision.golden)
            stale = (decision.golden in golden or winner is not None) and canonical_json(
                stored
            ) != canonical_json(value)
            claims.append(
                Claim(
                    decision.golden,
                    value,
                    winner.member if winner is not None else None,
                    winner.dataset if winner is not None else None,
                    decision.rule,
                    _reason(decision, priority),
                    stale,
                    tuple(
                        {
                            "member": c.member,
                            "dataset": c.dataset,
                            "value": c.value,
                            "at": format_datetime(c.at),
                            "empty": c.empty,
                            "won": c.won,
                        }
                        for c in decision.candidates
                    ),
                )
            )
    return claims


def _reason(decision: Decision, priority: tuple[str, ...]) -> str:
    """The decision in words, naming the runner-up it beat (the rule itself is beside it)."""
    winner = decision.winner
    if winner is None or decision.rule is None:
        return "no member has a value"
    others = [c for c in decision.candidates if not c.won]
    if decision.rule == "only" or not others:
        return f"only {winner.member} has a value"
    other = others[0]
    if decision.rule == "newest":
        return (
            f"{winner.member} changed it last, at {format_datetime(winner.at)}; "
            f"next {other.member} at {format_datetime(other.at)}"
        )
    if decision.rule == "priority":
        ns, other_ns = NI.parse(winner.member).namespace, NI.parse(other.member).namespace
        order = " > ".join(p for p in priority if p in (ns, other_ns, winner.dataset))
        return (
            f"{winner.member} and {other.member} changed it at the same time "
            f"({format_datetime(winner.at)}); priority {order or ns + ' first'}"
        )
    return f"a filled value beats the empty one {other.member} had when the records were linked"


# --- the way in and the way out ---------------------------------------------------------------


def _role(pipe: PipeConfig) -> str:
    if pipe.source.type == "system":
        return "collect"
    if pipe.source.type == "merge":
        return "merge"
    if pipe.sink.type == "system":
        return "share"
    return "transform"


def _way_in(
    store: Store, project: Project, graph: PipeGraph, dataset: str, member_id: str, entity: Entity
) -> tuple[SourceRecord, list[PipeStep]]:
    """The member's system record and the pipes that brought it here, collect first."""
    chain: list[PipeStep] = []
    system = None
    here, here_id, record = dataset, member_id, entity
    for _ in range(8):  # enrich chains are short; the bound guards against odd cycles
        producers = graph.producers.get(here, ())
        if not producers:
            break
        pipe = project.pipes[producers[0]]
        node = graph.nodes[pipe.id]
        reads = tuple(d for d, kind in node.inputs if kind == "source")
        chain.append(PipeStep(pipe.id, _role(pipe), reads, here, node.source_system, here_id))
        if node.source_system is not None:
            system = node.source_system
            break
        if len(reads) != 1:
            break
        upstream_id = here_id
        if pipe.namespaced_identifiers:
            ni = NI.parse(here_id)
            if ni.namespace and ni.namespace == pipe.identity_namespace:
                upstream_id = ni.identifier
        handle = store.dataset(reads[0])
        found = handle.latest(upstream_id) if handle.exists else None
        if found is None:
            break
        here, here_id, record = reads[0], upstream_id, found
    namespace = NI.parse(member_id).namespace
    summary = {}
    for key, value in entity.items():
        if key.startswith(("_", "$")) or value is None:
            continue
        summary[key.removeprefix(f"{namespace}:") if namespace else key] = value
    micros = last_modified_micros(record.get("$last-modified"))
    if micros is None and record.get(TS) is not None:
        micros = int(record[TS])
    source = SourceRecord(
        member=member_id,
        dataset=dataset,
        system=system,
        record_dataset=here if here != dataset else None,
        record_id=here_id if here != dataset else None,
        last_modified=micros_to_datetime(micros) if micros is not None else None,
        deleted=is_deleted(record),
        summary=summary,
    )
    return source, list(reversed(chain))


def _readers(graph: PipeGraph, pipe_id: str | None, dataset: str) -> list[str]:
    """Pipes reading ``dataset`` as their source (sorted)."""
    return sorted(
        {
            node.id
            for node in graph.nodes.values()
            if (dataset, "source") in node.inputs and node.id != pipe_id
        }
    )
