"""A write-capturing overlay over the real systems: what ``pipe plan`` talks to.

Why an overlay and not a dry run
--------------------------------
A reconcile's later passes depend on its earlier sends: an invoice waits until the customer the
hub inserts in pass 1 has been collected back and linked in pass 2, and the CRM copy of that
customer is only made once Invoiced's copy exists. A share that sends nothing cannot show those
sends, because nothing it would have written ever comes back. The overlay keeps the writes
instead: reads go to the real system and come back *as if* the writes had happened (inserted
records added, updates merged in, deleted records left out), so the plan's passes see what the
reconcile's passes would see and converge the same way, while no write ever leaves the process.

How a would-be record looks
---------------------------
* **Ids.** A record the system would number gets a placeholder id: a negative whole number
  (``-1``, ``-2``, ...), which no system issues and which survives the DTL's ``integer`` casts of
  references (Invoiced's invoice names its customer by number). A record whose body already
  carries its id (Invoiced items are created with ``id = SKU``) keeps it, as the system would.
* **Modification time.** Inserts and updates stamp the operation's ``updated_expression`` field
  with the time of the write, spelled like the system spells it (UNIX seconds for Invoiced, ISO
  text for the others; learnt from the records listed), because survivorship and the
  incremental collect go by that time exactly as they would for the real write.
* **Shape.** The record reads back as it was sent, in the shape the share's ``compare`` paths
  read (``engine.connectors.readback``; an update is merged into the current record, nested
  objects key by key, lists replaced). Fields only the server fills in (numbering,
  totals, defaults) are missing; see ``docs/decisions/operator.md`` for what that can and
  cannot change in a plan.

Reads
-----
A list always asks the real system for everything (the ``since`` value may now be a time the
overlay made up, in a format the system's filter does not take) and then filters by ``since``
itself; re-reading an unchanged record costs nothing, the dataset sink drops it by hash. A
placeholder id is never sent to the real system: ``get`` and the children of a would-be parent
are answered from the overlay alone.
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from engine.canonical import parse_moment
from engine.config.systems import SystemConfig
from engine.connectors.rest import Record, RestClient

__all__ = ["CapturedWrite", "Overlay", "OverlayClient", "ReadBack", "datatype_of"]

WriteKind = Literal["insert", "update", "delete"]
ReadBack = Callable[[str | None, Mapping[str, Any]], Record]
"""(share pipe id, sent body) → the record as a later read returns it."""
_KINDS = ("list", "get", "insert", "update", "delete")
_SIMPLE_PATH = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


def datatype_of(operation: str) -> str:
    """The datatype an operation belongs to, by the ``<datatype>-<kind>`` naming convention.

    >>> datatype_of("customer-insert"), datatype_of("odd")
    ('customer', 'odd')
    """
    head, _, kind = operation.rpartition("-")
    return head if head and kind in _KINDS else operation


@dataclass(frozen=True, slots=True)
class CapturedWrite:
    """One write a share made, kept instead of sent.

    ``before`` is the record as the system would have answered just before the write (``None``
    for an insert); ``placeholder`` says ``target_id`` was made up because the system would have
    chosen the id.
    """

    number: int
    system: str
    datatype: str
    pipe: str | None
    op: WriteKind
    operation: str
    target_id: str
    parent_id: str | None
    body: dict[str, Any]
    before: dict[str, Any] | None = None
    placeholder: bool = False
    pass_number: int | None = None


@dataclass(slots=True)
class _Shadow:
    record: Record
    parent_id: str | None


@dataclass(slots=True)
class _Resource:
    """The overlay's state for one system's datatype."""

    records: dict[str, _Shadow] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    stamp_sample: Any = None


class Overlay:
    """The would-be state of every system during a plan, and the writes that made it.

    Use :meth:`client` as the :class:`~engine.connectors.clients.ClientFactory`.
    """

    def __init__(
        self,
        *,
        read_back: ReadBack | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.read_back: ReadBack = read_back or (lambda pipe, body: copy.deepcopy(dict(body)))
        self.writes: list[CapturedWrite] = []
        self.pass_number: int | None = None  # set by the plan's progress callback
        self._clock = clock
        self._resources: dict[tuple[str, str], _Resource] = {}
        self._placeholders: set[tuple[str, str]] = set()
        self._last_stamp = 0.0

    def client(self, system: SystemConfig, *, pipe: str | None = None) -> OverlayClient:
        return OverlayClient(system, self, pipe=pipe)

    def is_placeholder(self, system: str, record_id: str | None) -> bool:
        return record_id is not None and (system, str(record_id)) in self._placeholders

    # --- state used by the clients ------------------------------------------------------------

    def resource(self, system: str, datatype: str) -> _Resource:
        return self._resources.setdefault((system, datatype), _Resource())

    def new_placeholder(self, system: str) -> int:
        number = -(len(self._placeholders) + 1)
        self._placeholders.add((system, str(number)))
        return number

    def now(self) -> float:
        """Seconds since the epoch, strictly increasing, so two writes never tie."""
        stamp = max(self._clock(), self._last_stamp + 1e-6)
        self._last_stamp = stamp
        return stamp

    def capture(self, write: CapturedWrite) -> None:
        self.writes.append(write)


class OverlayClient(RestClient):
    """A :class:`RestClient` that reads through to the real system and keeps its writes."""

    def __init__(self, system: SystemConfig, overlay: Overlay, *, pipe: str | None = None) -> None:
        super().__init__(system)
        self.overlay = overlay
        self.pipe = pipe

    # --- reads ----------------------------------------------------------------------------------

    def list_records(
        self, operation: str, since: Any = None, *, parent_id: str | None = None
    ) -> Iterator[list[Record]]:
        datatype = datatype_of(operation)
        state = self.overlay.resource(self.system.id, datatype)
        floor = parse_moment(since) if since is not None else None
        seen: set[str] = set()
        if not self.overlay.is_placeholder(self.system.id, parent_id):
            for page in super().list_records(operation, None, parent_id=parent_id):
                out = []
                for record in page:
                    record_id = self.record_id(operation, record)
                    stamp = self.record_updated(operation, record)
                    if stamp is not None and state.stamp_sample is None:
                        state.stamp_sample = stamp
                    if record_id is None:
                        out.append(record)  # the collect dead-letters it, as it would
                        continue
                    seen.add(record_id)
                    if record_id in state.deleted:
                        continue
                    shadow = state.records.get(record_id)
                    current = shadow.record if shadow is not None else record
                    if self._after(operation, current, floor):
                        out.append(copy.deepcopy(current))
                if out:
                    yield out
        extra = [
            copy.deepcopy(shadow.record)
            for record_id, shadow in state.records.items()
            if record_id not in seen
            and record_id not in state.deleted
            and shadow.parent_id == parent_id
            and self._after(operation, shadow.record, floor)
        ]
        if extra:
            yield extra

    def _after(self, operation: str, record: Mapping[str, Any], floor: datetime | None) -> bool:
        """Does ``record`` belong in a listing since ``floor`` (inclusive, like the systems)?"""
        if floor is None:
            return True
        moment = parse_moment(self.record_updated(operation, record))
        return moment is None or moment >= floor

    def get(self, operation: str, id: str, *, parent_id: str | None = None) -> Record | None:
        state = self.overlay.resource(self.system.id, datatype_of(operation))
        if id in state.deleted:
            return None
        shadow = state.records.get(id)
        if shadow is not None:
            return copy.deepcopy(shadow.record)
        if self.overlay.is_placeholder(self.system.id, id):
            return None
        return super().get(operation, id, parent_id=parent_id)

    # --- writes ---------------------------------------------------------------------------------

    def insert(
        self, operation: str, payload: Mapping[str, Any], *, parent_id: str | None = None
    ) -> Record:
        datatype = datatype_of(operation)
        state = self.overlay.resource(self.system.id, datatype)
        record = self.overlay.read_back(self.pipe, payload)
        id_path = self._id_path(operation)
        given = self.record_id(operation, record)
        placeholder = given is None
        if given is None:
            number = self.overlay.new_placeholder(self.system.id)
            _set_path(record, id_path, number)
            given = str(number)
        self._stamp(operation, record, state)
        state.records[given] = _Shadow(record, parent_id)
        state.deleted.discard(given)
        self._capture("insert", operation, given, parent_id, payload, None, placeholder)
        return copy.deepcopy(record)

    def update(
        self, operation: str, id: str, payload: Mapping[str, Any], *, parent_id: str | None = None
    ) -> Record:
        datatype = datatype_of(operation)
        state = self.overlay.resource(self.system.id, datatype)
        before = self.get(self._sibling(operation, "get"), id, parent_id=parent_id)
        record = _merge(before or {}, self.overlay.read_back(self.pipe, payload))
        self._stamp(operation, record, state)
        state.records[id] = _Shadow(record, parent_id)
        self._capture("update", operation, id, parent_id, payload, before, False)
        return copy.deepcopy(record)

    def delete(self, operation: str, id: str, *, parent_id: str | None = None) -> None:
        state = self.overlay.resource(self.system.id, datatype_of(operation))
        state.records.pop(id, None)
        state.deleted.add(id)
        placeholder = self.overlay.is_placeholder(self.system.id, id)
        self._capture("delete", operation, id, parent_id, {}, None, placeholder)

    # --- helpers ----------------------------------------------------------------------------------

    def _capture(
        self,
        op: WriteKind,
        operation: str,
        target_id: str,
        parent_id: str | None,
        body: Mapping[str, Any],
        before: Mapping[str, Any] | None,
        placeholder: bool,
    ) -> None:
        self.overlay.capture(
            CapturedWrite(
                number=len(self.overlay.writes) + 1,
                system=self.system.id,
                datatype=datatype_of(operation),
                pipe=self.pipe,
                op=op,
                operation=operation,
                target_id=target_id,
                parent_id=parent_id,
                body=copy.deepcopy(dict(body)),
                before=copy.deepcopy(dict(before)) if before is not None else None,
                placeholder=placeholder,
                pass_number=self.overlay.pass_number,
            )
        )

    def _sibling(self, operation: str, kind: str) -> str:
        """The ``kind`` operation of the same datatype (``customer-insert`` → ``customer-get``)."""
        name = f"{datatype_of(operation)}-{kind}"
        return name if name in self.system.operations else operation

    def _id_path(self, operation: str) -> str:
        for name in (operation, self._sibling(operation, "list")):
            expression = self.operation(name).id_expression
            if expression and _SIMPLE_PATH.match(expression):
                return expression
        return "id"

    def _stamp(self, operation: str, record: Record, state: _Resource) -> None:
        """Set the record's modification time, as the system would on a write."""
        for name in (operation, self._sibling(operation, "list"), self._sibling(operation, "get")):
            expression = self.operation(name).updated_expression
            if expression and _SIMPLE_PATH.match(expression):
                _set_path(record, expression, _spell(self.overlay.now(), state.stamp_sample))
                return


