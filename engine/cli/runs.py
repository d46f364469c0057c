"""`pipe runs`: the committed pipe runs, newest first (the ids `--as-of` takes)."""

from __future__ import annotations

import click

from engine.cli.base import App, _emit_json, _table, cli, pass_app


@cli.command("runs")
@click.option("--pipe", "pipe_id", help="Only this pipe's runs.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def runs_cmd(app: App, pipe_id: str | None, limit: int, as_json: bool) -> None:
    """Committed pipe runs, newest first: id, pipe, times, status and what each changed.

    Every dataset can be read as it was when a run committed: `pipe show DATASET --as-of ID`.
    """
    runs = app.hub.runs(limit=limit, pipe=pipe_id)
    if as_json:
        _emit_json({"runs": [r.to_dict() for r in runs]})
        return
    _table(
        None,
        ["run", "pipe", "started", "seconds", "status", "full", "read", "written", "deleted"],
        [
            [
                r.id,
                r.pipe,
                r.started.isoformat(timespec="seconds"),
                f"{(r.finished_ts - r.started_ts) / 1e6:.2f}",
                r.status,
                "full" if r.full else "",
                r.read,
                r.written,
                r.deleted,
            ]
            for r in runs
        ],
    )
