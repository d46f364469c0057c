"""The share sink's bulk prefilter: settle a batch's entities that need no request at once.

Why: the share sink decides per entity, and each decision used to cost a handful of DuckDB
point queries (the share log row, the collected record, the dead letter) plus a one-row append
and a commit. DuckDB answers a point query in milliseconds, so a share of 150k unchanged
customers took minutes before it sent anything. Most entities a share pipe sees need no request
at all: updates whose payload the collected record already holds (every pass after the first
links records back), inserts already made, ``$replaced`` ids, deletes the policy refuses or the
system already did.

How: for one source batch (what the runner hands over after the transforms, before it cuts the
per-entity chunks) this module

1. reads the share-log rows of every ``_id`` and the collected records of every ``$target_id``
   in one query each (``ShareLog.prefetch``, ``ShareSink.collected_cache``) and the ids with a
   live dead letter once;
2. picks the entities whose decision is local — it asks exactly the questions the per-entity
   path asks first (same functions, same inputs: the comparison is engine.canonical's, which
   SQL cannot reproduce for typed and JMESPath-projected values), so the prediction cannot
   disagree with it;
3. runs the ordinary per-entity ``_share`` on those, with the share log's appends held and
   written as one batch, inside one transaction the runner opens.

Before step 2, an entity is **settled** outright when nothing its last decision rested on
changed: the share log's last outcome is an ``unchanged`` decided against the collected record,
for the same target, parent, origin and payload hash, and that collected record (its ``_hash``)
and the sink's comparison settings are still the ones recorded in its ``$basis``. The per-entity
path would reach the same ``unchanged`` and write nothing, so the settled entity costs one
payload hash instead of two canonical comparisons and a log compare. Why it matters: a share
pipe re-reads every order when anything it hops to or its source gained a link (passes 2-4 of a
full reconcile re-read all of them, legitimately, see docs/decisions/sync.md), and almost all of
those are unchanged for a given system.

Everything else goes on to the per-entity path, which now answers its lookups from the same
batch caches. The outcome per entity is identical to the per-entity path; only the log's
versions of local outcomes are written together (and before the batch's requests). An id that
occurs twice in a batch is left to the per-entity path, whose order then matters.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from engine.canonical import differences, to_plain
from engine.entity import DELETED, FILTERED, HASH, ID, Entity
from engine.sinks.base import WriteResult
from engine.sinks.share_lines import split_line_keys

if TYPE_CHECKING:
    from engine.sinks.share import ShareSink

__all__ = ["is_local", "plain_hash", "prefilter", "settled", "unchanged_basis"]


def prefilter(sink: ShareSink, entities: list[Entity]) -> tuple[list[Entity], WriteResult]:
    """Settle the entities of one batch that need no request; answer the rest, in order."""
    live = [e for e in entities if e.get(FILTERED) is not True]
    ids = [str(e[ID]) for e in live]
    sink.log.prefetch(ids)
    targets = sorted({t for e in live if (t := _text(e.get("$target_id"))) is not None})
    for e in live:
        previous = sink.log.get(str(e[ID]))
        generated = _text((previous or {}).get("$generated_id"))
        if generated is not None:
            targets.append(generated)
    sink.collected_cache = _collected(sink, targets)
    sink.dead_letters.preload()
    repeated = {i for i, n in Counter(ids).items() if n > 1}
    local: list[Entity] = []
    rest: list[Entity] = []
    quiet = 0
    for entity in entities:
        if entity.get(FILTERED) is True:
            rest.append(entity)  # write() skips them; keep them where the runner expects
        elif str(entity[ID]) in repeated:
            rest.append(entity)
        elif settled(sink, entity):
            sink._seen.add(str(entity[ID]))  # as write() would: finish() retries only unseen
            sink.stats["unchanged"] += 1
            quiet += 1
        elif is_local(sink, entity):
            local.append(entity)
        else:
            rest.append(entity)
    result = WriteResult(unchanged=quiet)
    if local:
        with sink.log.held():
            result += sink.write(local)
    return rest, result


def settled(sink: ShareSink, entity: Entity) -> bool:
    """Is ``entity`` an update the per-entity path would find ``unchanged`` and not record?

    True only when the last outcome was an ``unchanged`` decided against the collected record
    (it carries a ``$basis``), no dead letter is live, and every input of that decision and of
    the log row is the same now: target, parent, origin, the payload's hash, the collected
    record's content hash and the comparison settings (:func:`unchanged_basis`).
    """
    if entity.get("$replaced") is True or entity.get(DELETED) is True:
        return False
    previous = sink.log.get(str(entity[ID]))
    target_id = _text(entity.get("$target_id"))
    if previous is None or target_id is None or previous.get("status") != "unchanged":
        return False
    recorded = previous.get("$basis")
    if recorded is None or previous.get("$target_id") != target_id:
        return False
    parent_id = _text(entity.get("$parent_id"))
    if parent_id is not None and previous.get("$parent_id") != parent_id:
        return False
    origin = entity.get("$origin")
    if origin is not None and previous.get("$origin") != origin:
        return False
    collected = sink._collected(target_id)
    if collected is None or unchanged_basis(sink, collected) != recorded:
        return False
    if sink.dead_letters.get(str(entity[ID])) is not None:
        return False
    raw_payload = entity.get("$payload")
    payload = to_plain(raw_payload) if isinstance(raw_payload, Mapping) else {}
    payload, _ = split_line_keys(payload, sink.lines_field)
    if not payload:
        return False  # the log keeps the earlier hash for an empty payload: nothing to compare
    return plain_hash(payload) == previous.get("$payload_hash")


def plain_hash(plain: Any) -> str:
    """:func:`engine.canonical.payload_hash` of a payload that is plain JSON already.

    ``payload_hash`` runs ``to_plain`` first, which leaves plain JSON as it is, so the digest is
    the same; skipping it halves the cost of settling an entity (``to_plain`` was most of it).
    """
    text = json.dumps(plain, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def unchanged_basis(sink: ShareSink, collected: Mapping[str, Any]) -> str | None:
    """What an ``unchanged`` against ``collected`` rested on: its content hash and settings.

    ``None`` (no fast path later) when the record carries no ``_hash``.
    """
    digest = collected.get(HASH)
    if not isinstance(digest, str):
        return None
    inputs = [
        digest,
        sink.collect_dataset,
        sink.update_fields,
        sorted((k, v.expression) for k, v in sink.compare.items()),
        sink.lines_field,
    ]
    text = json.dumps(inputs, separators=(",", ":"), default=str)
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def is_local(sink: ShareSink, entity: Entity) -> bool:
    """Would the per-entity path settle ``entity`` without talking to the system?

    Mirrors the first questions of ``ShareSink._share`` / ``_insert`` / ``_update`` /
    ``_delete``; anything it is not sure of answers ``False`` (the per-entity path decides).
    """
    entity_id = str(entity[ID])
    previous = sink.log.get(entity_id)
    target_id = _text(entity.get("$target_id"))
    if entity.get("$replaced") is True:
        return True
    if entity.get(DELETED) is True:
        target = target_id or (_text(previous.get("$generated_id")) if previous else None)
        if target is None:
            return True
        if (
            previous is not None
            and previous.get("status") == "deleted"
            and previous.get("$target_id") == target
        ):
            return True
        if sink._gone(target):
            return True
        return sink.delete_policy == "never" or (
            sink.delete_policy == "created" and not sink.log.created_by_hub(target)
        )
    if target_id is None:
        done = previous is not None and (
            previous.get("$generated_id") or previous.get("status") == "inserted"
        )
        if previous is not None and done and previous.get("status") != "deleted":
            return True
        origin = entity.get("$origin")
        return origin is not None and sink.log.inserted_for_origin(origin) is not None
    raw_payload = entity.get("$payload")
    payload = to_plain(raw_payload) if isinstance(raw_payload, Mapping) else {}
    payload, _ = split_line_keys(payload, sink.lines_field)
    fields = payload
    if sink.update_fields is not None:
        fields = {k: v for k, v in payload.items() if k in sink.update_fields}
    collected = sink._collected(target_id)
    return collected is not None and not differences(fields, sink._project(collected))


def _collected(sink: ShareSink, target_ids: list[str]) -> dict[str, Entity | None]:
    """The latest collected version (deleted ones too) of each target id, in one query."""
    found: dict[str, Entity | None] = dict.fromkeys(target_ids)
    dataset = sink.store.dataset(sink.collect_dataset)
    if target_ids and dataset.exists:
        for row in dataset.latest_many(sorted(set(target_ids))):
            found[str(row[ID])] = row
    return found


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(to_plain(value))
