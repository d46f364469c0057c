"""`pipe graph`, `pipe reconcile`, `pipe pump`: the pipes as one graph (`pipe plan`: plan.py)."""

from __future__ import annotations

import contextlib
import signal
import threading
from pathlib import Path
from typing import Any

import click

from engine.cli.base import App, _emit_json, _table, cli, pass_app


@cli.command("graph")
@click.option("--dot", is_flag=True, help="Graphviz dot instead of text.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def graph_cmd(ctx: click.Context, dot: bool, as_json: bool) -> None:
    """Print the pipes in dependency order with their inputs and outputs."""
    from engine.config.project import load_project
    from engine.graph import build_graph

    app: App = ctx.obj
    graph = build_graph(load_project(app.project, env=app.env, secrets=app.env))
    if as_json:
        _emit_json(graph.to_dict())
    elif dot:
        click.echo(graph.to_dot())
    else:
        click.echo(graph.to_text())


@cli.command("reconcile")
@click.option("--max-passes", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--full", is_flag=True, help="Full runs in the first pass.")
@click.option(
    "--collect",
    type=click.Choice(["scheduled", "full", "incremental"]),
    default="scheduled",
    show_default=True,
    help="How the first pass lists the systems: each collect's rescan schedule (in full when it "
    "has none), everything (notices records deleted in a system), or only what changed.",
)
@click.option("--force", is_flag=True, help="Write past tripped circuit breakers.")
@click.option("--keep-going", is_flag=True, help="Record failed pipes and go on.")
@click.option("--json", "as_json", is_flag=True)
@click.option(
    "--report",
    "report_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the conflict and drift report to REPORT.json and REPORT.html.",
)
@pass_app
def reconcile_cmd(
    app: App,
    max_passes: int,
    full: bool,
    collect: str,
    force: bool,
    keep_going: bool,
    as_json: bool,
    report_file: Path | None,
) -> None:
    """The nightly batch: collect every system, run every pipe in order until a pass changes
    nothing, share the differences to every system, and say what was sent where.

    A collect whose pump has a rescan schedule lists only what changed since its last run,
    and everything when its rescan is due; the other collects list everything."""
    from engine.cli.report import write_report_files
    from engine.errors import HubError

    app.start_systems()
    try:
        report = app.hub.reconcile(
            max_passes=max_passes,
            full=full,
            full_collect={"scheduled": None, "full": True, "incremental": False}[collect],
            force=force,
            keep_going=keep_going,
            progress=_step,
        )
    except HubError:
        if report_file is not None:  # a reconcile that failed is the one most worth a report
            with contextlib.suppress(HubError, OSError):  # show the reconcile's error
                write_report_files(app.hub.report(), report_file, quiet=True)
        raise
    sent = app.hub.sent(report)
    files = None
    if report_file is not None:
        files = write_report_files(app.hub.report(), report_file, quiet=as_json)
    if as_json:
        _emit_json({**report.to_dict(), "sent": sent, **({"report": files} if files else {})})
        return
    totals = report.totals()
    _table(
        f"reconciled in {report.pass_count} passes, {report.seconds:.2f} s",
        ["pipe", "read", "written", "deleted", "runs"],
        [[p, t.read, t.written, t.deleted, t.runs] for p, t in totals.items()],
    )
    _sent_table(sent)


def _sent_table(sent: dict[str, dict[str, dict[str, int]]]) -> None:
    _table(
        "sent to each system",
        ["system", "datatype", "insert", "update", "delete"],
        [
            [system, datatype, ops["insert"], ops["update"], ops["delete"]]
            for system, datatypes in sent.items()
            for datatype, ops in datatypes.items()
        ],
    )


def _step(step: Any) -> None:
    """One progress line per pipe on a terminal; nothing when stderr is piped."""
    import sys

    if step.phase == "start" and sys.stderr.isatty():
        click.echo(f"pass {step.pass_number}: [{step.position}/{step.total}] {step.pipe}", err=True)


@cli.command("pump")
@pass_app
def pump_cmd(app: App) -> None:
    """Run due pipes on their schedules until Ctrl-C (the current run finishes cleanly)."""
    app.start_systems()
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt  # a second Ctrl-C aborts now; the running pipe rolls back
        click.echo("stopping after the current pipe run (Ctrl-C again to abort)", err=True)
        stop.set()

    def on_run(run: Any) -> None:
        if run.ok:
            r = run.report
            click.echo(f"{run.pipe}: read {r.read}, written {r.written}, deleted {r.deleted}")
        else:
            click.echo(f"{run.pipe}: FAILED {run.error}", err=True)

    old_int = signal.signal(signal.SIGINT, on_signal)
    old_term = signal.signal(signal.SIGTERM, on_signal)
    try:
        summary = app.hub.pump(on_run=on_run).run_forever(stop)
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
    click.echo(f"pump stopped: {summary.runs} runs, {summary.failures} failed")
