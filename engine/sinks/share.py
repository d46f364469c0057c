"""The ``system`` sink: share desired states into a system as inserts, updates and deletes.

Pipe config::

    {"type": "system", "system": "wave", "datatype": "customer",
     "dataset": "wave-customer-share",     # the share dataset (default: the pipe id)
     "delete_policy": "created",           # created (default) | all | never
     "properties": {                       # (each option may also be a top-level key)
        "operations": {"insert": "customer-insert", ...},  # default "<datatype>-<kind>"
        "collect_dataset": "wave-customer",  # default "<system>-<datatype>"
        "compare": {"currency": "currency.code"},  # payload field -> JMESPath into a record
        "update_fields": ["name", "description"],  # only these are sent (and compared)
        "insert_properties": {"businessId": "$ENV(wave_business_id)"},
        "update_id_property": "id",        # put the target id into the update payload
        "optimistic_locking": true}}

Input entities (from a share pipe's DTL): ``_id`` (golden id), ``$target_id`` (the linked record
in this system or null), ``$payload`` (the record in the API's shape), ``$origin``,
``$parent_id`` (nested resources), ``_deleted``, ``$replaced``. Per entity (talk-flows A.1):

* ``$replaced`` → nothing: an id change inside the hub, not a delete.
* ``_deleted`` → delete ``$target_id`` (or the record the hub created for this ``_id``) when the
  delete policy allows. The default ``created`` deletes only records the hub itself created
  (per the share dataset): Talk documents no rule for deleting a user's own record in B because
  of a delete in A (talk-flows E.1), and deleting data nobody asked the hub to own is the one
  mistake a sync cannot undo.
* no ``$target_id`` → insert, unless the share dataset already records an insert for this
  ``_id`` or ``$origin`` (never twice: the next collect links the new record back).
* ``$target_id`` → update only when the payload differs (engine.canonical) from the record as
  last collected; then GET it and skip (``skipped-lock``) if it changed since that collect
  (modification time or content on the payload's fields): the next collect brings the edit in.

Refused writes (:class:`RejectedError`) go to ``system:dead-letter:<pipe>`` and are retried at
the end of later runs, backing off by runs (engine.deadletter), until they succeed; other connector failures fail the run. The sink
has side effects the hub cannot roll back, so it wants each ``write()`` committed on its own
(``commit_per_batch``). With ``dry_run`` set it sends nothing and only counts what it would send.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jmespath
import jmespath.exceptions

from engine.canonical import (
    differences,
    equivalent,
    parse_moment,
    payload_hash,
    project,
    to_plain,
)
from engine.config.pipes import PipeConfig
from engine.config.project import Project
from engine.config.systems import SystemConfig, template_names
from engine.connectors import HttpError, NotFoundError, RejectedError, RestClient
from engine.connectors.clients import open_client
from engine.deadletter import DeadLetters
from engine.entity import DELETED, FILTERED, ID, Entity
from engine.errors import ConfigError
from engine.sinks.base import WriteResult
from engine.sinks.share_diff import unchanged_basis
from engine.sinks.share_lines import line_links, merge_links, split_line_keys
from engine.sinks.share_log import ShareLog
from engine.sources.system import block_option, resolve_system
from engine.store import Store

__all__ = ["STAT_KEYS", "ShareSink"]

STAT_KEYS = ("insert", "update", "delete", "unchanged", "lock-skipped", "rejected", "skipped")
_STATUS_STAT = {
    "inserted": "insert",
    "updated": "update",
    "deleted": "delete",
    "unchanged": "unchanged",
    "skipped-lock": "lock-skipped",
    "rejected": "rejected",
    "skipped": "skipped",
}
DELETE_POLICIES = ("created", "all", "never")


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str
    target_id: str | None = None
    generated_id: str | None = None
    error: str | None = None
    answer: Mapping[str, Any] | None = None  # the system's answer to an insert or update
    basis: str | None = None  # an "unchanged" decided locally: what it rested on (share_diff)


class _Unsendable(Exception):
    """The entity cannot become a request (e.g. a nested record without ``$parent_id``)."""


class ShareSink:
    """Shares one datatype into one system; see the module notes."""

    commit_per_batch = True

    def __init__(self, store: Store, project: Project, pipe: PipeConfig) -> None:
        raw = pipe.sink.raw
        where = pipe.sink.path
        option = functools.partial(block_option, pipe, raw, where)
        self.store = store
        self.pipe_id = pipe.id
        self.system: SystemConfig = resolve_system(project, pipe, raw, where)
        self.system_id = self.system.id
        self.datatype = str(raw.get("datatype") or "")
        names = option("operations", dict, {})
        self.ops = {k: str(names.get(k) or f"{self.datatype}-{k}") for k in _KINDS}
        for kind, name in self.ops.items():
            if name not in self.system.operations:
                raise ConfigError(
                    f"system {self.system_id!r} has no {kind} operation {name!r}; known: "
                    f"{', '.join(sorted(self.system.operations))}",
                    file=pipe.file,
                    path=where / "operations",
                )
        self.delete_policy = str(raw.get("delete_policy") or "created")
        if self.delete_policy not in DELETE_POLICIES:
            raise ConfigError(
                f"unknown delete_policy {self.delete_policy!r}; known: {', '.join(DELETE_POLICIES)}",
                file=pipe.file,
                path=where / "delete_policy",
            )
        self.log = ShareLog(store, pipe.sink.dataset or pipe.id)
        default_collect = f"{self.system_id}-{self.datatype}"
        self.collect_dataset: str = option("collect_dataset", str, default_collect)
        self.update_fields: list[str] | None = option("update_fields", list, None)
        self.insert_properties: dict[str, Any] = option("insert_properties", dict, {})
        self.update_id_property: str | None = option("update_id_property", str, None)
        self.locking: bool = option("optimistic_locking", bool, True)
        # embedded lines whose hub keys ($line) become $line_links (engine.sinks.share_lines)
        self.lines_field: str | None = option("lines", str, None)
        self.line_id_field: str = option("line_id", str, "id")
        try:
            self.compare = {
                str(k): jmespath.compile(str(v)) for k, v in option("compare", dict, {}).items()
            }
        except jmespath.exceptions.JMESPathError as e:
            raise ConfigError(
                f"bad JMESPath in 'compare': {e}", file=pipe.file, path=where / "properties"
            ) from e
        self.dead_letters = DeadLetters(store, pipe.id)
        self.dry_run = False
        self.stats: dict[str, int] = dict.fromkeys(STAT_KEYS, 0)
        self._client: RestClient | None = None
        self._seen: set[str] = set()
        self.run_number = 1
        self.collected_cache: dict[str, Entity | None] = {}

    # --- the Sink protocol ----------------------------------------------------------------------

    def begin(self, *, full: bool) -> None:
        self.store.create_dataset_tables(self.log.name)
        self._seen = set()
        # the number of this run (the runner counts it at the end): dead letters back off by runs
        self.run_number = self.store.pipe_state(self.pipe_id).runs + 1

    def write(self, entities: list[Entity]) -> WriteResult:
        result = WriteResult()
        try:
            for entity in entities:
                if entity.get(FILTERED) is True:
                    continue
                self._seen.add(entity[ID])
                result += self._share(entity)
        except BaseException:
            self.close()
            raise
        return result

    def prefilter(self, entities: list[Entity]) -> tuple[list[Entity], WriteResult]:
        """Settle a source batch's entities that need no request in bulk; see share_diff."""
        from engine.sinks.share_diff import prefilter

        return prefilter(self, entities)

    def finish(self, *, full: bool, source_populated: bool) -> WriteResult:
        """Retry the due dead letters this run did not see, then close the connection."""
        result = WriteResult()
        try:
            for letter in self.dead_letters.due(self.run_number):
                entity = letter.get("entity")
                if letter[ID] in self._seen or not isinstance(entity, dict):
                    continue
                result += self._share(dict(entity))
        finally:
            self.close()
        if source_populated and not self.dry_run:
            self.log.dataset.set_populated()
        return result

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    @property
    def client(self) -> RestClient:
        if self._client is None:
            self._client = open_client(self.system, pipe=self.pipe_id)
        return self._client

    # --- one entity -------------------------------------------------------------------------------

    def _share(self, entity: Entity) -> WriteResult:
        entity_id = str(entity[ID])
        previous = self.log.get(entity_id)
        raw_payload = entity.get("$payload")
        payload = to_plain(raw_payload) if isinstance(raw_payload, Mapping) else {}
        payload, line_keys = split_line_keys(payload, self.lines_field)
        target_id = _text(entity.get("$target_id"))
        parent_id = _text(entity.get("$parent_id"))
        try:
            if entity.get("$replaced") is True:
                outcome = Outcome("skipped", target_id)
            elif entity.get(DELETED) is True:
                outcome = self._delete(target_id, parent_id, previous)
            elif target_id is None:
                outcome = self._insert(entity, payload, parent_id, previous)
            else:
                outcome = self._update(target_id, payload, parent_id)
        except RejectedError as e:
            return self._rejected(entity, str(e), e, previous, target_id, payload)
        except _Unsendable as e:
            return self._rejected(entity, str(e), None, previous, target_id, payload)
        except HttpError as e:
            raise e.located(entity_id=entity_id) from None
        self.stats[_STATUS_STAT[outcome.status]] += 1
        # a delete already done stays recorded as done: an archived record (Wave products) is
        # still listed, so only this status keeps the next run from archiving it again
        keep_deleted = outcome.status == "unchanged" and bool(
            previous is not None and previous.get("status") == "deleted" and entity.get(DELETED)
        )
        if not self.dry_run and not keep_deleted:
            self.log.record(
                entity_id,
                previous,
                status=outcome.status,
                target_id=outcome.target_id,
                payload_hash=payload_hash(payload) if payload else None,
                origin=entity.get("$origin"),
                parent_id=parent_id,
                generated_id=outcome.generated_id,
                error=outcome.error,
                line_links=merge_links(
                    (previous or {}).get("$line_links"),
                    line_links(line_keys, outcome.answer, self.lines_field, self.line_id_field),
                ),
                basis=outcome.basis,
            )
            # any outcome but a rejection supersedes an earlier failure of this entity: retrying
            # the stale version later would undo what this newer one decided
            self.dead_letters.clear(entity_id)
        if outcome.status in ("inserted", "updated"):
            return WriteResult(written=1)
        if outcome.status == "deleted":
            return WriteResult(deleted=1)
        return WriteResult(unchanged=1)

    def _rejected(
        self,
        entity: Entity,
        reason: str,
        error: RejectedError | None,
        previous: Entity | None,
        target_id: str | None,
        payload: dict[str, Any],
    ) -> WriteResult:
        self.stats["rejected"] += 1
        if not self.dry_run:
            self.dead_letters.add(
                str(entity[ID]),
                entity,
                reason,
                operation=error.operation if error is not None else None,
                status=error.status if error is not None else None,
                input_errors=error.input_errors if error is not None else None,
                run=self.run_number,
            )
            self.log.record(
                str(entity[ID]),
                previous,
                status="rejected",
                target_id=target_id,
                payload_hash=payload_hash(payload) if payload else None,
                origin=entity.get("$origin"),
                parent_id=_text(entity.get("$parent_id")),
                error=reason,
            )
        return WriteResult(unchanged=1)

    def _needs_parent(self, kind: str, parent_id: str | None) -> None:
        op = self.system.operations[self.ops[kind]]
        names = template_names(op.url)
        if op.graphql is not None:
            names |= template_names(dict(op.graphql.variables))
        if "parent_id" in names and parent_id is None:
            raise _Unsendable(
                f"operation {op.name!r} addresses a nested record and needs '$parent_id'"
            )

    def _insert(
        self, entity: Entity, payload: dict[str, Any], parent_id: str | None, prev: Entity | None
    ) -> Outcome:
        done = prev is not None and (prev.get("$generated_id") or prev.get("status") == "inserted")
        if prev is not None and done and prev.get("status") != "deleted":
            return Outcome("unchanged", _text(prev.get("$generated_id")))  # never insert twice
        origin = entity.get("$origin")
        earlier = self.log.inserted_for_origin(origin) if origin is not None else None
        if earlier is not None:
            return Outcome("unchanged", _text(earlier.get("$generated_id")))
        self._needs_parent("insert", parent_id)
        if self.dry_run:
            return Outcome("inserted")
        body = {**payload, **to_plain(self.insert_properties)}
        created = self.client.insert(self.ops["insert"], body, parent_id=parent_id)
        generated = self.client.record_id(self.ops["insert"], created)
        if generated is None:
            return Outcome("inserted", error="the system answered no id for the new record")
        return Outcome("inserted", generated, generated, answer=created)

    def _update(self, target_id: str, payload: dict[str, Any], parent_id: str | None) -> Outcome:
        fields = payload
        if self.update_fields is not None:
            fields = {k: v for k, v in payload.items() if k in self.update_fields}
        collected = self._collected(target_id)
        if collected is not None and not differences(fields, self._project(collected)):
            return Outcome("unchanged", target_id, basis=unchanged_basis(self, collected))
        self._needs_parent("get", parent_id)
        current = self.client.get(self.ops["get"], target_id, parent_id=parent_id)
        if current is None:
            return Outcome("skipped", target_id, error="the record no longer exists")
        if not differences(fields, self._project(current)):
            return Outcome("unchanged", target_id)
        if self.locking and collected is not None and self._changed(collected, current, fields):
            return Outcome("skipped-lock", target_id, error="changed in the system since collect")
        if self.dry_run:
            return Outcome("updated", target_id)
        body = dict(fields)
        if self.update_id_property:
            body[self.update_id_property] = target_id
        self._needs_parent("update", parent_id)
        answer = self.client.update(self.ops["update"], target_id, body, parent_id=parent_id)
        return Outcome("updated", target_id, answer=answer)

    def _delete(self, target_id: str | None, parent_id: str | None, prev: Entity | None) -> Outcome:
        target = target_id or (_text(prev.get("$generated_id")) if prev else None)
        if target is None:
            return Outcome("unchanged")
        if (
            prev is not None
            and prev.get("status") == "deleted"
            and prev.get("$target_id") == target
        ):
            return Outcome("unchanged", target)
        if self._gone(target):
            return Outcome("unchanged", target)  # the last collect saw it deleted: nothing to do
        if self.delete_policy == "never" or (
            self.delete_policy == "created" and not self.log.created_by_hub(target)
        ):
            return Outcome("skipped", target, error=f"delete_policy {self.delete_policy!r}")
        self._needs_parent("delete", parent_id)
        if not self.dry_run:
            with contextlib.suppress(NotFoundError):  # already gone: the goal is reached
                self.client.delete(self.ops["delete"], target, parent_id=parent_id)
        return Outcome("deleted", target)

    # --- comparison helpers ---------------------------------------------------------------------

    def _gone(self, target_id: str) -> bool:
        """True when the last collect of the target saw this record deleted."""
        found = self._last_collected(target_id)
        return found is not None and found.get(DELETED) is True

    def _collected(self, target_id: str) -> Entity | None:
        found = self._last_collected(target_id)
        return None if found is None or found.get(DELETED) is True else dict(found)

    def _last_collected(self, target_id: str) -> Entity | None:
        if target_id in self.collected_cache:  # read for the whole batch by share_diff
            return self.collected_cache[target_id]
        dataset = self.store.dataset(self.collect_dataset)
        found: Entity | None = dataset.latest(target_id) if dataset.exists else None
        return found

    def _project(self, record: Mapping[str, Any]) -> dict[str, Any]:
        return project(record, self.compare)

    def _changed(
        self, collected: Mapping[str, Any], current: Mapping[str, Any], fields: Mapping[str, Any]
    ) -> bool:
        """Did the record change in the system after the collect that read ``collected``?"""
        seen = parse_moment(collected.get("$last-modified"))
        now = parse_moment(self.client.record_updated(self.ops["get"], current))
        if seen is not None and now is not None and now != seen:
            return True
        before, after = self._project(collected), self._project(current)
        return any(not equivalent(before.get(k), after.get(k), k) for k in fields)


_KINDS = ("insert", "update", "delete", "get")


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(to_plain(value))
