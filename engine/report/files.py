"""Where ``--report FILE`` writes: ``FILE.json`` and ``FILE.html`` side by side.

``FILE`` names the pair, with or without a suffix: ``out/report``, ``out/report.json`` and
``out/report.html`` all mean ``out/report.json`` + ``out/report.html``; any other suffix is kept
(``nightly.2024`` → ``nightly.2024.json`` + ``nightly.2024.html``). Missing folders are made.
"""

from __future__ import annotations

import json
from pathlib import Path

from engine.report.html import render_html
from engine.report.model import Report

__all__ = ["report_paths", "write_report"]


def report_paths(path: str | Path) -> tuple[Path, Path]:
    """The JSON and HTML files that ``path`` names (see the module notes)."""
    target = Path(path)
    base = target.with_suffix("") if target.suffix.lower() in (".json", ".html") else target
    return base.with_name(base.name + ".json"), base.with_name(base.name + ".html")


def write_report(report: Report, path: str | Path) -> tuple[Path, Path]:
    """Write ``report`` as JSON and as a self-contained HTML page; return both paths."""
    json_path, html_path = report_paths(path)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(
        json.dumps(report.to_dict(), indent=2, ensure_ascii=False, default=str) + "\n",
        encoding="utf-8",
    )
    html_path.write_text(render_html(report), encoding="utf-8")
    return json_path, html_path
