"""Endpoint sinks run through the ordinary hub: captured in a dataset, namespaces removed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.errors import ConfigError
from engine.hub import Hub
from engine.sinks.endpoint import render_csv
from tests.helpers import embedded, from_dataset, write_project

PEOPLE: list[dict[str, Any]] = [
    {"_id": "1", "name": "Ann", "tags": ["a", "b"]},
    {"_id": "2", "name": "Bob"},
]


def _hub(tmp_path: Path, pipes: list[dict[str, Any]]) -> Hub:
    return Hub.open(write_project(tmp_path, pipes), db=tmp_path / "hub.duckdb")


@pytest.mark.parametrize("sink", ["http_endpoint", "csv_endpoint", "json", "sql"])
def test_endpoint_output_is_kept_in_a_dataset_named_after_the_pipe(
    tmp_path: Path, sink: str
) -> None:
    pipes = [
        embedded("people", PEOPLE, namespaced_identifiers=True, add_namespaces=True),
        from_dataset(
            "out", "people", [["copy", "*"]], sink={"type": sink}, namespaced_identifiers=True
        ),
    ]
    with _hub(tmp_path, pipes) as hub:
        hub.reconcile()
        out = hub.dataset("out").entities()
    assert [(e["_id"], e["name"]) for e in out] == [("1", "Ann"), ("2", "Bob")]


def test_remove_namespaces_false_keeps_them(tmp_path: Path) -> None:
    pipes = [
        embedded("people", PEOPLE, namespaced_identifiers=True, add_namespaces=True),
        from_dataset(
            "out",
            "people",
            [["copy", "*"]],
            sink={"type": "http_endpoint"},
            namespaced_identifiers=True,
            remove_namespaces=False,
        ),
    ]
    with _hub(tmp_path, pipes) as hub:
        hub.reconcile()
        ids = [e["_id"] for e in hub.dataset("out").entities()]
    assert ids == ["people:1", "people:2"]


def test_a_full_run_deletes_what_the_source_no_longer_has(tmp_path: Path) -> None:
    pipes = [embedded("out", PEOPLE, sink={"type": "http_endpoint"})]
    with _hub(tmp_path, pipes) as hub:
        hub.run("out")
    pipes = [embedded("out", PEOPLE[:1], sink={"type": "http_endpoint"})]
    with _hub(tmp_path, pipes) as hub:
        hub.run("out")
        latest = hub.dataset("out").entities(include_deleted=True)
    assert [(e["_id"], e["_deleted"]) for e in latest] == [("1", False), ("2", True)]


def test_csv_rendering_follows_the_sink_settings() -> None:
    entities: list[dict[str, Any]] = [
        {"_id": "2", "name": "Bob", "n": 1.5, "ok": True, "_updated": 1},
        {"_id": "1", "name": 'A "q"', "tags": ["a"], "ok": None, "_updated": 0},
        {"_id": "3", "name": "gone", "_deleted": True, "_updated": 2},
    ]
    assert render_csv(entities, {"columns": ["_id", "name", "tags", "ok"]}) == (
        b'_id,name,tags,ok\n1,"A ""q""","[""a""]",\n2,Bob,,true\n'
    )
    semicolons = {
        "delimiter": ";",
        "quoting": "all",
        "include_header": False,
        "lineterminator": "\r\n",
        "columns": ["_id", "n"],
    }
    assert render_csv(entities, semicolons) == b'"1";""\r\n"2";"1.5"\r\n'
    assert render_csv(entities[:1], {}) == b"n,name,ok\n1.5,Bob,true\n"


def test_csv_settings_are_validated(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        render_csv([], {"quoting": "sometimes"}, file="pipes/out.json")
    assert str(info.value.path) == "$.quoting" and "minimal" in str(info.value)


def test_http_endpoint_source_is_empty_but_populated(tmp_path: Path) -> None:
    pipes = [
        {"_id": "inbox", "type": "pipe", "source": {"type": "http_endpoint"}},
        from_dataset("copy", "inbox", [["copy", "*"]]),
    ]
    with _hub(tmp_path, pipes) as hub:
        report = hub.run("inbox")
        hub.reconcile()
        infos = {d.name: d for d in hub.datasets()}
    assert report.read == 0
    assert infos["inbox"].populated and infos["copy"].populated
