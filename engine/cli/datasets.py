"""`pipe datasets` and `pipe show`: inspecting datasets."""

from __future__ import annotations

import click

from engine.cli.base import App, _emit_json, _table, cli, pass_app
from engine.entity import dumps

# --- datasets ---------------------------------------------------------------------------------


@cli.command("datasets")
@click.option("--json", "as_json", is_flag=True)
@click.option("--system", "include_system", is_flag=True, help="Include system:* datasets.")
@click.option("--as-of", "as_of", type=int, metavar="RUN", help="As when run RUN committed.")
@pass_app
def datasets_cmd(app: App, as_json: bool, include_system: bool, as_of: int | None) -> None:
    """Datasets with their counts (now, or as of a past run: see `pipe runs`)."""
    view = app.hub if as_of is None else app.hub.as_of(as_of)
    rows = view.datasets(include_system=include_system)
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
@click.option(
    "--as-of", "as_of", type=int, metavar="RUN", help="As when run RUN committed (`pipe runs`)."
)
@pass_app
def show_cmd(
    app: App,
    dataset: str,
    entity_id: str | None,
    history: bool,
    limit: int,
    include_deleted: bool,
    as_json: bool,
    as_of: int | None,
) -> None:
    """Show entities of DATASET (latest versions, or the versions as of run RUN)."""
    view = (app.hub if as_of is None else app.hub.as_of(as_of)).dataset(dataset)
    if history and not entity_id:
        raise click.UsageError("--history needs --id")
    if entity_id:
        entities = view.history(entity_id) if history else [e for e in [view.get(entity_id)] if e]
        if not entities:
            when = "" if as_of is None else f" as of run {as_of}"
            raise click.ClickException(f"no entity {entity_id!r} in dataset {dataset!r}{when}")
    else:
        entities = view.entities(include_deleted=include_deleted)[:limit]
    if as_json:
        click.echo(dumps(entities, indent=2))
        return
    for entity in entities:
        click.echo(dumps(entity, indent=2))
