"""The ``system`` source: collect a system's records through its list operation (talk-flows A.1).

Pipe config::

    {"type": "system", "system": "invoiced", "datatype": "contact",
     "operation": "contact-list",          # default: "<datatype>-list"
     "full": false,                        # true: list everything every run
     "properties": {                       # (each option may also be a top-level key)
        "share_dataset": "invoiced-contact-share",   # or a list; default: the sink datasets
                                                     # of the share pipes of this datatype
        "parent_operation": "customer-list",         # nested resources: list parents first
        "parent_property": "sesam_parent_id"}}       # where the parent id is kept

Design notes
------------
* Raw shape: every record becomes an entity as the system answered it, plus ``_id`` (the record
  id by the operation's ``id_expression``, as a string) and ``$last-modified`` (the record's
  modification time by ``updated_expression``, as an aware UTC datetime; ISO strings, UNIX
  seconds or milliseconds are all accepted). A property the connector adds is prefixed
  ``sesam_`` (Talk's rule), e.g. the parent id of a nested record.
* Incremental: when the operation has a ``since_param`` the source supports since. The since
  token is the newest modification value seen, **kept exactly as the system spells it** (ISO
  text for the Custom systems and Wave, UNIX seconds for Invoiced), because that is what the
  system's filter parameter takes back; converting it would need a per-system format and could
  lose precision (the Custom systems stamp microseconds). Filters that are inclusive re-read the
  last record, which the dataset sink's hash comparison drops at no cost. A full run (the first,
  ``--full``, ``"full": true``, or an operation without ``since_param``) lists everything and the
  dataset sink's deletion tracking removes records gone from the system.
* Link back (talk-flows A.4/A.6): a record the hub itself created gets ``$origin`` from the share
  datasets of the same system/datatype (by default those of every share pipe whose sink names
  this system and datatype), found by ``$generated_id == _id``. They are read once per run into
  a dict; they are small (one row per shared entity).
* The hub's own deletes (engine.sinks.share): an incremental list never shows a deleted record,
  so an incremental run also looks at each record a share of this system/datatype deleted
  (status ``deleted`` in its share dataset, by ``$target_id``) after the collect dataset's
  latest version of it, while that version is live and this read did not list it. One GET per
  such record (once: afterwards the collect dataset is newer): gone → a deleted version that
  keeps the last properties, as deletion tracking writes; still there (a delete that archives,
  e.g. ERP and webshop products) → the record as read. Without this the hub would see its own
  delete only at the next full collect, one reconcile late, and whatever hopped to the deleted
  record (a CRM branch's parent) would be re-evaluated only then (docs/decisions/graph.md).
* Nested resources (Invoiced contacts live under ``customers/{id}/contacts``): with
  ``parent_operation`` the source lists every parent (always in full: a new contact does not
  touch its customer's ``updated_at``) and then the children of each, incrementally when the
  child operation supports since. The parent id is kept in ``parent_property``, so a share can
  address the record again (``$parent_id``).
* A record without an id goes to ``system:dead-letter:<pipe>`` with the reason; the run goes on.
* Speed (docs/decisions/scale.md, "Cheap collects of unchanged records"): pages are gathered
  into batches of :data:`BATCH_RECORDS`. When the entities go straight to a dataset sink (no
  transforms), each batch comes with its append rows built here (:mod:`engine.sources.json_body`),
  leaving out the records whose fingerprint shows them stored unchanged
  (:mod:`engine.sources.fingerprints`): those cost no canonical JSON, no hash and no comparison,
  only counting and being seen.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterator, Mapping
from typing import Any

from engine.canonical import parse_moment
from engine.config.pipes import PipeConfig
from engine.config.project import Project
from engine.config.systems import SystemConfig
from engine.connectors import Record, RestClient
from engine.connectors.clients import open_client
from engine.deadletter import DeadLetters
from engine.entity import DELETED, ID, Entity, loads
from engine.errors import ConfigError
from engine.sources.base import SourceBatch
from engine.sources.fingerprints import Fingerprints, fingerprint
from engine.sources.json_body import BodyBatch
from engine.store import Store

__all__ = ["SystemSource", "block_option", "resolve_system"]

PARENT_PROPERTY = "sesam_parent_id"
LAST_MODIFIED = "$last-modified"
ORIGIN = "$origin"
BATCH_RECORDS = 10_000
"""Records per source batch: pages are gathered up to this many before they go to the sink.

Why: the dataset sink's change detection joins each batch against the dataset's whole current
state, so its cost is per batch, not per record (~20 ms at 30k stored records, growing with the
dataset): one batch per 100-record page made a full listing of SF 1's 1.5M orders 15,000 such
joins. 10,000 records keep the join cost under a few µs per record and the batch's Python
entities at ~35 MB (measured for TPC-H orders with their lines).
"""
_UNSET: Any = object()


def resolve_system(project: Project, pipe: PipeConfig, raw: Mapping[str, Any], where: Any) -> Any:
    """The :class:`SystemConfig` a pipe's source or sink names, or a located ConfigError."""
    system_id = raw.get("system")
    systems = project.systems
    if not isinstance(system_id, str) or system_id not in systems:
        known = ", ".join(sorted(systems)) or "none"
        raise ConfigError(
            f"unknown system {system_id!r}; known systems: {known}",
            file=pipe.file,
            path=where / "system",
        )
    return systems[system_id]


