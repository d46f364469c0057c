"""``python -m engine.cli`` runs the ``pipe`` command."""

from __future__ import annotations

from engine.cli import main

main()
