"""The report's parts on small hand-made hubs: churn SQL, escaping, file names, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import cli
from engine.clock import FixedClock
from engine.config.project import load_project
from engine.entity import NI
from engine.report import ReportError, build_report, render_html, report_paths, write_report
from engine.report.identity import churn
from engine.report.model import Drift, Merge, Rekey, Report, Split, Window
from engine.report.scope import Scope
from engine.store import Store
from engine.store.reconciles import ReconcileLog
from tests.helpers import write_project

MERGE_PIPE = {
    "_id": "global-thing",
    "type": "pipe",
    "source": {
        "type": "merge",
        "version": 2,
        "identity": "first",
        "datasets": ["things t"],
        "equality": [],
    },
}


def golden(gid: str, *members: str, **extra: object) -> dict[str, object]:
    return {"_id": gid, "$ids": [NI("thing", m) for m in members], **extra}


def test_churn_finds_merges_splits_and_rekeys_in_the_window(tmp_path: Path) -> None:
    project = load_project(write_project(tmp_path, [MERGE_PIPE]))
    with Store(":memory:", clock=FixedClock()) as store:
        ds = store.dataset("global-thing")
        ds.append([golden("g1", "1", "2"), golden("g3", "3"), golden("g4", "4"), golden("g5", "5")])
        log = ReconcileLog(store)
        window = log.begin()
        ds.append(
            [
                golden("g1", "1"),
                golden("g2", "2"),  # g1 split into g1 and g2
                {"_id": "g4", "_deleted": True, "$replaced": True},
                golden("g3", "3", "4"),  # g3 and g4 merged; g4 retired
                golden("g5", "5", "6"),  # a new member joins: no churn
            ]
        )
        log.finish(window, "converged", None)
        recorded = log.last()
        assert recorded is not None and recorded.id == window
        merges, splits, rekeys = churn(Scope(store, project, recorded))
    assert merges == (Merge("global-thing", "g3", ("g3", "g4")),)
    assert splits == (Split("global-thing", "g1", ("g1", "g2")),)
    assert rekeys == (Rekey("global-thing", "g4", ("g3",)),)


def test_churn_outside_the_window_is_not_reported(tmp_path: Path) -> None:
    project = load_project(write_project(tmp_path, [MERGE_PIPE]))
    with Store(":memory:", clock=FixedClock()) as store:
        ds = store.dataset("global-thing")
        ds.append([golden("g1", "1"), golden("g2", "2")])
        log = ReconcileLog(store)
        log.finish(log.begin(), "converged", None)  # an idle reconcile
        ds.append([golden("g1", "1", "2"), {"_id": "g2", "_deleted": True, "$replaced": True}])
        window = log.last()
        assert window is not None and window.status == "converged"
        assert churn(Scope(store, project, window)) == ((), (), ())


def test_no_reconcile_yet_is_a_clear_error(tmp_path: Path) -> None:
    project = load_project(write_project(tmp_path, [MERGE_PIPE]))
    with Store(":memory:") as store, pytest.raises(ReportError, match="pipe reconcile"):
        build_report(store, project)
    result = CliRunner().invoke(cli, ["--project", str(tmp_path), "report", "--json"])
    assert result.exit_code == 1
    assert "no reconcile has been recorded" in result.output


def window() -> Window:
    return Window(1, "2024-01-01T00:00:00Z", None, "running", None, None, {}, {}, {})


def test_html_is_self_contained_and_escapes_values() -> None:
    hostile = '<script>alert("x")</script>'
    report = Report(
        window(),
        drift=(Drift("customcrm", "customer", "A&B", "customcrm-customer:A&B", "g", "g", hostile),),
    )
    page = render_html(report)
    assert "<script" not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "A&amp;B" in page
    for attribute in ("src=", "href=", "@import", "url("):
        assert attribute not in page  # nothing to fetch: one file tells everything
    for section in (
        "summary",
        "conflicts",
        "lock-skips",
        "dead-letters",
        "drift",
        "identity-churn",
    ):
        assert f'<section id="{section}">' in page


@pytest.mark.parametrize(
    ("given", "json_name", "html_name"),
    [
        ("out/report", "out/report.json", "out/report.html"),
        ("out/report.json", "out/report.json", "out/report.html"),
        ("out/report.HTML", "out/report.json", "out/report.html"),
        ("nightly.2024", "nightly.2024.json", "nightly.2024.html"),
    ],
)
def test_report_file_names(given: str, json_name: str, html_name: str) -> None:
    assert report_paths(given) == (Path(json_name), Path(html_name))


def test_write_report_writes_both_files(tmp_path: Path) -> None:
    json_path, html_path = write_report(Report(window()), tmp_path / "deep" / "r.json")
    assert json.loads(json_path.read_text())["reconcile"]["status"] == "running"
    assert html_path.read_text().startswith("<!DOCTYPE html>")
