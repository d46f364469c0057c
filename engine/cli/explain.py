"""`pipe explain PIPE_ID`: which path a pipe takes (compiled SQL or the interpreter) and why."""

from __future__ import annotations

from typing import Any

import click

from engine.cli.base import App, _emit_json, cli, pass_app


@cli.command("explain")
@click.argument("pipe_id")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@pass_app
def explain_cmd(app: App, pipe_id: str, as_json: bool) -> None:
    """Show whether PIPE_ID runs as SQL or on the interpreter, with the SQL or the reason."""
    from engine.sqlc import SqlPlan, discover_keys, plan_pipe
    from engine.sqlc.hops import bind

    hub = app.hub
    pipe = hub.project.pipe(pipe_id)
    plan = plan_pipe(pipe)
    report: dict[str, Any] = {"pipe": pipe.id}
    if isinstance(plan, SqlPlan):
        sql = plan.sql
        note = "tables and keys as in the SQL; {log}/{cur} are the source tables"
        info = hub.store.dataset_info(plan.source)
        if info is not None:
            tables = (f"log_{info.tid}", f"cur_{info.tid}")
            keys = discover_keys(hub.store, tables, -1, info.next_offset - 1)
            query = plan.compile_for(keys)
            sql = bind(query.sql, hub.store, query.hops)
            sql = sql.replace("{log}", tables[0]).replace("{cur}", tables[1])
            note = f"compiled for the {len(keys)} keys of {plan.source!r} found now"
        report.update(path="sql", source=plan.source, sink=plan.sink, sql=sql, note=note)
        if plan.tracked_hops:
            # The runner interprets pipes whose hops track dependencies (see SqlPlan.tracked_hops).
            report.update(
                path="interpreter",
                reason="hops into "
                + ", ".join(repr(d) for d in plan.tracked_hops)
                + " track dependencies, which the SQL path does not record; "
                "set 'track-dependencies': false to run this SQL",
                rule_path=None,
                file=plan.pipe.file,
            )
    else:
        report.update(
            path="interpreter",
            reason=plan.reason,
            rule_path=str(plan.path) if plan.path is not None else None,
            file=plan.file,
        )
    if as_json:
        _emit_json(report)
        return
    click.echo(f"pipe:  {pipe.id}")
    click.echo(f"path:  {report['path']}")
    if report["path"] == "sql":
        click.echo(f"from:  {report['source']}  to: {report['sink']}")
        click.echo(f"note:  {report['note']}")
        click.echo("")
        click.echo(report["sql"])
    else:
        click.echo(f"why:   {report['reason']}")
        if report["rule_path"]:
            where = f"{report['file']}: " if report["file"] else ""
            click.echo(f"where: {where}{report['rule_path']}")
        if report.get("sql"):  # compiled, but the runner interprets it (tracked hops)
            click.echo("")
            click.echo(report["sql"])