def block_option(
    pipe: PipeConfig,
    raw: Mapping[str, Any],
    where: Any,
    name: str,
    kind: type | tuple[type, ...],
    default: Any,
) -> Any:
    """A source/sink option: a top-level key wins, else the same key under ``properties``.

    Both spellings are accepted so the options work before and after config validation knows
    them as top-level keys; a value of the wrong JSON type is a located ConfigError.
    """
    props = raw.get("properties")
    if name in raw:
        value, path = raw[name], where / name
    elif isinstance(props, Mapping) and name in props:
        value, path = props[name], where / "properties" / name
    else:
        return default
    if value is None:
        return default
    if not isinstance(value, kind):
        raise ConfigError(
            f"expected {name!r} to be {_kind_name(kind)}",
            file=pipe.file,
            path=path,
        )
    return value


_KIND_NAMES = {str: "a string", dict: "an object", list: "a list", bool: "true or false"}


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(_KIND_NAMES.get(k, k.__name__) for k in kinds)


class SystemSource:
    """Reads one datatype of one system, page by page, as raw-shaped entities."""

    def __init__(self, store: Store, project: Project, pipe: PipeConfig) -> None:
        raw = pipe.source.raw
        where = pipe.source.path
        self.store = store
        self.pipe = pipe
        self.system: SystemConfig = resolve_system(project, pipe, raw, where)
        self.datatype = str(raw.get("datatype") or "")
        self.operation = str(raw.get("operation") or f"{self.datatype}-list")
        if self.operation not in self.system.operations:
            raise ConfigError(
                f"system {self.system.id!r} has no operation {self.operation!r} "
                f"(set 'operation' or 'datatype'); known: {', '.join(sorted(self.system.operations))}",
                file=pipe.file,
                path=where / "operation",
            )
        option = functools.partial(block_option, pipe, raw, where)
        self.parent_operation: str | None = option("parent_operation", str, None)
        if self.parent_operation and self.parent_operation not in self.system.operations:
            raise ConfigError(
                f"system {self.system.id!r} has no operation {self.parent_operation!r}",
                file=pipe.file,
                path=where / "properties" / "parent_operation",
            )
        self.parent_property: str = option("parent_property", str, PARENT_PROPERTY)
        shares = option("share_dataset", (str, list), None)
        if isinstance(shares, str):
            shares = [shares]
        self.share_datasets: list[str] = [str(name) for name in shares or []] or _shares_of(
            project, self.system.id, self.datatype
        )
        op = self.system.operations[self.operation]
        self.full = raw.get("full") is True
        self.supports_since = op.since_param is not None and not self.full
        self.dead_letters = DeadLetters(store, pipe.id)
        self._origins: dict[str, Any] | None = None
        # entities reach a dataset sink untouched only when nothing transforms them in between
        self.prebuild = (
            pipe.sink.type == "dataset"
            and not pipe.transforms
            and not (
                pipe.namespaced_identifiers and (pipe.add_namespaces or pipe.remove_namespaces)
            )
        )

    # --- the Source protocol --------------------------------------------------------------------

    def read(self, since: Any) -> Iterator[SourceBatch]:
        newest = since
        newest_moment = parse_moment(since) if since is not None else None
        listed: set[str] = set()
        batch = BodyBatch(
            self.prebuild, (self.parent_property, LAST_MODIFIED, ORIGIN), self._fingerprints()
        )
        op = self.system.operations[self.operation]
        recipe = (op.id_expression, op.updated_expression, self.parent_property)
        with open_client(self.system, pipe=self.pipe.id) as client:
            for page, parent_id in self._pages(client, since):
                for record in page:
                    value = (
                        client.record_updated(self.operation, record)
                        if isinstance(record, dict)
                        else None
                    )
                    moment = parse_moment(value)
                    entity = self._entity(client, record, parent_id, moment)
                    if entity is None:
                        continue
                    if self.prebuild:
                        fp = fingerprint(recipe, record, parent_id, entity.get(ORIGIN))
                        batch.add(entity, fp)
                    else:
                        batch.add(entity)
                    listed.add(entity[ID])
                    if moment is not None and (newest_moment is None or moment > newest_moment):
                        newest, newest_moment = value, moment
                if len(batch) >= BATCH_RECORDS:
                    yield SourceBatch(batch.take(), newest if self.supports_since else None)
            if len(batch):
                yield SourceBatch(batch.take(), newest if self.supports_since else None)
            if since is not None and self.supports_since:
                gone = self._deleted_by_hub(client, listed)
                if gone:
                    yield SourceBatch(gone, newest)

    def is_populated(self) -> bool:
        return True

    def previous_version(self, entity_id: str) -> Entity | None:
        return None

    # --- reading ------------------------------------------------------------------------------

    def _fingerprints(self) -> Fingerprints | None:
        """The collected dataset's record fingerprints (the sink created its tables already)."""
        if not self.prebuild:
            return None
        info = self.store.dataset(self.pipe.sink_dataset or self.pipe.id).info
        return Fingerprints(self.store, info.tid) if info is not None else None

    def _pages(self, client: RestClient, since: Any) -> Iterator[tuple[list[Record], str | None]]:
        if self.parent_operation is None:
            for page in client.list_records(self.operation, since):
                yield page, None
            return
        for parents in client.list_records(self.parent_operation):
            for parent in parents:
                parent_id = client.record_id(self.parent_operation, parent)
                if parent_id is None:
                    continue
                for page in client.list_records(self.operation, since, parent_id=parent_id):
                    yield page, parent_id

    def _entity(
        self, client: RestClient, record: Any, parent_id: str | None, moment: Any = _UNSET
    ) -> Entity | None:
        """The entity of one record, or ``None`` after dead-lettering a record we cannot read.

        ``moment`` is the record's parsed modification time when the caller has it already.
        """
        if not isinstance(record, dict):
            self._reject(f"record-{type(record).__name__}", record, "the record is not an object")
            return None
        record_id = client.record_id(self.operation, record)
        if not record_id:
            op = self.system.operations[self.operation]
            text = json.dumps(record, sort_keys=True, default=str)
            key = f"no-id:{hashlib.md5(text.encode('utf-8')).hexdigest()[:16]}"
            self._reject(key, record, f"the record has no id at {op.id_expression or 'id'!r}")
            return None
        entity: Entity = {k: v for k, v in record.items() if not k.startswith("_")}
        entity[ID] = record_id
        if parent_id is not None:
            entity[self.parent_property] = parent_id
        if moment is _UNSET:
            moment = parse_moment(client.record_updated(self.operation, record))
        if moment is not None:
            entity[LAST_MODIFIED] = moment
        origin = self._origin_of(record_id)
        if origin is not None:
            entity[ORIGIN] = origin
        return entity

    def _reject(self, key: str, record: Any, reason: str) -> None:
        self.dead_letters.add(
            key,
            {"record": record, "system": self.system.id, "datatype": self.datatype},
            reason,
            operation=self.operation,
        )

    def _deleted_by_hub(self, client: RestClient, listed: set[str]) -> list[Entity]:
        """The records a share deleted since they were last collected (module docstring)."""
        get = f"{self.datatype}-get"
        collected = self.store.dataset(self.pipe.sink_dataset or self.pipe.id)
        if get not in self.system.operations or not collected.exists:
            return []
        log, cur = collected.table_names()
        deletes = []
        for name in self.share_datasets:
            share = self.store.dataset(name)
            if not share.exists:
                continue
            share_log, share_cur = share.table_names()
            # LIKE first: a cheap scan; the JSON is parsed only for the deleted outcomes
            deletes.append(
                f"""SELECT json_extract_string(l.body, '$."$target_id"') AS target, l._ts AS ts
                    FROM {share_cur} c JOIN {share_log} l ON l._updated = c._updated
                    WHERE l.body LIKE '%"status":"deleted"%'
                      AND json_extract_string(l.body, '$.status') = 'deleted'"""
            )
        if not deletes:
            return []
        rows = self.store.fetchall(
            f"""SELECT DISTINCT l._updated, l.body
                FROM {cur} c JOIN {log} l ON l._updated = c._updated
                JOIN ({" UNION ALL ".join(deletes)}) d ON d.target = c._id AND d.ts > l._ts
                WHERE NOT c._deleted ORDER BY l._updated"""
        )
        out: list[Entity] = []
        for _, body in rows:
            entity = loads(body)
            if entity[ID] in listed:
                continue
            parent_id = entity.get(self.parent_property) if self.parent_operation else None
            parent = str(parent_id) if parent_id is not None else None
            record = client.get(get, str(entity[ID]), parent_id=parent)
            if record is None:
                entity[DELETED] = True
                out.append(entity)
            else:
                found = self._entity(client, record, parent)
                if found is not None:
                    out.append(found)
        return out

    def _origin_of(self, record_id: str) -> Any:
        if self._origins is None:
            self._origins = {}
            for name in self.share_datasets:
                dataset = self.store.dataset(name)
                if not dataset.exists:
                    continue
                for row in dataset.latest_entities():
                    generated = row.get("$generated_id")
                    if generated is not None and row.get("$origin") is not None:
                        self._origins[str(generated)] = row["$origin"]
        return self._origins.get(record_id)


def _shares_of(project: Project, system_id: str, datatype: str) -> list[str]:
    """The sink datasets of every share pipe writing this system's datatype.

    Several share pipes may feed one datatype (Invoiced customers from organisations and from
    persons); a record any of them created must be linked back, so all are searched. Without
    such pipes the conventional name ``<system>-<datatype>-share`` is used.
    """
    found = sorted(
        pipe.sink.dataset or pipe.id
        for pipe in project.pipes.values()
        if pipe.sink.type == "system"
        and pipe.sink.raw.get("system") == system_id
        and (pipe.sink.raw.get("datatype") or "") == datatype
    )
    return found or [f"{system_id}-{datatype}-share"]
