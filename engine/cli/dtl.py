"""`pipe dtl functions`: the DTL function reference, generated from the registry."""

from __future__ import annotations

import click

from engine.cli.base import _emit_json, _table, cli


@cli.group("dtl")
def dtl_group() -> None:
    """The DTL language."""


@dtl_group.command("functions")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True)
def functions_cmd(name: str | None, as_json: bool) -> None:
    """List DTL functions with their arity (or show NAME's documentation)."""
    from engine.dtl import BUILTINS

    specs = [s for s in BUILTINS.specs() if name is None or s.name == name]
    if name is not None and not specs:
        from engine.errors import did_you_mean

        raise click.ClickException(
            f"no DTL function {name!r}{did_you_mean(name, BUILTINS.names())}"
        )
    if as_json:
        _emit_json(
            {
                "functions": [
                    {
                        "name": s.name,
                        "kind": s.kind,
                        "arity": s.arity_text(),
                        "lazy": s.lazy,
                        "doc": s.doc,
                    }
                    for s in specs
                ]
            }
        )
        return
    if name is not None:
        for s in specs:
            click.echo(f"{s.name} ({s.kind}, {s.arity_text()} arguments)\n\n{s.doc}\n")
        return
    _table(
        None,
        ["function", "kind", "arguments", "summary"],
        [[s.name, s.kind, s.arity_text(), s.summary] for s in specs],
    )
