"""`pipe run`, `list`, `validate`, `reset`: running and inspecting pipes."""

from __future__ import annotations

import json

import click

from engine.cli.base import App, _emit_json, _progress, _table, cli, pass_app

# --- pipes ------------------------------------------------------------------------------------


@cli.command("run")
@click.argument("pipe_ids", nargs=-1)
@click.option("--all", "run_all", is_flag=True, help="Run every pipe once, in dependency order.")
@click.option("--full", is_flag=True, help="Full run: read everything, then track deletions.")
@click.option("--dry-run", is_flag=True, help="Compute the run but write nothing.")
@click.option("--force", is_flag=True, help="Write past a tripped circuit breaker.")
@click.option("--json", "as_json", is_flag=True, help="Print the run reports as JSON.")
@pass_app
def run_cmd(
    app: App,
    pipe_ids: tuple[str, ...],
    run_all: bool,
    full: bool,
    dry_run: bool,
    force: bool,
    as_json: bool,
) -> None:
    """Run PIPE_IDS (incremental by default)."""
    if not pipe_ids and not run_all:
        raise click.UsageError("name at least one PIPE_ID, or use --all")
    if pipe_ids and run_all:
        raise click.UsageError("use either PIPE_IDs or --all, not both")
    app.start_systems()
    hub = app.hub
    for pid in pipe_ids:
        hub.project.pipe(pid)  # unknown ids fail with a did-you-mean before anything runs
    if run_all:
        reports = list(hub.run_all(full=full, dry_run=dry_run, force=force).runs)
    else:
        reports = []
        for pid in hub.run_order(list(pipe_ids)):
            with _progress(pid) as tick:
                reports.append(hub.run(pid, full=full, dry_run=dry_run, force=force, progress=tick))
    if as_json:
        _emit_json({"runs": [r.to_dict() for r in reports]})
        return
    _table(
        "dry run (nothing written)" if dry_run else None,
        ["pipe", "sync", "read", "written", "deleted", "unchanged", "seconds"],
        [
            [
                r.pipe,
                "full" if r.full else "incremental",
                r.read,
                r.written,
                r.deleted,
                r.unchanged,
                f"{r.seconds:.3f}",
            ]
            for r in reports
        ],
    )


@cli.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def list_cmd(app: App, as_json: bool) -> None:
    """Pipes with their source, sink, last run, offset and status."""
    from engine.clock import micros_to_datetime

    pipes = app.hub.pipes()
    if as_json:
        _emit_json({"pipes": [p.to_dict() for p in pipes]})
        return
    _table(
        None,
        ["pipe", "source", "sink", "last run", "offset", "status", "runs"],
        [
            [
                p.id,
                p.source,
                p.sink,
                micros_to_datetime(p.last_run_ts).strftime("%Y-%m-%d %H:%M:%S")
                if p.last_run_ts
                else "",
                json.dumps(p.since) if p.since is not None else "",
                p.status or "never run",
                p.runs,
            ]
            for p in pipes
        ],
    )


@cli.command("validate")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def validate_cmd(ctx: click.Context, as_json: bool) -> None:
    """Check every pipe and system config (and its DTL); report all errors at once."""
    from engine.validate import validate_project

    app: App = ctx.obj
    errors, count = validate_project(app.project, env=app.env)
    if as_json:
        _emit_json({"ok": not errors, "pipes": count, "errors": [e.to_dict() for e in errors]})
    else:
        for e in errors:
            click.echo(f"error: {e}", err=True)
        if not errors:
            click.echo(f"ok: {count} pipes valid")
    if errors:
        ctx.exit(1)


@cli.command("reset")
@click.argument("pipe_id")
@pass_app
def reset_cmd(app: App, pipe_id: str) -> None:
    """Forget PIPE_ID's offset so its next run is a full run."""
    had = app.hub.reset(pipe_id)
    click.echo(f"{pipe_id}: offset reset" if had else f"{pipe_id}: had no offset")
