"""`pipe sandbox start|stop|status|seed`: the local emulated systems."""

from __future__ import annotations

import click

from engine.cli.base import App, _emit_json, _table, cli, pass_app


def _manager(app: App):  # type: ignore[no-untyped-def]
    from engine.sandbox.manager import SandboxManager

    return SandboxManager(app.project)


def _systems(systems: tuple[str, ...]) -> list[str] | None:
    return list(systems) or None


@cli.group("sandbox")
def sandbox_group() -> None:
    """The local sandboxes of the five systems (HTTP servers on 127.0.0.1)."""


@sandbox_group.command("start")
@click.argument("systems", nargs=-1)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def start_cmd(app: App, systems: tuple[str, ...], as_json: bool) -> None:
    """Start SYSTEMS (default: all five) in the background until `pipe sandbox stop`."""
    status = _manager(app).start(_systems(systems))
    _show(status, as_json)


@sandbox_group.command("stop")
@click.argument("systems", nargs=-1)
@pass_app
def stop_cmd(app: App, systems: tuple[str, ...]) -> None:
    """Stop SYSTEMS (default: all five)."""
    stopped = _manager(app).stop(_systems(systems))
    click.echo("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))


@sandbox_group.command("status")
@click.argument("systems", nargs=-1)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def status_cmd(app: App, systems: tuple[str, ...], as_json: bool) -> None:
    """Each system's URL, whether it runs, and the credentials a client needs."""
    _show(_manager(app).status(_systems(systems)), as_json)


@sandbox_group.command("seed")
@click.argument("systems", nargs=-1)
@click.option("--scale", type=click.IntRange(min=1), default=1, show_default=True)
@click.option(
    "--tpch",
    "tpch_sf",
    type=float,
    default=None,
    help="Fill the Custom ERP from TPC-H at this scale factor (tpchgen-cli).",
)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def seed_cmd(
    app: App, systems: tuple[str, ...], scale: int, tpch_sf: float | None, as_json: bool
) -> None:
    """Replace the systems' records with deterministic seed data."""
    manager = _manager(app)
    counts = manager.seed(scale, _systems(systems))
    if tpch_sf is not None:
        counts["customerp"] = manager.seed_tpch(tpch_sf)
    if as_json:
        _emit_json({"seeded": counts})
        return
    _table(
        None,
        ["system", "resource", "records"],
        [[s, r, n] for s, res in counts.items() for r, n in res.items()],
    )


def _show(status: dict[str, dict[str, object]], as_json: bool) -> None:
    if as_json:
        _emit_json(status)
        return
    _table(
        None,
        ["system", "running", "url"],
        [
            [s, "yes" if info["running"] else "no", info.get("url") or ""]
            for s, info in status.items()
        ],
    )
