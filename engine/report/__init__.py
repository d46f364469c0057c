"""The conflict and drift report of the last reconcile (``pipe report``).

``build_report(store, project)`` gathers it from the store (:mod:`engine.report.collect`);
:func:`render_html` turns it into one self-contained HTML page (:mod:`engine.report.html`) and
:func:`write_report` writes both forms for ``--report FILE`` (:mod:`engine.report.files`).
"""

from __future__ import annotations

from engine.report.collect import ReportError, build_report
from engine.report.files import report_paths, write_report
from engine.report.html import render_html
from engine.report.model import SECTIONS, Report

__all__ = [
    "SECTIONS",
    "Report",
    "ReportError",
    "build_report",
    "render_html",
    "report_paths",
    "write_report",
]
