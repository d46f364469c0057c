"""`pipe report`: the conflict and drift report of the last reconcile, read from the hub."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from engine.cli.base import App, _emit_json, _table, cli, pass_app

__all__ = ["print_report", "write_report_files"]


@cli.command("report")
@click.option("--json", "as_json", is_flag=True, help="The report as one JSON object.")
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write OUT.json and OUT.html (a .json/.html suffix on OUT is optional).",
)
@pass_app
def report_cmd(app: App, as_json: bool, out: Path | None) -> None:
    """What the last reconcile ran into: conflicting edits, optimistic-lock skips, dead
    letters, records created in a target that no flow knows (drift), and global ids that
    merged, split or were re-keyed. Reads the hub only; talks to no system."""
    report = app.hub.report()
    if out is not None:
        write_report_files(report, out, quiet=as_json)
    if as_json:
        _emit_json(report.to_dict())
    else:
        print_report(report.to_dict())


def write_report_files(report: Any, path: Path, *, quiet: bool = False) -> dict[str, str]:
    """Write the report's JSON and HTML files; say where (on stderr when ``quiet``)."""
    from engine.report import write_report

    json_path, html_path = write_report(report, path)
    click.echo(f"report written to {json_path} and {html_path}", err=quiet)
    return {"json": str(json_path), "html": str(html_path)}


def print_report(data: dict[str, Any]) -> None:
    """The report as readable sections: a heading with the count, then a table or "none"."""
    rec = data["reconcile"]
    click.echo(
        f"reconcile {rec['id']}: {rec['status']}, {rec['passes']} passes, "
        f"started {rec['started']}, ended {rec['ended'] or '-'}"
    )
    for note in data["notes"]:
        click.echo(f"note: {note}")
    counts = data["summary"]
    click.echo(", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts.items()))
    _section(
        "Conflicts",
        ["global", "id", "property", "member", "value", "changed at", "outcome"],
        [
            [
                c["dataset"],
                c["id"],
                c["property"],
                s["member"],
                s["value"],
                s["changed_at"],
                "won" if s["won"] else "lost",
            ]
            for c in data["conflicts"]
            for s in c["sides"]
        ],
        count=len(data["conflicts"]),
    )
    for c in data["conflicts"]:
        click.echo(f"  {c['id']} {c['property']}: {c['why']}")
    _section(
        "Optimistic-lock skips",
        ["pipe", "golden id", "target id", "at", "now"],
        [[s["pipe"], s["id"], s["target_id"], s["at"], s["now"]] for s in data["lock_skips"]],
    )
    _section(
        "Dead letters",
        ["pipe", "id", "attempts", "last failure", "reason"],
        [
            [d["pipe"], d["id"], d["attempts"], d["last_failure"], d["reason"]]
            for d in data["dead_letters"]
        ],
    )
    _section(
        "Drift",
        ["system", "datatype", "id", "label", "global id"],
        [[d["system"], d["datatype"], d["id"], d["label"], d["golden_id"]] for d in data["drift"]],
    )
    churn = data["identity_churn"]
    _section(
        "Identity churn",
        ["kind", "global", "id", "related"],
        [["merge", m["dataset"], m["id"], ", ".join(m["previous"])] for m in churn["merges"]]
        + [["split", s["dataset"], s["id"], ", ".join(s["into"])] for s in churn["splits"]]
        + [["re-key", r["dataset"], r["old"], ", ".join(r["new"])] for r in churn["rekeys"]],
    )


def _section(
    title: str, columns: list[str], rows: list[list[Any]], count: int | None = None
) -> None:
    click.echo("")
    click.echo(f"== {title} ({len(rows) if count is None else count})")
    if rows:
        _table(None, columns, [[_cell(v) for v in row] for row in rows])
    else:
        click.echo("none")


def _cell(value: Any) -> Any:
    return value if isinstance(value, str | int | float) or value is None else json.dumps(value)
