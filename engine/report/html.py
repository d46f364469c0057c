"""The report as one self-contained HTML page.

Why this shape: the page is mailed, attached to tickets and opened from a file share, so it
carries everything inline (one ``<style>`` block, no scripts, no fonts, images or links to
fetch) and shows the same data as ``--json`` (it renders :meth:`Report.to_dict`). Every value
from the data passes through :func:`html.escape`, because record values are typed by people in
other systems. Each section is a ``<section id="...">`` with the ids of
:data:`engine.report.model.SECTIONS`, so a reader (or a test) can jump to it.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

from engine.report.model import SECTIONS, Report

__all__ = ["render_html"]

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;
max-width:72em;padding:0 1em;color:#1d2430;background:#fff}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.8em;
border-bottom:2px solid #d8dee9;padding-bottom:.2em}
.meta{color:#5b6472}table{border-collapse:collapse;width:100%;margin:.5em 0}
th,td{text-align:left;vertical-align:top;padding:.3em .6em;border-bottom:1px solid #e5e9f0}
th{background:#f3f5f8;font-weight:600}td code,td.v{font-family:ui-monospace,monospace;
font-size:.92em;word-break:break-word}.won{background:#e8f5e9}.none{color:#5b6472;
font-style:italic}.count{display:inline-block;min-width:2.2em;padding:.1em .5em;
border-radius:1em;background:#eef1f5;text-align:center;font-weight:600}
td{overflow-wrap:break-word}h3{font-size:1em;margin:1.2em 0 .3em}
.why{margin:.2em 0 1em;color:#3b4252}
"""


def render_html(report: Report) -> str:
    """The whole page for ``report`` (UTF-8 text; write it to a ``.html`` file)."""
    data = report.to_dict()
    rec = data["reconcile"]
    title = f"Reconcile {rec['id']} report"
    body = [
        f"<h1>{_e(title)}</h1>",
        f'<p class="meta">started {_e(rec["started"])}, ended {_e(rec["ended"] or "-")}, '
        f"status {_e(rec['status'])}</p>",
    ]
    parts = {
        "summary": _summary(data),
        "conflicts": _conflicts(data["conflicts"]),
        "lock-skips": _table(
            ["pipe", "system", "datatype", "golden id", "target id", "at", "reason", "now"],
            [
                [
                    s["pipe"],
                    s["system"],
                    s["datatype"],
                    s["id"],
                    s["target_id"],
                    s["at"],
                    s["error"],
                    s["now"],
                ]
                for s in data["lock_skips"]
            ],
            "no share skipped a record because it changed in the system meanwhile",
        ),
        "dead-letters": _table(
            ["pipe", "id", "reason", "operation", "status", "attempts", "first", "last"],
            [
                [
                    d["pipe"],
                    d["id"],
                    d["reason"],
                    d["operation"],
                    d["status"],
                    d["attempts"],
                    d["first_failure"],
                    d["last_failure"],
                ]
                for d in data["dead_letters"]
            ],
            "no dead letters: every system accepted what the hub sent",
        ),
        "drift": _table(
            ["system", "datatype", "id", "label", "global dataset", "global id"],
            [
                [d["system"], d["datatype"], d["id"], d["label"], d["dataset"], d["golden_id"]]
                for d in data["drift"]
            ],
            "no records that someone else created in a target and no flow knows",
        ),
        "identity-churn": _churn(data["identity_churn"]),
    }
    for section, heading in SECTIONS:
        body.append(f'<section id="{section}"><h2>{_e(heading)}</h2>{parts[section]}</section>')
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


def _e(value: Any) -> str:
    """Escaped text for any value (JSON for anything that is not a string)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return html.escape(value, quote=True)


def _table(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    empty: str,
    classes: Sequence[str] | None = None,
) -> str:
    if not rows:
        return f'<p class="none">{_e(empty)}</p>'
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    lines = []
    for i, row in enumerate(rows):
        css = f' class="{classes[i]}"' if classes and classes[i] else ""
        lines.append(f"<tr{css}>" + "".join(f"<td>{_e(v)}</td>" for v in row) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>"


def _summary(data: dict[str, Any]) -> str:
    rec = data["reconcile"]
    counts = data["summary"]
    items = [
        ("conflicts", "conflicting edits"),
        ("lock_skips", "optimistic-lock skips"),
        ("dead_letters", "dead letters"),
        ("drift", "drifted records"),
        ("merges", "merges"),
        ("splits", "splits"),
        ("rekeys", "re-keyed global ids"),
    ]
    listed = "".join(
        f'<li><span class="count">{counts[key]}</span> {_e(label)}</li>' for key, label in items
    )
    facts = _table(
        ["reconcile", "status", "passes", "seconds", "started", "ended"],
        [[rec["id"], rec["status"], rec["passes"], rec["seconds"], rec["started"], rec["ended"]]],
        "",
    )
    sent = [
        [system, datatype, ops.get("insert", 0), ops.get("update", 0), ops.get("delete", 0)]
        for system, datatypes in sorted(rec["sent"].items())
        for datatype, ops in sorted(datatypes.items())
        if any(ops.values())
    ]
    notes = "".join(f'<p class="none">{_e(n)}</p>' for n in data["notes"])
    return f"{facts}<ul>{listed}</ul>{notes}<h3>Sent</h3>" + _table(
        ["system", "datatype", "insert", "update", "delete"],
        sent,
        "nothing was sent to any system",
    )


def _conflicts(conflicts: list[dict[str, Any]]) -> str:
    """One block per conflict: what it is about, each side (the winner marked), and why."""
    if not conflicts:
        return '<p class="none">no property was edited in two systems at once</p>'
    blocks = []
    for c in conflicts:
        sides = _table(
            ["member", "dataset", "value", "changed at", "outcome"],
            [
                [
                    s["member"],
                    s["dataset"],
                    s["value"],
                    s["changed_at"],
                    "won" if s["won"] else "lost",
                ]
                for s in c["sides"]
            ],
            "",
            ["won" if s["won"] else "" for s in c["sides"]],
        )
        blocks.append(
            f'<div class="conflict"><h3>{_e(c["property"])} of {_e(c["id"])} '
            f'<span class="meta">({_e(c["dataset"])})</span></h3>{sides}'
            f'<p class="why">{_e(c["why"])}</p></div>'
        )
    return "".join(blocks)


def _churn(churn: dict[str, Any]) -> str:
    rows = (
        [
            ["merge", m["dataset"], m["id"], ", ".join(m["previous"]), "were separate"]
            for m in churn["merges"]
        ]
        + [
            ["split", s["dataset"], s["id"], ", ".join(s["into"]), "now separate"]
            for s in churn["splits"]
        ]
        + [
            ["re-key", r["dataset"], r["old"], ", ".join(r["new"]), "retired ($replaced)"]
            for r in churn["rekeys"]
        ]
    )
    return _table(
        ["kind", "global dataset", "global id", "related global ids", "note"],
        rows,
        "no global entity merged, split or changed its id",
    )
