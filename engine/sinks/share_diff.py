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

Everything else goes on to the per-entity path, which now answers its lookups from the same
batch caches. The outcome per entity is identical to the per-entity path; only the log's
versions of local outcomes are written together (and before the batch's requests). An id that
occurs twice in a batch is left to the per-entity path, whose order then matters.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from engine.canonical import differences, to_plain
from engine.entity import DELETED, FILTERED, ID, Entity
from engine.sinks.base import WriteResult
from engine.sinks.share_lines import split_line_keys

if TYPE_CHECKING:
    from engine.sinks.share import ShareSink

__all__ = ["is_local", "prefilter"]


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
    for entity in entities:
        if entity.get(FILTERED) is True:
            rest.append(entity)  # write() skips them; keep them where the runner expects
        elif str(entity[ID]) not in repeated and is_local(sink, entity):
            local.append(entity)
        else:
            rest.append(entity)
    result = WriteResult()
    if local:
        with sink.log.held():
            result = sink.write(local)
    return rest, result


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
