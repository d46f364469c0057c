"""``pipe plan``: everything a reconcile would send, field by field, sending and writing nothing.

How a plan is made (:func:`make_plan`)
--------------------------------------
The reconcile itself runs, unchanged, against a *shadow* hub (a copy of the hub database the
caller throws away) with every system client replaced by an
:class:`~engine.connectors.overlay.Overlay` client: collects read the real systems, shares write
to the overlay, and later reads see those writes. So the plan holds the sends a reconcile makes
only after its own earlier sends (an invoice waiting for the customer the hub inserts first, the
CRM copy of a customer Invoiced does not have yet), converges the way the reconcile would, and
its ``sent`` counts come from the same share statistics a reconcile reports.

What each send records (:class:`PlannedSend`)
---------------------------------------------
The system, datatype and share pipe; the golden entity it is for (read from the shadow share
dataset, which records every send with the id of its target); the target id (a placeholder
for a record the system would number); and per operation: an insert's payload, an update's
changed fields with ``before`` (the record as the system held it just before the write, which is
what the last collect saw: a record changed since is skipped by optimistic locking, not sent)
and ``after`` (what would be sent), a delete's target.
"""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jmespath

from engine.canonical import differences, project
from engine.config.pipes import PipeConfig
from engine.config.project import Project
from engine.connectors.clients import use_clients
from engine.connectors.overlay import CapturedWrite, Overlay
from engine.connectors.readback import read_back
from engine.reconcile import DEFAULT_MAX_PASSES, PipeStep, ReconcileReport, reconcile
from engine.runner import PipeRunner
from engine.sources.system import block_option
from engine.store import Store

__all__ = ["FieldChange", "Plan", "PlannedSend", "describe_writes", "make_plan"]

