"""The ``pipe`` command: the only module that prints or exits.

Exit codes: 0 ok, 1 an error in the data or config (any :class:`HubError`), 2 a usage error
(click's default). Every listing takes ``--json``; tables are drawn with rich on a terminal and
as plain text when piped; progress bars appear only on a terminal.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from engine.entity import dumps, encode
from engine.errors import HubError

__all__ = ["cli", "main"]


class App:
    """Per-invocation state: the project folder and a lazily opened hub."""

    def __init__(self, project: Path, db: Path | None, debug: bool) -> None:
        self.project = project
        self.db = db
        self.debug = debug
        self._hub: Any = None

    @property
    def hub(self) -> Any:
        if self._hub is None:
            from engine.hub import Hub

            env = dict(os.environ)
            self._hub = Hub.open(self.project, db=self.db, env=env, secrets=env)
        return self._hub

    def close(self) -> None:
        if self._hub is not None:
            self._hub.close()


class AppGroup(click.Group):
    """Turns domain errors into ``Error: ...`` and exit code 1, in one place."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except HubError as e:
            app = ctx.obj if isinstance(ctx.obj, App) else None
            if app is not None and app.debug:
                raise
            raise click.ClickException(str(e)) from e


pass_app = click.make_pass_decorator(App)


def _is_tty() -> bool:
    return sys.stdout.isatty()


def _emit_json(data: Any) -> None:
    click.echo(json.dumps(encode(data), indent=2, ensure_ascii=False, default=str))


def _table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A rich table on a terminal; tab-separated text (header first) when piped."""
    if _is_tty():
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title)
        for col in columns:
            table.add_column(col)
        for row in rows:
            table.add_row(*["" if v is None else str(v) for v in row])
        Console().print(table)
        return
    click.echo("\t".join(columns))
    for row in rows:
        click.echo("\t".join("" if v is None else str(v) for v in row))


@contextmanager
def _progress(label: str) -> Iterator[Callable[[int], None]]:
    """A progress counter on a terminal (stderr), silent when piped."""
    if not sys.stderr.isatty():
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed} entities"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=None)
        yield lambda n: progress.advance(task, n)


@click.group(cls=AppGroup)
@click.option(
    "--project",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Project folder holding pipes/ and systems/.",
)
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Hub database (default: <project>/datasets/hub.duckdb).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks instead of short errors.")
@click.pass_context
def cli(ctx: click.Context, project: Path, db: Path | None, debug: bool) -> None:
    """A Sesam-style data hub: datasets, DTL pipes, merge and share."""
    ctx.obj = App(project, db, debug)
    ctx.call_on_close(ctx.obj.close)


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
    hub = app.hub
    ids = hub.run_order(None if run_all else list(pipe_ids))
    for pid in pipe_ids:
        hub.project.pipe(pid)  # unknown ids fail with a did-you-mean before anything runs
    reports = []
    for pid in ids:
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
    errors, count = validate_project(app.project, env=dict(os.environ))
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


# --- datasets ---------------------------------------------------------------------------------


@cli.command("datasets")
@click.option("--json", "as_json", is_flag=True)
@click.option("--system", "include_system", is_flag=True, help="Include system:* datasets.")
@pass_app
def datasets_cmd(app: App, as_json: bool, include_system: bool) -> None:
    """Datasets with their counts."""
    rows = app.hub.datasets(include_system=include_system)
    if as_json:
        _emit_json({"datasets": [d.to_dict() for d in rows]})
        return
    _table(
        None,
        ["dataset", "live", "deleted", "versions", "populated"],
        [[d.name, d.live, d.deleted, d.versions, "yes" if d.populated else "no"] for d in rows],
    )


@cli.command("show")
@click.argument("dataset")
@click.option("--id", "entity_id", help="Show one entity.")
@click.option("--history", is_flag=True, help="With --id: every version, oldest first.")
@click.option("--limit", type=click.IntRange(min=0), default=20, show_default=True)
@click.option("--deleted", "include_deleted", is_flag=True, help="Include deleted entities.")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def show_cmd(
    app: App,
    dataset: str,
    entity_id: str | None,
    history: bool,
    limit: int,
    include_deleted: bool,
    as_json: bool,
) -> None:
    """Show entities of DATASET (latest versions)."""
    view = app.hub.dataset(dataset)
    if history and not entity_id:
        raise click.UsageError("--history needs --id")
    if entity_id:
        entities = view.history(entity_id) if history else [e for e in [view.get(entity_id)] if e]
        if not entities:
            raise click.ClickException(f"no entity {entity_id!r} in dataset {dataset!r}")
    else:
        entities = view.entities(include_deleted=include_deleted)[:limit]
    if as_json:
        click.echo(dumps(entities, indent=2))
        return
    for entity in entities:
        click.echo(dumps(entity, indent=2))


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="pipe")


if __name__ == "__main__":
    main()
