"""`pipe docs`: write the dataflow documents (Talk's QA-document format) to docs/dataflows/."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import click

from engine.cli.base import App, _emit_json, cli


def flow_file_name(flow: str) -> str:
    """ "Invoiced to Custom CRM" → "invoiced-customcrm.rst"."""
    source, _, target = flow.partition(" to ")
    return f"{source.replace(' ', '').lower()}-{target.replace(' ', '').lower()}.rst"


@cli.command("docs")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the documents (default: <project>/docs/dataflows).",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def docs_cmd(ctx: click.Context, out: Path | None, as_json: bool) -> None:
    """Write one document per flow, its property tables read from the share pipes' DTL."""
    from engine.config.project import load_project
    from engine.dataflow_docs import build_documents, render_document

    app: App = ctx.obj
    project = load_project(app.project, env=app.env, secrets=app.env)
    folder = out or app.project / "docs" / "dataflows"
    folder.mkdir(parents=True, exist_ok=True)
    now = _dt.datetime.now(_dt.UTC).replace(microsecond=0)
    written = {}
    for flow, sections in build_documents(project.pipes).items():
        path = folder / flow_file_name(flow)
        path.write_text(render_document(flow, sections, generated=now), encoding="utf-8")
        written[flow] = {
            "file": str(path),
            "sections": len(sections),
            "rows": sum(len(s.rows) for s in sections),
        }
    if as_json:
        _emit_json({"documents": written})
        return
    for flow, info in written.items():
        click.echo(f"{info['file']}: {flow} ({info['sections']} sections, {info['rows']} rows)")