SentCounts = dict[str, dict[str, dict[str, int]]]
OPS = ("insert", "update", "delete")


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field of an update: its value as last collected and the value that would be sent."""

    field: str
    before: Any
    after: Any

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "before": self.before, "after": self.after}


@dataclass(frozen=True, slots=True)
class PlannedSend:
    """One request a reconcile would send to a system."""

    system: str
    datatype: str
    pipe: str | None
    entity_id: str | None
    op: str
    target_id: str
    placeholder: bool = False
    parent_id: str | None = None
    pass_number: int | None = None
    payload: dict[str, Any] | None = None
    changes: tuple[FieldChange, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "system": self.system,
            "datatype": self.datatype,
            "pipe": self.pipe,
            "entity_id": self.entity_id,
            "op": self.op,
            "target_id": self.target_id,
            "placeholder": self.placeholder,
            "pass": self.pass_number,
        }
        if self.parent_id is not None:
            out["parent_id"] = self.parent_id
        if self.payload is not None:
            out["payload"] = self.payload
        if self.op == "update":
            out["changes"] = [c.to_dict() for c in self.changes]
        return out


@dataclass(frozen=True, slots=True)
class Plan:
    """What a reconcile would send: every send in order, and the counts ``pipe reconcile`` shows.

    ``sent`` maps system → datatype → ``{"insert", "update", "delete"}`` with every system and
    datatype a share pipe targets present, zeros included (DESIGN.md's ``pipe plan --json``).
    """

    sends: tuple[PlannedSend, ...]
    sent: SentCounts
    passes: int
    converged: bool
    seconds: float
    report: ReconcileReport | None = field(default=None, compare=False, repr=False)

    @property
    def empty(self) -> bool:
        return not self.sends

    def grouped(self) -> dict[str, dict[str, list[PlannedSend]]]:
        """The sends by system, then datatype (both sorted), each list in sending order."""
        out: dict[str, dict[str, list[PlannedSend]]] = {}
        for send in self.sends:
            out.setdefault(send.system, {}).setdefault(send.datatype, []).append(send)
        return {s: dict(sorted(d.items())) for s, d in sorted(out.items())}

    def to_dict(self) -> dict[str, Any]:
        return {
            "converged": self.converged,
            "passes": self.passes,
            "seconds": self.seconds,
            "sent": self.sent,
            "sends": [s.to_dict() for s in self.sends],
        }


def make_plan(
    runner: PipeRunner,
    *,
    sent_counts: Any,
    max_passes: int = DEFAULT_MAX_PASSES,
) -> Plan:
    """Reconcile ``runner``'s (shadow!) store against the overlay and describe what was kept.

    ``runner`` must work on a throw-away copy of the hub database: the reconcile writes to it as
    a real one would. ``sent_counts`` turns the reconcile report into the ``sent`` mapping
    (``Hub.sent``), so a plan and a reconcile count the same way.
    """
    started = time.perf_counter()
    overlay = Overlay(read_back=_ReadBack(runner.project))

    def progress(step: PipeStep) -> None:
        overlay.pass_number = step.pass_number

    with use_clients(overlay.client):
        report = reconcile(runner, max_passes=max_passes, progress=progress)
    sends = describe_writes(runner.store, runner.project, overlay.writes)
    return Plan(
        sends=tuple(sends),
        sent=sent_counts(report),
        passes=report.pass_count,
        converged=report.converged,
        seconds=round(time.perf_counter() - started, 6),
        report=report,
    )


def describe_writes(
    store: Store, project: Project, writes: list[CapturedWrite]
) -> list[PlannedSend]:
    """The writes as planned sends, the golden entity of each read from ``store``'s share logs.

    Call it after the reconcile that made the writes: the share datasets then name every
    target the writes touched.
    """
    views: dict[str, _ShareView] = {}
    out = []
    for write in writes:
        pipe = project.pipes.get(write.pipe) if write.pipe else None
        if pipe is None:
            out.append(_send(write, None, write.datatype, None, write.body))
            continue
        view = views.get(pipe.id)
        if view is None:
            view = views[pipe.id] = _ShareView(store, pipe)
        out.append(
            _send(write, pipe.id, view.datatype, view.entity_for(write), view.changes(write))
        )
    return out


def _send(
    write: CapturedWrite,
    pipe: str | None,
    datatype: str,
    entity_id: str | None,
    detail: Any,
) -> PlannedSend:
    return PlannedSend(
        system=write.system,
        datatype=datatype,
        pipe=pipe,
        entity_id=entity_id,
        op=write.op,
        target_id=write.target_id,
        placeholder=write.placeholder,
        parent_id=write.parent_id,
        pass_number=write.pass_number,
        payload=write.body if write.op == "insert" else None,
        changes=tuple(detail) if write.op == "update" else (),
    )


class _ReadBack:
    """A sent body as the system would hold it: ``compare`` paths inverted, new lines numbered.

    A line sent without its id (``line_id`` of a share with ``lines``) is a new line, which the
    system numbers; it gets a placeholder number so the line links of the share see what they
    would see in the system's answer.
    """

    def __init__(self, project: Project) -> None:
        self.shares: dict[str, tuple[dict[str, Any], str | None, str]] = {}
        for pipe in project.pipes.values():
            if pipe.sink.type != "system":
                continue
            option = functools.partial(block_option, pipe, pipe.sink.raw, pipe.sink.path)
            compare = option("compare", dict, {})
            self.shares[pipe.id] = (
                compare,
                option("lines", str, None),
                option("line_id", str, "id"),
            )
        self.numbers = itertools.count(1)

    def __call__(self, pipe: str | None, body: Mapping[str, Any]) -> dict[str, Any]:
        compare, lines_field, line_id = self.shares.get(pipe or "", ({}, None, "id"))
        record = read_back(body, compare)
        lines = record.get(lines_field) if lines_field else None
        for line in lines if isinstance(lines, list) else []:
            if isinstance(line, dict) and line.get(line_id) is None:
                line[line_id] = -next(self.numbers)
        return record


class _ShareView:
    """What the plan needs of one share pipe: its datatype, its log, its ``compare`` paths."""

    def __init__(self, store: Store, pipe: PipeConfig) -> None:
        raw = pipe.sink.raw
        self.datatype = str(raw.get("datatype") or "")
        compare = block_option(pipe, raw, pipe.sink.path, "compare", dict, {})
        self.compare = {str(k): jmespath.compile(str(v)) for k, v in compare.items()}
        self.id_property = block_option(pipe, raw, pipe.sink.path, "update_id_property", str, None)
        dataset = store.dataset(pipe.sink.dataset or pipe.id)
        rows = dataset.latest_entities(include_deleted=True) if dataset.exists else []
        self.by_generated: dict[str, str] = {}
        self.by_target: dict[str, str] = {}
        for row in rows:
            if row.get("$generated_id") is not None:
                self.by_generated.setdefault(str(row["$generated_id"]), str(row["_id"]))
            if row.get("$target_id") is not None:
                self.by_target.setdefault(str(row["$target_id"]), str(row["_id"]))

    def entity_for(self, write: CapturedWrite) -> str | None:
        """The golden entity the share sent this write for (its share dataset row)."""
        if write.op == "insert":
            return self.by_generated.get(write.target_id)
        return self.by_target.get(write.target_id) or self.by_generated.get(write.target_id)

    def changes(self, write: CapturedWrite) -> list[FieldChange]:
        if write.op != "update":
            return []
        before = self._project(write.before or {})
        body = {k: v for k, v in write.body.items() if k != self.id_property}
        return [FieldChange(k, before.get(k), body[k]) for k in differences(body, before)]

    def _project(self, record: Mapping[str, Any]) -> dict[str, Any]:
        return project(record, self.compare)
