"""`pipe datasets` and `pipe show`: inspecting datasets."""

from __future__ import annotations

import click

from engine.cli.base import App, _emit_json, _table, cli, pass_app
from engine.entity import dumps

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
