"""`pipe plan`: what `pipe reconcile` would send, per system and datatype, field by field."""

from __future__ import annotations

import json
from typing import Any

import click

from engine.cli.base import App, _emit_json, _is_tty, _table, cli, pass_app

_WIDTH = 100  # a value longer than this is cut in the table; --json has it whole


@cli.command("plan")
@click.option("--max-passes", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="The whole plan: counts and every send.")
@pass_app
def plan_cmd(app: App, max_passes: int, as_json: bool) -> None:
    """What `pipe reconcile` would send to each system: counts, then every insert, update
    (`field: before → after`) and delete. Sends nothing and writes nothing."""
    app.start_systems()
    plan = app.hub.plan(max_passes=max_passes)
    if as_json:
        _emit_json(plan.to_dict())
        return
    _table(
        "what a reconcile would send",
        ["system", "datatype", "insert", "update", "delete"],
        [
            [system, datatype, ops["insert"], ops["update"], ops["delete"]]
            for system, datatypes in plan.sent.items()
            for datatype, ops in datatypes.items()
        ],
    )
    if plan.empty:
        click.echo("nothing to send: every system already holds what the hub would send")
        return
    tty = _is_tty()
    for system, datatypes in plan.grouped().items():
        for datatype, sends in datatypes.items():
            rows: list[list[Any]] = []
            for send in sends:
                lines = _changes(send)
                for n, change in enumerate(lines):
                    first = n == 0 or not tty  # piped output repeats the columns, for grep
                    rows.append(
                        [
                            send.op if first else "",
                            send.entity_id if first else "",
                            _target(send) if first else "",
                            change,
                        ]
                    )
            _table(f"{system} {datatype}", ["op", "entity", "target", "change"], rows)
    click.echo(
        f"{len(plan.sends)} sends over {plan.passes} passes; nothing was sent or written",
        err=True,
    )


def _target(send: Any) -> str:
    return f"new ({send.target_id})" if send.placeholder else str(send.target_id)


def _changes(send: Any) -> list[str]:
    if send.op == "insert":
        return [_cut(_value(send.payload))]
    if send.op == "update":
        return [
            _cut(f"{c.field}: {_value(c.before)} → {_value(c.after)}") for c in send.changes
        ] or ["(no field differs as collected)"]
    return [""]


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _cut(text: str) -> str:
    return text if len(text) <= _WIDTH else text[: _WIDTH - 1] + "…"
