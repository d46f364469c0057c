"""The ``pipe`` command: the only package that prints or exits.

Exit codes: 0 ok, 1 an error in the data or config (any :class:`HubError`), 2 a usage error
(click's default). Every listing takes ``--json``; tables are drawn with rich on a terminal and
as plain text when piped; progress bars appear only on a terminal. One module per command
group; importing them registers their commands on :data:`cli`.
"""

from __future__ import annotations

import engine.cli.explain
import engine.cli.verify  # noqa: F401  (registers pipe verify, pipe test)
from engine.cli import (  # noqa: F401  (register commands)
    datasets,
    demo,
    docs,
    dtl,
    graph,
    pipes,
    plan,
    report,
    runs,
    sandbox,
    why,
)
from engine.cli.base import App, cli

__all__ = ["App", "cli", "main"]


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="pipe")


if __name__ == "__main__":
    main()
