"""System configs: schema validation with located errors, $ENV/$SECRET substitution, templates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config.systems import (
    GraphQLRequest,
    Secret,
    SystemConfig,
    load_system_config,
    load_systems,
    load_systems_dir,
    template_names,
)
from engine.errors import ConfigError, JsonPath

FILE = "systems/invoiced.json"
ENV = {"INVOICED_URL": "http://127.0.0.1:8001", "HOST": "127.0.0.1:8002"}
SECRETS = {"invoiced-api-key": "sk_TOPSECRET", "wave-token": "wv_TOPSECRET"}


def invoiced(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "_id": "invoiced",
        "type": "system:rest",
        "base_url": "$ENV(INVOICED_URL)",
        "authentication": "basic",
        "username": "$SECRET(invoiced-api-key)",
        "password": "",
        "headers": {"Accept": "application/json"},
        "timeout": 30,
        "retries": {"max_attempts": 3, "backoff": 1},
        "operations": {
            "customer-list": {
                "url": "customers",
                "params": {"sort": "id ASC"},
                "since_param": "updated_after",
                "id_expression": "id",
                "updated_expression": "updated_at",
                "pagination": {
                    "type": "page",
                    "page_param": "page",
                    "size_param": "per_page",
                    "page_size": 100,
                    "total_header": "X-Total-Count",
                },
            },
            "customer-insert": {"method": "POST", "url": "customers"},
            "contact-list": {"url": "customers/{parent_id}/contacts"},
        },
    }
    raw.update(changes)
    return raw


def load(raw: dict[str, Any], env: dict[str, str] | None = None) -> SystemConfig:
    return load_system_config(
        raw, file=FILE, path=JsonPath(), env=ENV if env is None else env, secrets=SECRETS
    )


def error_of(raw: dict[str, Any], env: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(raw, env)
    assert caught.value.file == FILE
    return caught.value


def test_a_full_system_parses_into_typed_config() -> None:
    system = load(invoiced())
    assert system.id == "invoiced" and system.url_pattern == "http://127.0.0.1:8001/%s"
    assert system.authentication == "basic" and isinstance(system.username, Secret)
    assert system.username.reveal() == "sk_TOPSECRET" and system.password == ""
    assert system.retries.max_attempts == 3 and system.retries.backoff == 1
    assert system.retries.max_backoff == 30.0
    op = system.operations["customer-list"]
    assert (op.method, op.url, op.since_param, op.idempotent) == (
        "GET",
        "customers",
        "updated_after",
        True,
    )
    assert op.pagination.type == "page" and op.pagination.page_size == 100
    assert system.operations["customer-insert"].idempotent is False
    assert system.secret_values() == ("sk_TOPSECRET",)


def test_url_pattern_is_sesams_spelling() -> None:
    raw = invoiced(url_pattern="http://$ENV(HOST)/graphql/public%s")
    del raw["base_url"]
    assert load(raw).url_pattern == "http://127.0.0.1:8002/graphql/public%s"
    both = invoiced(url_pattern="http://x/%s")
    assert "exactly one of 'base_url' or 'url_pattern'" in str(error_of(both))
    raw["url_pattern"] = "http://x/"
    assert error_of(raw).path == JsonPath(("url_pattern",))


def test_no_secret_in_reprs() -> None:
    system = load(invoiced(headers={"Authorization": "Token $SECRET(wave-token)"}))
    text = repr(system) + str(system.headers) + f"{system.username}"
    assert "TOPSECRET" not in text and "***" in text
    assert system.headers["Authorization"] == Secret("Token wv_TOPSECRET")
    assert set(system.secret_values()) == {"sk_TOPSECRET", "Token wv_TOPSECRET"}


def test_env_is_concatenated_and_missing_env_names_the_variable() -> None:
    raw = invoiced(base_url="http://$ENV(HOST)/api/$ENV(HOST)")
    assert load(raw).url_pattern == "http://127.0.0.1:8002/api/127.0.0.1:8002/%s"
    error = error_of(invoiced(base_url="http://$ENV(HOTS)/api"))
    assert "environment variable 'HOTS'" in error.message
    assert "did you mean 'HOST'" in error.message
    assert error.path == JsonPath(("base_url",))


def test_missing_secret_names_it_without_leaking_values() -> None:
    error = error_of(invoiced(username="$SECRET(invoiced-api-kye)"))
    assert "secret 'invoiced-api-kye'" in str(error) and "did you mean 'invoiced-api-key'" in str(
        error
    )
    assert "TOPSECRET" not in str(error)
    assert error.path == JsonPath(("username",))


def test_secret_outside_credentials_is_refused() -> None:
    raw = invoiced()
    raw["operations"]["customer-list"]["url"] = "customers/$SECRET(invoiced-api-key)"
    error = error_of(raw)
    assert error.path == JsonPath(("operations", "customer-list", "url"))
    assert "not allowed" in error.message and "TOPSECRET" not in str(error)
    raw = invoiced()
    raw["operations"]["gql"] = {
        "payload": {"query": "query { a }", "variables": {"k": "$SECRET(wave-token)"}}
    }
    assert error_of(raw).path == JsonPath(("operations", "gql", "payload", "variables", "k"))


def test_secret_query_params_are_allowed() -> None:
    raw = invoiced()
    raw["operations"]["customer-list"]["params"] = {"api_key": "$SECRET(invoiced-api-key)"}
    op = load(raw).operations["customer-list"]
    assert isinstance(op.params["api_key"], Secret)


@pytest.mark.parametrize(
    ("change", "path", "expected"),
    [
        (lambda r: r.update(timout=3), ("timout",), "did you mean 'timeout'"),
        (lambda r: r.update(timeout="30"), ("timeout",), "to be a number >= 0.001, got a string"),
        (lambda r: r.update(type="system:rset"), ("type",), "did you mean 'system:rest'"),
        (lambda r: r.update(authentication="basci"), ("authentication",), "one of none, basic"),
        (
            lambda r: r["operations"]["customer-list"].update(payload_propety="x"),
            ("operations", "customer-list", "payload_propety"),
            "did you mean 'payload_property'",
        ),
        (
            lambda r: r["operations"]["customer-list"].update(method="FETCH"),
            ("operations", "customer-list", "method"),
            "one of GET, POST",
        ),
        (
            lambda r: r["operations"]["customer-list"]["pagination"].update(type="pages"),
            ("operations", "customer-list", "pagination", "type"),
            "did you mean 'page'",
        ),
        (
            lambda r: r["operations"]["customer-list"].update(id_expression="a[?"),
            ("operations", "customer-list", "id_expression"),
            "not a valid JMESPath",
        ),
        (
            lambda r: r["operations"]["customer-list"].update(url="customers/{idd}"),
            ("operations", "customer-list", "url"),
            "unknown placeholder {idd} (did you mean 'id'?)",
        ),
        (
            lambda r: r["operations"]["customer-list"].update(params={"n": [1]}),
            ("operations", "customer-list", "params", "n"),
            "to be a string, got a list",
        ),
        (
            lambda r: r["retries"].update(max_attempts=0),
            ("retries", "max_attempts"),
            "an integer >= 1",
        ),
        (
            lambda r: r["operations"]["customer-list"].update(idempotent="yes"),
            ("operations", "customer-list", "idempotent"),
            "true or false",
        ),
        (lambda r: r.update(operations=[]), ("operations",), "an object of named operations"),
    ],
)
def test_validation_errors_point_at_the_json_path(
    change: Any, path: tuple[Any, ...], expected: str
) -> None:
    raw = invoiced()
    change(raw)
    error = error_of(raw)
    assert error.path == JsonPath(path), str(error)
    assert expected in str(error)
    assert str(error).startswith(f"{FILE}: {JsonPath(path)}: ")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (invoiced(_id="a/b"), "non-empty string without '/'"),
        (invoiced(authentication="bearer"), "authentication 'bearer' needs 'token'"),
        (invoiced(base_url="ftp://x"), "expected an http(s) URL"),
        (
            {**invoiced(), "operations": {"c": {"pagination": {"type": "cursor"}}}},
            "needs 'cursor_expression'",
        ),
        (
            {**invoiced(), "operations": {"c": {"pagination": {"type": "page", "page_size": 5}}}},
            "'size_param' and 'page_size' go together",
        ),
        ({**invoiced(), "operations": {"g": {"payload": {"query": ""}}}}, "non-empty 'query'"),
    ],
)
def test_semantic_errors(raw: dict[str, Any], expected: str) -> None:
    assert expected in str(error_of(raw))


def test_graphql_operations_default_to_post_and_mutations_are_not_idempotent() -> None:
    raw = invoiced(
        operations={
            "list": {"payload": {"query": " query { a }", "variables": {"p": "{page}"}}},
            "create": {
                "payload": {
                    "query": "mutation ($i: I!) { c(input: $i) { didSucceed } }",
                    "variables": {"i": "{payload}"},
                },
                "mutation_result": "data.c",
            },
        }
    )
    system = load(raw)
    listing, create = system.operations["list"], system.operations["create"]
    assert listing.method == "POST" and listing.idempotent
    assert listing.graphql == GraphQLRequest(" query { a }", {"p": "{page}"})
    assert create.method == "POST" and not create.idempotent
    assert create.mutation_result == "data.c"


def test_template_names_are_collected_from_nested_templates() -> None:
    template = {"input": "{payload}", "static": ["{not a placeholder}", 1, "{id}/{page}"]}
    assert template_names(template) == {"payload", "id", "page"}


def test_a_file_holds_one_system_or_a_list() -> None:
    two = [invoiced(), invoiced(_id="other")]
    systems = load_systems(two, file=FILE, env=ENV, secrets=SECRETS)
    assert [s.id for s in systems] == ["invoiced", "other"]
    with pytest.raises(ConfigError) as caught:
        load_systems([invoiced(), invoiced(timeout=-1)], file=FILE, env=ENV, secrets=SECRETS)
    assert caught.value.path == JsonPath((1, "timeout"))
    with pytest.raises(ConfigError, match="expected a system object or a list"):
        load_systems("nope", file=FILE, env=ENV, secrets=SECRETS)


def test_load_a_systems_directory(tmp_path: Path) -> None:
    directory = tmp_path / "systems"
    directory.mkdir()
    (directory / "invoiced.json").write_text(json.dumps(invoiced()))
    (directory / "more.json").write_text(json.dumps([invoiced(_id="wave")]))
    (directory / "notes.txt").write_text("ignored")
    systems = load_systems_dir(directory, env=ENV, secrets=SECRETS)
    assert sorted(systems) == ["invoiced", "wave"]
    assert systems["wave"].file == "systems/more.json"
    (directory / "zdup.json").write_text(json.dumps(invoiced()))
    with pytest.raises(
        ConfigError,
        match=r"duplicate system _id 'invoiced', first defined in "
        r"systems/invoiced\.json",
    ) as caught:
        load_systems_dir(directory, env=ENV, secrets=SECRETS)
    assert caught.value.file == "systems/zdup.json"
    (directory / "zdup.json").write_text('{"_id": "x",\n  oops}')
    with pytest.raises(ConfigError, match="invalid JSON at line 2"):
        load_systems_dir(directory, env=ENV, secrets=SECRETS)


_plain_text = st.text(st.characters(blacklist_characters="$", codec="utf-8"), max_size=12)


@settings(max_examples=100, deadline=None)
@given(prefix=_plain_text, value=_plain_text, suffix=_plain_text, secret=st.booleans())
def test_substitution_concatenates_exactly(
    prefix: str, value: str, suffix: str, secret: bool
) -> None:
    marker = "$SECRET(s)" if secret else "$ENV(v)"
    raw = invoiced(headers={"X-Test": f"{prefix}{marker}{suffix}"})
    system = load_system_config(
        raw, file=FILE, path=JsonPath(), env={**ENV, "v": value}, secrets={**SECRETS, "s": value}
    )
    header = system.headers["X-Test"]
    if secret:
        assert isinstance(header, Secret) and header.reveal() == prefix + value + suffix
        assert repr(header) == "***"
    else:
        assert header == prefix + value + suffix


def test_a_wave_style_graphql_system_parses() -> None:
    wave = {
        "_id": "wave",
        "type": "system:rest",
        "url_pattern": "http://$ENV(HOST)/graphql/public%s",
        "authentication": "bearer",
        "token": "$SECRET(wave-token)",
        "operations": {
            "customer-list": {
                "payload": {
                    "query": "query($b: ID!, $page: Int!, $pageSize: Int!) { business(id: "
                    "$b) { customers(page: $page, pageSize: $pageSize) { "
                    "pageInfo { totalPages } edges { node { id } } } } }",
                    "variables": {"b": "QnVzaW5lc3M6MQ=="},
                },
                "payload_property": "data.business.customers.edges[].node",
                "updated_expression": "modifiedAt",
                "pagination": {
                    "type": "page",
                    "size_param": "pageSize",
                    "page_size": 50,
                    "total_pages_expression": "data.business.customers.pageInfo.totalPages",
                },
            },
            "customer-delete": {
                "payload": {
                    "query": "mutation ($input: CustomerDeleteInput!) { customerDelete("
                    "input: $input) { didSucceed inputErrors { message } } }",
                    "variables": {"input": {"id": "{id}"}},
                },
                "mutation_result": "data.customerDelete",
            },
        },
    }
    system = load(wave)
    assert system.url_pattern == "http://127.0.0.1:8002/graphql/public%s"
    assert system.secret_values() == ("wv_TOPSECRET",)
    listing = system.operations["customer-list"]
    assert listing.graphql is not None and listing.idempotent and listing.method == "POST"
    assert listing.pagination.total_pages_expression is not None
    assert not system.operations["customer-delete"].idempotent
