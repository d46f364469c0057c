"""`pipe demo`: the main job on the embedded default, start to finish, for `make demo`."""

from __future__ import annotations

from typing import Any

import click

from engine.cli.base import App, _emit_json, _table, cli, pass_app
from engine.cli.graph import _sent_table


@cli.command("demo")
@click.option(
    "--fresh/--keep",
    default=True,
    show_default=True,
    help="Reseed the sandboxes and start from an empty hub database.",
)
@click.option("--scale", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def demo_cmd(app: App, fresh: bool, scale: int, as_json: bool) -> None:
    """Seed the sandboxes, run the nightly reconcile over all flows, show what was synced."""
    from engine.hub import DEFAULT_DB
    from engine.sandbox.manager import SandboxManager

    if fresh:
        db = app.db or app.project / DEFAULT_DB
        for suffix in ("", ".wal"):
            target = db.with_name(db.name + suffix)
            if target.exists():
                target.unlink()
    app.start_systems()
    if fresh:
        SandboxManager(app.project).seed(scale)
    hub = app.hub
    report = hub.reconcile()
    sent = hub.sent(report)
    story = _follow_one(hub)
    if as_json:
        _emit_json(
            {
                "passes": report.pass_count,
                "converged": report.converged,
                "sent": sent,
                "followed": story,
            }
        )
        return
    click.echo(f"reconciled all flows in {report.pass_count} passes ({report.seconds:.1f} s)")
    _sent_table(sent)
    if story:
        click.echo(f"\none record followed through every system: golden {story['golden']!r}")
        _table(
            None,
            ["system record", "name", "email"],
            [[m["id"], m.get("name") or "", m.get("email") or ""] for m in story["members"]],
        )


def _follow_one(hub: Any) -> dict[str, Any] | None:
    """The golden organisation linked in the most systems, with each system's record."""
    if hub.store.dataset_info("global-organisation") is None:
        return None
    goldens = hub.dataset("global-organisation").entities()
    if not goldens:
        return None
    best = max(goldens, key=lambda e: (len(e.get("$ids") or []), e["_id"]))
    members = []
    for ni in best.get("$ids") or []:
        namespace = getattr(ni, "namespace", "")
        dataset = namespace  # the collect dataset of <system>-<datatype>
        record = None
        if hub.store.dataset_info(dataset) is not None:
            record = hub.store.dataset(dataset).latest(getattr(ni, "identifier", str(ni)))
        name = None
        email = None
        if record:
            name = record.get("name") or record.get("Name") or record.get("company_name")
            email = record.get("email") or record.get("Email")
        members.append(
            {"id": f"{namespace}:{getattr(ni, 'identifier', ni)}", "name": name, "email": email}
        )
    return {"golden": best["_id"], "name": best.get("name"), "members": members}
