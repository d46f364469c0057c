"""The ``pipe`` command group, its app object and the output helpers.

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

from engine.entity import encode
from engine.errors import HubError

__all__ = ["App", "cli", "pass_app"]


class App:
    """Per-invocation state: the project folder and a lazily opened hub."""

    def __init__(self, project: Path, db: Path | None, debug: bool) -> None:
        self.project = project
        self.db = db
        self.debug = debug
        self._hub: Any = None
        self._systems_env: dict[str, str] = {}
        self._sandboxes: Any = None

    @property
    def env(self) -> dict[str, str]:
        """``$ENV``/``$SECRET`` values: the process environment over the sandbox defaults.

        The systems in ``systems/`` point at the local sandboxes unless the environment says
        otherwise (the embedded default).
        """
        from engine.sandbox.manager import default_env

        return {**default_env(self.project), **self._systems_env, **os.environ}

    def start_systems(self) -> None:
        """Make the project's systems reachable for this command (the embedded default).

        Systems whose URL the environment does not set are the local sandboxes: the ones not
        running are started for the duration of the command and stopped after it.
        """
        if self._sandboxes is not None or self._hub is not None:
            return
        from engine.config.project import load_project
        from engine.sandbox.manager import SYSTEMS, ensure_running, sandbox_env

        project = load_project(self.project, env=self.env, secrets=self.env)
        wanted = [s for s in project.systems if s in SYSTEMS and f"{s}_url" not in os.environ]
        if not wanted:
            return
        self._sandboxes = ensure_running(self.project, wanted)
        status = self._sandboxes.__enter__()
        self._systems_env = sandbox_env(status)

    @property
    def hub(self) -> Any:
        if self._hub is None:
            from engine.hub import Hub

            self._hub = Hub.open(self.project, db=self.db, env=self.env, secrets=self.env)
        return self._hub

    def close(self) -> None:
        if self._hub is not None:
            self._hub.close()
        if self._sandboxes is not None:
            self._sandboxes.__exit__(None, None, None)
            self._sandboxes = None


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
