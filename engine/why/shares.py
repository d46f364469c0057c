"""The way out of ``pipe why``: per share pipe, the link, the last send and the payload now.

The share dataset (:mod:`engine.sinks.share_log`) keeps one version per outcome that changed
something, with a hash of the payload, not the payload. So the payload is recomputed by the
share pipe's compiled DTL and compared by hash: ``same_as_now`` (it is what the last send
carried) and ``in_sync`` (nothing is left to send). Nothing is sent and nothing is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.canonical import payload_hash
from engine.config.pipes import PipeConfig
from engine.config.project import Project
from engine.entity import FILTERED, ID, Entity
from engine.errors import HubError
from engine.pipeline import build_transforms
from engine.store import Store
from engine.why.model import Send, Share

__all__ = ["SEND_OPERATIONS", "explain_share"]

SEND_OPERATIONS = {"inserted": "insert", "updated": "update", "deleted": "delete"}


def explain_share(
    store: Store, project: Project, pipe: PipeConfig, golden_id: str, golden: Entity
) -> Share:
    """What ``pipe`` (a share into a system) did and would do with golden entity ``golden_id``."""
    assert pipe.sink_dataset is not None
    log = store.dataset(pipe.sink_dataset)
    history = log.history(golden_id) if log.exists else []
    latest = history[-1] if history else None
    sent = next((v for v in reversed(history) if v.get("status") in SEND_OPERATIONS), None)
    payload, now_hash, note = _payload_now(store, project, pipe, golden_id, golden)
    in_sync = (
        None if latest is None or now_hash is None else latest.get("$payload_hash") == now_hash
    )
    if latest is None and note is None:
        note = "nothing shared yet"
    return Share(
        pipe=pipe.id,
        system=_text(pipe.sink.raw.get("system")),
        datatype=_text(pipe.sink.raw.get("datatype")),
        dataset=pipe.sink_dataset,
        target_id=_text(latest.get("$target_id")) if latest else None,
        status=_text(latest.get("status")) if latest else None,
        at=_text(latest.get("at")) if latest else None,
        last_send=_send(sent, now_hash) if sent is not None else None,
        payload=payload,
        in_sync=in_sync,
        note=note,
    )


def _send(version: Entity, now_hash: str | None) -> Send:
    status = str(version.get("status"))
    sent_hash = _text(version.get("$payload_hash"))
    return Send(
        operation=SEND_OPERATIONS[status],
        status=status,
        at=_text(version.get("at")),
        target_id=_text(version.get("$target_id")),
        payload_hash=sent_hash,
        error=_text(version.get("error")),
        same_as_now=None if sent_hash is None or now_hash is None else sent_hash == now_hash,
    )


def _payload_now(
    store: Store,
    project: Project,
    pipe: PipeConfig,
    golden_id: str,
    golden: Entity,
) -> tuple[Any, str | None, str | None]:
    """(payload the share's DTL makes of ``golden`` now, its hash, a note)."""
    try:
        out = build_transforms(store, project, pipe)([dict(golden)])
    except HubError as e:
        return None, None, f"the share's DTL fails on this entity now: {e}"
    mine = [e for e in out if e.get(ID) == golden_id and e.get(FILTERED) is not True]
    if not mine:
        return None, None, "the share's DTL discards this entity now (not for this system)"
    payload = mine[0].get("$payload")
    if not isinstance(payload, Mapping) or not payload:
        return payload, None, None
    return payload, payload_hash(payload), None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
