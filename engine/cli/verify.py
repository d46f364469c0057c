"""`pipe verify` and `pipe test`: compare outputs with sesam-py's ``expected/`` files.

``verify`` compares the hub database as it is; ``test`` runs the configuration from empty
datasets first (a fresh in-memory database, so the project's own database is never touched).
Both print one line per spec and a unified diff per failing spec, and exit 1 unless every spec
passes. Secrets come from ``--secrets-file`` (a JSON object) or the environment and are never
printed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from engine.cli.base import App, _emit_json, cli, pass_app
from engine.errors import ConfigError


def _secrets(app: App, secrets_file: Path | None) -> dict[str, str]:
    if secrets_file is None:
        return app.env
    try:
        data = json.loads(secrets_file.read_text(encoding="utf-8-sig"))
    except (OSError, json.JSONDecodeError) as e:
        raise ConfigError(f"cannot read the secrets file: {e}", file=str(secrets_file)) from e
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ConfigError("expected an object of secret names to strings", file=str(secrets_file))
    return data


def _style(line: str) -> str:
    if not sys.stdout.isatty():
        return line
    if line.startswith(("+++", "---")):
        return click.style(line, bold=True)
    if line.startswith("+"):
        return click.style(line, fg="green")
    if line.startswith("-"):
        return click.style(line, fg="red")
    if line.startswith("@@"):
        return click.style(line, fg="cyan")
    return line


def _print_report(report: dict[str, Any]) -> None:
    for result in report["results"]:
        label = f"{result['spec']} (pipe {result['pipe']!r}, {result['file']})"
        if result["status"] == "passed":
            click.echo(f"PASS  {label}: {result['summary']}")
        elif result["status"] == "ignored":
            click.echo(f"SKIP  {label}: marked ignore")
        elif result["status"] == "error":
            click.echo(f"ERROR {label}: {result['error']}")
        else:
            click.echo(f"FAIL  {label}: {result['summary']}")
            for line in result["diff"].splitlines():
                click.echo(_style(line))
    for pipe_id in report["missing_tests"]:
        click.echo(f"FAIL  no test references pipe {pipe_id!r} (add expected/{pipe_id}.json)")
    for warning in report["warnings"]:
        click.echo(f"warning: {warning}")
    if report["ok"]:
        click.echo(f"All {report['passed']} tests passed.")
    else:
        missing = len(report["missing_tests"])
        extra = f", {missing} pipe(s) without a test" if missing else ""
        click.echo(f"Failed {report['failed']} of {report['specs']} tests{extra}.")


@cli.command("verify")
@click.argument("pipe_ids", nargs=-1)
@click.option("--profile", default=None, help="Read $ENV values from <PROFILE>-env.json.")
@click.option(
    "--secrets-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="JSON object of $SECRET values (default: the environment).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@pass_app
def verify_cmd(
    app: App,
    pipe_ids: tuple[str, ...],
    profile: str | None,
    secrets_file: Path | None,
    as_json: bool,
) -> None:
    """Compare the current datasets with expected/ (sesam-py's layout); exit 1 on a mismatch."""
    from engine.hub import DEFAULT_DB
    from engine.sesam.layout import load_node_project
    from engine.sesam.specs import load_specs
    from engine.sesam.verify import verify
    from engine.store import Store

    node = load_node_project(
        app.project,
        profile=profile,
        env=app.env,
        secrets=_secrets(app, secrets_file),
        profile_required=profile is not None,
    )
    db = app.db if app.db is not None else app.project / DEFAULT_DB
    if not db.is_file():
        raise ConfigError(
            f"no hub database at {str(db)!r}: run the pipes first (pipe run --all), "
            "or use 'pipe test' to run from empty datasets"
        )
    specs = load_specs(node.root)
    store = Store(db)
    try:
        report = verify(store, node.project, specs, pipes=list(pipe_ids) or None).to_dict()
    finally:
        store.close()
    if as_json:
        _emit_json(report)
    else:
        _print_report(report)
    if not report["ok"]:
        click.get_current_context().exit(1)


@cli.command("test")
@click.option("--profile", default="test", show_default=True, help="<PROFILE>-env.json to use.")
@click.option(
    "--secrets-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="JSON object of $SECRET values (default: the environment).",
)
@click.option("--max-passes", type=click.IntRange(1), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the run and results as JSON.")
@click.pass_context
def test_cmd(
    ctx: click.Context,
    profile: str,
    secrets_file: Path | None,
    max_passes: int,
    as_json: bool,
) -> None:
    """Run every pipe from empty datasets until nothing changes, then verify expected/."""
    from engine.sesam.testrun import run_test

    app = ctx.find_object(App)
    assert app is not None
    explicit = ctx.get_parameter_source("profile") != click.core.ParameterSource.DEFAULT
    report = run_test(
        app.project,
        profile=profile,
        env={},
        secrets=_secrets(app, secrets_file),
        profile_required=explicit,
        max_passes=max_passes,
    )
    data = report.to_dict()
    if as_json:
        _emit_json(data)
    else:
        run = data["run"]
        click.echo(
            f"Ran profile {profile!r} from empty datasets: {run['passes']} passes, "
            f"{run['changed']} changes, converged."
        )
        _print_report(data)
    if not report.ok:
        click.get_current_context().exit(1)
