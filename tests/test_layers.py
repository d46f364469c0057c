"""The layers of DESIGN.md hold: imports only point downwards (checked with ``ast``)."""

from __future__ import annotations

import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parent.parent / "engine"

# Rank of each layer; a module may import only modules of the same or a lower rank.
LAYERS: dict[str, int] = {
    "engine.errors": 0,
    "engine.entity": 1,
    "engine.clock": 1,
    "engine.canonical": 1,
    "engine.deadletter": 3,
    "engine.dtl": 2,
    "engine.config": 2,
    "engine.graph": 2,
    "engine.cron": 2,
    "engine.store": 3,
    "engine.sources": 4,
    "engine.sinks": 4,
    "engine.connectors": 4,
    "engine.sandbox": 4,
    "engine.survivorship": 4,
    "engine.sqlc": 4,
    "engine.sesam": 6,
    "engine.sesam.receiver": 4,
    "engine.sesam.metadata": 2,
    "engine.sesam.conditional": 2,
    "engine.sinks.endpoint": 4,
    "engine.pipeline": 5,
    "engine.runner": 5,
    "engine.pump": 5,
    "engine.reconcile": 5,
    "engine.validate": 5,
    "engine.dataflow_docs": 2,
    "engine.tracking": 5,
    "engine.plan": 5,
    "engine.why": 5,
    "engine.html": 1,
    "engine.views": 5,
    "engine.report": 5,
    "engine.hub": 6,
    "engine.cli": 7,
}
PURE = (
    "engine.dtl",
    "engine.config",
    "engine.entity",
    "engine.errors",
    "engine.graph",
    "engine.cron",
    "engine.canonical",
    "engine.html",
)
IMPURE_LIBS = ("duckdb", "click", "rich", "requests")


def layer_of(module: str) -> tuple[str, int] | None:
    best = None
    for prefix, rank in LAYERS.items():
        if (module == prefix or module.startswith(prefix + ".")) and (
            best is None or len(prefix) > len(best[0])
        ):
            best = (prefix, rank)
    return best


def modules() -> list[tuple[str, Path]]:
    out = []
    for path in ENGINE.rglob("*.py"):
        rel = path.relative_to(ENGINE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out.append((".".join(parts), path))
    return out


def imports_of(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


def test_imports_point_down() -> None:
    problems = []
    for module, path in modules():
        mine = layer_of(module)
        if mine is None:
            continue
        for imported in imports_of(path):
            theirs = layer_of(imported)
            if theirs is not None and theirs[1] > mine[1]:
                problems.append(f"{module} (layer {mine[0]}) imports {imported} ({theirs[0]})")
    assert not problems, "\n".join(problems)


def test_pure_layers_do_no_io() -> None:
    problems = []
    for module, path in modules():
        if not module.startswith(PURE):
            continue
        for imported in imports_of(path):
            if imported.split(".")[0] in IMPURE_LIBS:
                problems.append(f"{module} imports {imported}")
    assert not problems, "\n".join(problems)


def test_only_cli_prints() -> None:
    offenders = []
    for module, path in modules():
        if module.startswith(("engine.cli", "engine.sandbox.__main__")):
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
                offenders.append(f"{module}:{node.lineno}")
    assert not offenders, offenders
