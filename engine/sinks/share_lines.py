"""Line links: which line id in the target each hub line became (talk-flows A.4, D.0).

Why it exists
-------------
Order lines are embedded in their order in every system (no custom system has a line datatype,
talk-flows C.1), yet the issue asks for lines identified by *(parent link, line id)*, so that an
edit to one line in Invoiced reaches the same line in the ERP instead of replacing every line.
The hub writes no foreign keys into systems (A.4), so the link between a hub line and the line
a system created for it has to be kept in the hub, like the link of the order itself.

How: a share pipe's DTL gives every line of its payload the hub's line key under ``$line``, and
the target's own line id (``id``/``Id``) when the line exists there already. The share sink
(option ``"lines": "<payload field>"``) takes the ``$line`` keys out before it compares or
sends, and from the system's answer to an insert or update records ``{line id: hub line key}``
in the share dataset as ``$line_links``. A collected line then gets the key of the hub line it
was made from by a hop from the enrich pipe to that share dataset (``$target_id`` = the order).

Answers are paired with what was sent by position, because the APIs return the lines in the
order they were sent (Invoiced and the custom systems do; Wave has no line ids at all and its
lines are replaced as a whole, so it does not use this).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["LINE_KEY", "line_links", "merge_links", "split_line_keys"]

LINE_KEY = "$line"
"""The property of a payload line that holds the hub's line key (never sent)."""


def split_line_keys(
    payload: dict[str, Any], field: str | None
) -> tuple[dict[str, Any], list[str | None]]:
    """The payload without ``$line`` keys in ``payload[field]``, and the keys in line order."""
    lines = payload.get(field) if field else None
    if not isinstance(lines, list):
        return payload, []
    keys: list[str | None] = []
    stripped: list[Any] = []
    for line in lines:
        if isinstance(line, Mapping):
            key = line.get(LINE_KEY)
            keys.append(None if key is None else str(key))
            stripped.append({k: v for k, v in line.items() if k != LINE_KEY})
        else:
            keys.append(None)
            stripped.append(line)
    return {**payload, field: stripped}, keys  # type: ignore[dict-item]


def line_links(
    keys: list[str | None], answer: Mapping[str, Any] | None, field: str | None, id_field: str
) -> dict[str, str]:
    """``{target line id: hub line key}`` from the system's answer, paired by position."""
    lines = answer.get(field) if answer and field else None
    if not isinstance(lines, list) or len(lines) != len(keys):
        return {}  # an answer without (all) the lines cannot be paired safely
    links: dict[str, str] = {}
    for key, line in zip(keys, lines, strict=True):
        line_id = line.get(id_field) if isinstance(line, Mapping) else None
        if key is not None and line_id is not None:
            links[str(line_id)] = key
    return links


def merge_links(previous: Any, new: Mapping[str, str] | None) -> list[dict[str, str]] | None:
    """The share dataset's ``$line_links`` after an answer: earlier links plus the new ones.

    Stored as a list of ``{"id", "line"}`` (sorted by id) so DTL can filter it; a link is never
    dropped, because a line id is never reused and a stale link matches nothing.
    """
    merged: dict[str, str] = {}
    if isinstance(previous, list):
        for item in previous:
            if isinstance(item, Mapping) and item.get("id") is not None:
                merged[str(item["id"])] = str(item.get("line"))
    merged.update(new or {})
    if not merged:
        return None
    return [{"id": k, "line": merged[k]} for k in sorted(merged)]
