"""What ``pipe why`` reports about one golden entity, as plain frozen records.

Every record has ``to_dict()`` giving JSON-ready values (times as ISO-8601 text, entity values
left typed for :func:`engine.entity.encode`), so ``pipe why --json`` and notebooks see one stable
shape. The keys are part of the CLI's contract: add keys, never rename them.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any

from engine.entity import format_datetime

__all__ = ["Claim", "Link", "PipeStep", "Send", "Share", "SourceRecord", "Why"]


def _time(value: _dt.datetime | None) -> str | None:
    return format_datetime(value) if value is not None else None


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One member of the golden entity and the system record it was collected from."""

    member: str
    """The member's ``_id`` in the merged dataset (a namespaced id, ``customerp-customer:42``)."""
    dataset: str
    """The dataset the merge read the member from (an enrich pipe's output)."""
    system: str | None
    record_dataset: str | None
    """The raw dataset a collect pipe wrote (``customerp-customer``), when one is upstream."""
    record_id: str | None
    last_modified: _dt.datetime | None
    deleted: bool
    summary: dict[str, Any]
    """The member's non-null properties, namespace prefix removed: what took part in the merge."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "member": self.member,
            "dataset": self.dataset,
            "system": self.system,
            "record_dataset": self.record_dataset,
            "record_id": self.record_id,
            "last_modified": _time(self.last_modified),
            "deleted": self.deleted,
            "summary": self.summary,
        }


@dataclass(frozen=True, slots=True)
class Link:
    """Two members joined by an equality rule of the merge source, with the values they share."""

    left: str
    right: str
    rule: Any
    """The rule as written in the pipe config, e.g. ``["eq", "erp.org_number", "inv.org_number"]``."""
    path: str | None
    """Where the rule is in the pipe file (``$.source.equality[1]``)."""
    values: tuple[Any, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "left": self.left,
            "right": self.right,
            "rule": self.rule,
            "path": self.path,
            "values": list(self.values),
        }


@dataclass(frozen=True, slots=True)
class Claim:
    """A golden property: the value, the member it came from, the survivorship rule and why."""

    property: str
    value: Any
    member: str | None
    dataset: str | None
    rule: str | None
    """``newest``, ``priority``, ``only``, ``non-empty-over-empty``; ``None``: no member has it."""
    reason: str
    stale: bool
    """The stored golden value differs from what survivorship decides now (the global pipe has
    not run since a member changed)."""
    candidates: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "property": self.property,
            "value": self.value,
            "member": self.member,
            "dataset": self.dataset,
            "rule": self.rule,
            "reason": self.reason,
            "stale": self.stale,
            "candidates": [dict(c) for c in self.candidates],
        }


@dataclass(frozen=True, slots=True)
class PipeStep:
    """A pipe on the entity's way: collect, transform (enrich), merge or share."""

    pipe: str
    role: str
    reads: tuple[str, ...]
    writes: str | None
    system: str | None
    entity: str | None
    """This entity's ``_id`` in what the pipe wrote (``None``: it did not pass, e.g. a share
    whose DTL discards it)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "pipe": self.pipe,
            "role": self.role,
            "reads": list(self.reads),
            "writes": self.writes,
            "system": self.system,
            "entity": self.entity,
        }


@dataclass(frozen=True, slots=True)
class Send:
    """One recorded outcome of a share: an insert, update or delete, when and to which record."""

    operation: str
    status: str
    at: str | None
    target_id: str | None
    payload_hash: str | None
    error: str | None
    same_as_now: bool | None
    """The payload the share computes now is the one this send carried (so ``Share.payload``
    shows what was sent); ``None`` when there is no payload to compare (a delete)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "status": self.status,
            "at": self.at,
            "target_id": self.target_id,
            "payload_hash": self.payload_hash,
            "error": self.error,
            "same_as_now": self.same_as_now,
        }


@dataclass(frozen=True, slots=True)
class Share:
    """One target system: the current link, the last send and what the share computes now."""

    pipe: str
    system: str | None
    datatype: str | None
    dataset: str
    target_id: str | None
    """The record in the system this golden entity is linked to (``$target_id``)."""
    status: str | None
    """The share's last outcome (``unchanged`` after a later pass found nothing to send)."""
    at: str | None
    last_send: Send | None
    payload: Any
    """What the share's DTL makes of the golden entity now (``None`` when it discards it)."""
    in_sync: bool | None
    """The payload now hashes like the last one the share handled (nothing left to send)."""
    note: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "pipe": self.pipe,
            "system": self.system,
            "datatype": self.datatype,
            "dataset": self.dataset,
            "target_id": self.target_id,
            "status": self.status,
            "at": self.at,
            "last_send": self.last_send.to_dict() if self.last_send is not None else None,
            "payload": self.payload,
            "in_sync": self.in_sync,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class Why:
    """Everything ``pipe why`` knows about one golden entity."""

    asked: str
    entity_id: str
    pipe: str | None
    dataset: str
    deleted: bool
    replaced_by: tuple[str, ...]
    golden: dict[str, Any]
    sources: tuple[SourceRecord, ...]
    links: tuple[Link, ...]
    claims: tuple[Claim, ...]
    pipes: tuple[PipeStep, ...]
    shares: tuple[Share, ...]

    def claim(self, name: str) -> Claim:
        """The claim of golden property ``name`` (``KeyError`` when there is none)."""
        for claim in self.claims:
            if claim.property == name:
                return claim
        raise KeyError(name)

    def share(self, system: str) -> Share:
        """The share into ``system`` (the first, if several datatypes go there)."""
        for share in self.shares:
            if share.system == system:
                return share
        raise KeyError(system)

    def to_dict(self) -> dict[str, Any]:
        return {
            "asked": self.asked,
            "entity_id": self.entity_id,
            "pipe": self.pipe,
            "dataset": self.dataset,
            "deleted": self.deleted,
            "replaced_by": list(self.replaced_by),
            "golden": self.golden,
            "sources": [s.to_dict() for s in self.sources],
            "links": [link.to_dict() for link in self.links],
            "claims": [c.to_dict() for c in self.claims],
            "pipes": [p.to_dict() for p in self.pipes],
            "shares": [s.to_dict() for s in self.shares],
        }
