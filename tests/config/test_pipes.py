"""Pipe config validation: every error names the file, the JSON path and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import load_project, parse_pipe
from engine.errors import ConfigError, JsonPath
from tests.helpers import write_project


def test_unknown_key_has_path_and_did_you_mean() -> None:
    raw = {"_id": "p", "source": {"type": "dataset", "datset": "x", "dataset": "y"}}
    with pytest.raises(ConfigError) as info:
        parse_pipe(raw, file="pipes/p.json")
    e = info.value
    assert e.file == "pipes/p.json" and str(e.path) == "$.source.datset"
    assert "did you mean 'dataset'" in str(e)
    assert e.path is not None and e.path.resolve(raw) == "x"


def test_unknown_source_type_lists_known_types() -> None:
    with pytest.raises(ConfigError, match=r"unknown source type 'datset' \(did you mean 'dataset'"):
        parse_pipe({"_id": "p", "source": {"type": "datset"}})


def test_wrong_value_type_says_expected_and_found() -> None:
    with pytest.raises(ConfigError, match="expected an integer for 'batch_size', found string"):
        parse_pipe({"_id": "p", "source": {"type": "embedded", "entities": []}, "batch_size": "10"})


def test_collect_mode_reports_every_error(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        [
            {"_id": "a", "source": {"type": "dataset"}, "sinc": 1},
            {"_id": "b", "source": {"type": "embedded", "entities": [{"id": 1}]}},
        ],
    )
    (tmp_path / "pipes" / "broken.json").write_text('{"_id": "c",')
    project = load_project(tmp_path, collect_errors=True)
    messages = [str(e) for e in project.errors]
    assert len(messages) == 4, messages
    assert any("pipes/a.json: $.sinc: unknown key 'sinc'" in m for m in messages)
    assert any("pipes/a.json: $.source.dataset" in m for m in messages)
    assert any("pipes/b.json: $.source.entities[0]" in m for m in messages)
    assert any("pipes/broken.json: invalid JSON at line 1" in m for m in messages)


def test_list_files_and_duplicate_ids(tmp_path: Path) -> None:
    (tmp_path / "pipes").mkdir()
    (tmp_path / "pipes" / "two.json").write_text(
        '[{"_id": "x", "source": {"type": "embedded", "entities": []}},'
        ' {"_id": "x", "source": {"type": "embedded", "entities": []}}]'
    )
    with pytest.raises(ConfigError, match=r"pipes/two.json: \$\[1\]._id: duplicate _id 'x'"):
        load_project(tmp_path)


def test_defaults_follow_sesam() -> None:
    pipe = parse_pipe({"_id": "p", "source": {"type": "dataset", "dataset": "d"}})
    assert pipe is not None
    assert pipe.sink.type == "dataset" and pipe.sink_dataset == "p"
    assert pipe.batch_size == 100 and pipe.transforms == ()
    assert pipe.source.path == JsonPath(("source",))
