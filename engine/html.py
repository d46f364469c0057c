"""HTML for notebooks: pure functions from plain values to small, escaped HTML fragments.

The ``_repr_html_`` methods of the notebook objects (datasets, the dataset list, the hub, runs,
reconcile reports) call these; nothing here knows Jupyter, DuckDB or the hub's classes, so the
rendering is testable as text. Every value goes through :func:`cell` (escaped, shortened), since
entity data comes from outside systems and may hold markup.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["cell", "dataset_html", "datasets_html", "runs_html", "section", "sent_html", "table"]

MAX_CELL = 80
"""Characters of one value shown in a cell; longer values end in an ellipsis."""


def cell(value: Any) -> str:
    """One value as escaped text: ``None`` is empty, long text is cut at :data:`MAX_CELL`."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_CELL:
        text = text[: MAX_CELL - 1] + "…"
    return html.escape(text, quote=True)


def table(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], *, caption: str | None = None
) -> str:
    """A plain ``<table>`` with a header row; every header and value is escaped."""
    parts = ['<table class="hub-table">']
    if caption:
        parts.append(f"<caption>{cell(caption)}</caption>")
    parts.append("<thead><tr>" + "".join(f"<th>{cell(c)}</th>" for c in columns) + "</tr></thead>")
    parts.append("<tbody>")
    for row in rows:
        parts.append("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)


def _title(text: str, detail: str) -> str:
    """A heading line; escaped but never shortened (paths and counts must stay whole)."""
    return f"<p><b>{html.escape(text)}</b> {html.escape(detail)}</p>"


def dataset_html(
    name: str,
    *,
    live: int,
    deleted: int,
    versions: int,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    as_of: int | None = None,
) -> str:
    """A dataset: its name, counts, and the first rows of its latest versions."""
    when = f" as of run {as_of}" if as_of is not None else ""
    detail = f"{live} live, {deleted} deleted, {versions} versions{when}"
    shown = f"first {len(rows)} of {live}" if len(rows) < live else f"all {live}"
    body = table(columns, rows, caption=f"{shown} entities") if rows else "<p>(no entities)</p>"
    return f'<div class="hub-dataset">{_title(f"dataset {name}", detail)}{body}</div>'


def datasets_html(rows: Sequence[Mapping[str, Any]], *, as_of: int | None = None) -> str:
    """The dataset list (name, live, deleted, versions, populated)."""
    caption = f"datasets as of run {as_of}" if as_of is not None else "datasets"
    columns = ["dataset", "live", "deleted", "versions", "populated"]
    return table(
        columns,
        [
            [r["name"], r["live"], r["deleted"], r["versions"], "yes" if r["populated"] else "no"]
            for r in rows
        ],
        caption=f"{caption} ({len(rows)})",
    )


def runs_html(rows: Sequence[Mapping[str, Any]]) -> str:
    """Runs as ``RunRecord.to_dict()`` gives them, newest first."""
    columns = ["run", "pipe", "started", "finished", "status", "full", "read", "written", "deleted"]
    return table(
        columns,
        [
            [
                r["id"],
                r["pipe"],
                r["started"],
                r["finished"],
                r["status"],
                "full" if r["full"] else "",
                r["read"],
                r["written"],
                r["deleted"],
            ]
            for r in rows
        ],
        caption=f"runs ({len(rows)})",
    )


def sent_html(sent: Mapping[str, Mapping[str, Mapping[str, int]]], *, caption: str) -> str:
    """System → datatype → insert/update/delete as one table, non-zero rows first."""
    rows = [
        [system, datatype, ops.get("insert", 0), ops.get("update", 0), ops.get("delete", 0)]
        for system, datatypes in sent.items()
        for datatype, ops in datatypes.items()
    ]
    rows.sort(key=lambda r: (not any(r[2:]), r[0], r[1]))
    return table(["system", "datatype", "insert", "update", "delete"], rows, caption=caption)


def section(title: str, detail: str, *parts: str) -> str:
    """A titled block of already-rendered parts (used for the hub and reconcile reports)."""
    return f'<div class="hub-section">{_title(title, detail)}{"".join(parts)}</div>'
