"""Rich reprs for Jupyter: datasets, the dataset list, runs, the hub and reconcile reports."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from engine import html
from engine.clock import FixedClock
from engine.hub import Hub
from tests.helpers import embedded, from_dataset, write_project

EVIL = '<script>alert("x")</script> & co'


def evil_project(root: Path) -> Path:
    people = [{"_id": f"{i}", "name": EVIL if i == 0 else f"p{i}"} for i in range(13)]
    people.append({"_id": "gone", "name": "x"})
    return write_project(
        root, [embedded("people", people), from_dataset("copy<b>", "people", [["copy", "*"]])]
    )


def test_dataset_shows_name_counts_and_first_rows_escaped(tmp_path: Path) -> None:
    with Hub.open(evil_project(tmp_path), clock=FixedClock()) as hub:
        hub.run_all()
        out = hub.dataset("people")._repr_html_()
        assert "<b>dataset people</b> 14 live, 0 deleted, 14 versions" in out
        assert "first 10 of 14 entities" in out
        assert out.count("<tr>") == 11  # header + 10 rows
        assert "<script>" not in out
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in out
        assert "<th>_id</th><th>name</th>" in out
        listing = hub.datasets()._repr_html_()
        assert "<td>copy&lt;b&gt;</td>" in listing and "<td>people</td><td>14</td>" in listing
        assert "datasets (2)" in listing
        hub_html = hub._repr_html_()
        assert "last run 2" in hub_html and "<td>people</td>" in hub_html


def test_as_of_repr_says_which_run(tmp_path: Path) -> None:
    with Hub.open(evil_project(tmp_path), clock=FixedClock()) as hub:
        hub.run_all()
        view = hub.as_of(1)
        assert "as of run 1" in view.dataset("people")._repr_html_()
        assert repr(view.dataset("people")).startswith("<dataset 'people' as of run 1: 14 live")
        assert "datasets as of run 1 (1)" in view._repr_html_()
        runs = hub.runs()._repr_html_()
        assert "<td>copy&lt;b&gt;</td>" in runs and "runs (2)" in runs


def test_reconcile_report_shows_sends_and_runs(tmp_path: Path) -> None:
    with Hub.open(evil_project(tmp_path), clock=FixedClock()) as hub:
        report = hub.reconcile()
        out = report._repr_html_()
        assert "converged in 2 passes" in out
        assert f"runs {report.run_ids[0]} to {report.run_ids[1]}" in out  # type: ignore[index]
        assert "sent to each system" in out
        assert "<td>copy&lt;b&gt;</td><td>2</td><td>14</td><td>14</td>" in out


def test_sent_table_lists_non_zero_rows_first() -> None:
    out = html.sent_html(
        {"a": {"x": {"insert": 0, "update": 0, "delete": 0}}, "b": {"y": {"insert": 2}}},
        caption="sent",
    )
    assert out.index("<td>b</td>") < out.index("<td>a</td>")
    assert "<td>2</td><td>0</td><td>0</td>" in out


@given(st.text())
def test_cells_never_leak_markup(text: str) -> None:
    out = html.table([text], [[text, None]])
    stripped = (
        out.replace('<table class="hub-table">', "")
        .replace("<thead>", "")
        .replace("</thead>", "")
        .replace("<tbody>", "")
        .replace("</tbody>", "")
        .replace("</table>", "")
        .replace("<tr>", "")
        .replace("</tr>", "")
        .replace("<th>", "")
        .replace("</th>", "")
        .replace("<td>", "")
        .replace("</td>", "")
    )
    assert "<" not in stripped and ">" not in stripped
    assert len(html.cell(text)) <= 6 * html.MAX_CELL