def _spell(seconds: float, sample: Any) -> Any:
    """``seconds`` written like ``sample`` (a number of seconds or ms, or ISO text)."""
    if isinstance(sample, bool):
        sample = None
    if isinstance(sample, int | float):
        factor = 1000 if abs(sample) > 10**11 else 1
        value = seconds * factor
        return int(value) if isinstance(sample, int) else value
    moment = datetime.fromtimestamp(seconds, UTC)
    if isinstance(sample, str) and "." not in sample:
        moment = moment.replace(microsecond=0)
        text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    else:
        text = moment.strftime("%Y-%m-%dT%H:%M:%S.%f")
    if isinstance(sample, str) and not sample.endswith("Z"):
        return text + "+00:00"
    return text + "Z"


def _set_path(record: Record, path: str, value: Any) -> None:
    parts = path.split(".")
    node = record
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[parts[-1]] = value


def _merge(current: Mapping[str, Any], patch: Mapping[str, Any]) -> Record:
    """A PATCH: the patch's keys replace the current ones; nested objects merge key by key."""
    out = copy.deepcopy(dict(current))
    for key, value in patch.items():
        old = out.get(key)
        if isinstance(old, Mapping) and isinstance(value, Mapping):
            out[key] = _merge(old, value)
        else:
            out[key] = value
    return out
