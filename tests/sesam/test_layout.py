"""Loading node configurations: metadata defaults, profiles, secrets, conditionals, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engine.cli import cli
from engine.errors import ConfigError
from engine.sesam.conditional import resolve_conditional_transforms
from engine.sesam.layout import load_node_project
from engine.sesam.metadata import NodeMetadata, apply_node_defaults, parse_node_metadata
from tests.sesam.nodes import EMBEDDED, write_node


def test_metadata_defaults_apply_unless_the_pipe_sets_them() -> None:
    meta = parse_node_metadata({"_id": "node", "type": "metadata", "namespaced_identifiers": True})
    out = apply_node_defaults({"_id": "p", "source": EMBEDDED, "sink": {"type": "sql"}}, meta)
    assert out["namespaced_identifiers"] and out["add_namespaces"] and out["remove_namespaces"]
    explicit = {"_id": "p", "source": EMBEDDED, "namespaced_identifiers": False}
    assert apply_node_defaults(explicit, meta)["namespaced_identifiers"] is False
    dataset = {"_id": "p", "source": {"type": "dataset", "dataset": "x"}}
    assert "add_namespaces" not in apply_node_defaults(dataset, meta)


def test_global_max_merged_becomes_the_merge_default() -> None:
    meta = NodeMetadata(max_merged=7)
    pipe = {"_id": "g", "source": {"type": "merge", "datasets": ["a"]}}
    assert apply_node_defaults(pipe, meta)["source"]["max_merged"] == 7


@pytest.mark.parametrize(
    ("raw", "path", "words"),
    [
        ({"_id": "nodes", "type": "metadata"}, "$._id", "service metadata"),
        ({"_id": "node", "colour": 1}, "$.colour", "unknown key"),
        (
            {"_id": "node", "global_defaults": {"max_mergd": 1}},
            "$.global_defaults.max_mergd",
            "max_merged",
        ),
        (
            {"_id": "node", "namespaced_identifiers": "yes"},
            "$.namespaced_identifiers",
            "true or false",
        ),
    ],
)
def test_bad_metadata_names_file_and_path(raw: dict[str, Any], path: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_node_metadata(raw)
    assert info.value.file == "node-metadata.conf.json"
    assert str(info.value.path) == path and words in str(info.value)


def test_conditional_transform_splices_the_chosen_alternative() -> None:
    dtl = {"type": "dtl", "rules": {"default": [["copy", "*"]]}}
    pipe = {
        "_id": "p",
        "transform": [
            dtl,
            {"type": "conditional", "condition": "b", "alternatives": {"a": dtl, "b": [dtl, dtl]}},
        ],
    }
    assert resolve_conditional_transforms(pipe)["transform"] == [dtl, dtl, dtl]
    single = {
        "_id": "p",
        "transform": {"type": "conditional", "condition": "a", "alternatives": {"a": dtl}},
    }
    assert resolve_conditional_transforms(single)["transform"] == [dtl]


def test_conditional_transform_without_the_alternative_is_an_error() -> None:
    pipe = {
        "_id": "p",
        "transform": [{"type": "conditional", "condition": "c", "alternatives": {"a": []}}],
    }
    with pytest.raises(ConfigError) as info:
        resolve_conditional_transforms(pipe, file="pipes/p.conf.json")
    assert str(info.value.path) == "$.transform[0].condition"
    assert "no such key (known: a)" in str(info.value)


def test_typed_env_values_keep_their_json_type(tmp_path: Path) -> None:
    pipe = {
        "_id": "p",
        "source": EMBEDDED,
        "batch_size": "$ENV(size)",
        "transform": {
            "type": "dtl",
            "rules": {"default": [["add", "n", "$ENV(size)"], ["add", "s", "x$ENV(size)"]]},
        },
    }
    root = write_node(tmp_path, [pipe], **{"test-env.json": {"size": 5}})
    node = load_node_project(root)
    loaded = node.project.pipe("p")
    assert loaded.batch_size == 5
    assert loaded.transforms[0].raw["rules"]["default"] == [["add", "n", 5], ["add", "s", "x5"]]


def test_unsupported_source_is_an_error_naming_file_and_path(tmp_path: Path) -> None:
    pipe = {"_id": "p", "source": {"type": "ldap", "system": "dir"}}
    root = write_node(tmp_path, [pipe])
    result = CliRunner().invoke(cli, ["--project", str(root), "test"])
    assert result.exit_code == 1
    assert "pipes/p.conf.json" in result.output and "$.source.type" in result.output


def test_unsupported_chosen_alternative_fails_when_the_pipe_runs(tmp_path: Path) -> None:
    pipe = {
        "_id": "p",
        "source": {
            "type": "conditional",
            "condition": "prod",
            "alternatives": {"prod": {"type": "sql", "table": "t"}, "test": EMBEDDED},
        },
    }
    root = write_node(tmp_path, [pipe])
    result = CliRunner().invoke(cli, ["--project", str(root), "test"])
    assert result.exit_code == 1
    assert "pipes/p.conf.json" in result.output and "alternatives.prod" in result.output


def test_secrets_come_from_a_file_and_are_never_printed(tmp_path: Path) -> None:
    pipe = {
        "_id": "p",
        "source": EMBEDDED,
        "sink": {"type": "json", "url": "http://x/", "headers": {"token": "$SECRET(tok)"}},
    }
    root = write_node(tmp_path, [pipe], **{"expected__p.json": [{"_id": "1", "name": "Ann"}]})
    secrets = tmp_path / "secrets.json"
    secrets.write_text(json.dumps({"tok": "s3cr3t-value"}))
    runner = CliRunner()
    ok = runner.invoke(
        cli, ["--project", str(root), "test", "--secrets-file", str(secrets), "--json"]
    )
    assert ok.exit_code == 0, ok.output
    assert "s3cr3t-value" not in ok.output
    missing = runner.invoke(cli, ["--project", str(root), "test"])
    assert missing.exit_code == 1 and "secret 'tok'" in missing.output


def test_systems_that_are_never_reached_are_ignored(tmp_path: Path) -> None:
    pipe = {"_id": "p", "source": EMBEDDED, "sink": {"type": "sql", "system": "db", "table": "t"}}
    system = {"_id": "db", "type": "system:postgresql", "password": "$SECRET(pw)"}
    root = write_node(tmp_path, [pipe], **{"systems__db.conf.json": system})
    node = load_node_project(root)
    assert set(node.unreached_systems) == {"db"}


def test_declared_namespaces_are_never_silently_ignored(tmp_path: Path) -> None:
    rules = {"default": [["copy", "*"], ["add", "x", ["ni-collapse", "_S.url"]]]}
    pipe = {"_id": "p", "source": EMBEDDED, "transform": {"type": "dtl", "rules": rules}}
    meta = {"_id": "node", "type": "metadata", "namespaces": {"default": {"s": "http://s/"}}}
    root = write_node(tmp_path, [pipe], **{"node-metadata.conf.json": meta})
    with pytest.raises(ConfigError) as info:
        load_node_project(root)
    assert info.value.file == "pipes/p.conf.json"
    assert str(info.value.path) == "$.transform.rules.default[1][2]"
