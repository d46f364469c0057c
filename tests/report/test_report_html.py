"""The HTML report as a browser shows it: rendered by headless Chromium, checked section by
section in the DOM Chromium produces (``--dump-dom``).

Needs Debian's ``chromium`` (``.ci/run`` installs it); without a Chromium binary this test
skips and says so, the rest of the report tests still run.
"""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from engine.hub import Hub
from engine.report import SECTIONS, write_report
from tests.report.world import DUPLICATE_NUMBER, QUIET_NAME, World

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def chromium() -> str:
    found = next((path for b in BROWSERS if (path := shutil.which(b))), None)
    if found is None:
        pytest.skip(
            "no Chromium binary (chromium, chromium-browser or google-chrome) on PATH: "
            "install Debian's `chromium` package (.ci/run does) to render the HTML report"
        )
    return found


class Sections(HTMLParser):
    """The text of each ``<section id=...>`` and its table rows, from the rendered DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.text: dict[str, str] = {}
        self.rows: dict[str, list[list[str]]] = {}
        self._section: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section":
            self._section = dict(attrs).get("id") or ""
            self.text[self._section] = ""
            self.rows[self._section] = []
        elif tag == "tr" and self._section is not None:
            self._row = []
        elif tag == "td" and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "tr" and self._section is not None and self._row:
            self.rows[self._section].append(self._row)
            self._row = None
        elif tag == "section":
            self._section = None

    def handle_data(self, data: str) -> None:
        if self._section is not None:
            self.text[self._section] += data
        if self._cell is not None:
            self._cell.append(data)


def render(html_path: Path, profile: Path) -> str:
    result = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--dump-dom",
            html_path.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_chromium_renders_every_section_with_its_rows(world: World, tmp_path: Path) -> None:
    with Hub.open(world.project, db=world.db, env=world.env, secrets=world.env) as hub:
        _, html_path = write_report(hub.report(), tmp_path / "report")
    dom = render(html_path, tmp_path / "profile")
    parsed = Sections()
    parsed.feed(dom)
    assert list(parsed.text) == [section for section, _ in SECTIONS]
    for section, title in SECTIONS:
        assert parsed.text[section].startswith(title), section

    conflict_values = [row[2] for row in parsed.rows["conflicts"]]
    assert conflict_values == ["Kaffe 500 g (ERP)", "Kaffe 500 g (Wave)"]
    assert [row[-1] for row in parsed.rows["conflicts"]] == ["lost", "won"]
    (skip,) = parsed.rows["lock-skips"]
    assert skip[:3] == ["customcrm-product-share", "customcrm", "product"]
    (letter,) = parsed.rows["dead-letters"]
    assert letter[:2] == ["invoiced-customer-share", "customerp-customer:2"]
    assert f"'{DUPLICATE_NUMBER}' has already been taken" in letter[2]
    (drift,) = parsed.rows["drift"]
    assert drift[:2] == ["customcrm", "customer"] and drift[3] == QUIET_NAME
    kinds = sorted(row[0] for row in parsed.rows["identity-churn"])
    assert kinds == ["merge", "re-key"]
