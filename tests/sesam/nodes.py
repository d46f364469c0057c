"""Helpers that write small node configurations (sesam-py's layout) for the tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EMBEDDED: dict[str, Any] = {"type": "embedded", "entities": [{"_id": "1", "name": "Ann"}]}


def write_node(root: Path, pipes: list[dict[str, Any]], **files: Any) -> Path:
    """``pipes/<id>.conf.json`` per pipe, plus ``files`` (``__`` in a name is a ``/``)."""
    (root / "pipes").mkdir(parents=True)
    for pipe in pipes:
        (root / "pipes" / f"{pipe['_id']}.conf.json").write_text(json.dumps(pipe))
    for name, content in files.items():
        path = root / name.replace("__", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content))
    return root
